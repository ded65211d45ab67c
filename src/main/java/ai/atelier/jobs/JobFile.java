package ai.atelier.jobs;

/** A file of a job in S3: an input the client gave, or an output fal made. Stored as JSON on the job row. */
public record JobFile(String key, String contentType, Integer width, Integer height, long bytes, String role) {
}
