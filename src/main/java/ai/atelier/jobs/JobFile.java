package ai.atelier.jobs;

import io.quarkus.runtime.annotations.RegisterForReflection;

/**
 * A file of a job in S3: an input the client gave, or an output fal made. Stored as JSON on the job row. A video adds
 * what its boxes say: its length in seconds and whether it has a sound track (null for pictures, and in rows written
 * before videos existed). An input carries the sha256 of its stored bytes (the result cache names inputs by it; null in rows
 * written before, which are then never served from the cache).
 */
// Jackson reads and writes it for the row's JSON columns (Columns), where Quarkus sees no REST signature to register it from
@RegisterForReflection
@com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
public record JobFile(String key, String contentType, Integer width, Integer height, long bytes, String role, Double durationSeconds,
        Boolean hasAudio, String sha256) {

    public JobFile(String key, String contentType, Integer width, Integer height, long bytes, String role, Double durationSeconds,
            Boolean hasAudio) {
        this(key, contentType, width, height, bytes, role, durationSeconds, hasAudio, null);
    }

    /** The same file under another key and role (a cached output copied to a job). */
    public JobFile at(String newKey, String newRole) {
        return new JobFile(newKey, contentType, width, height, bytes, newRole, durationSeconds, hasAudio, sha256);
    }

    /** A picture. */
    public JobFile(String key, String contentType, Integer width, Integer height, long bytes, String role) {
        this(key, contentType, width, height, bytes, role, null, null);
    }
}
