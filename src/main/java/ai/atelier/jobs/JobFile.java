package ai.atelier.jobs;

import io.quarkus.runtime.annotations.RegisterForReflection;

/** A file of a job in S3: an input the client gave, or an output fal made. Stored as JSON on the job row. */
// Jackson reads and writes it for the row's JSON columns (Columns), where Quarkus sees no REST signature to register it from
@RegisterForReflection
public record JobFile(String key, String contentType, Integer width, Integer height, long bytes, String role) {
}
