package ai.atelier.progress;

import java.time.Instant;
import java.util.List;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

/**
 * A job's live progress as kept in Redis: cheap to write on every poll, gone after its TTL. Also each event of a job's
 * event stream, as the API document shows it (Jackson writes every field, null ones too).
 */
@Schema(name = "ProgressEvent", description = "One event of a job's stream: where the job is now")
public record Progress(
        @Schema(required = true, enumeration = { "queued", "running", "succeeded", "failed", "cancelled" }) String status,
        @Schema(required = true, nullable = true, description = "ingest, categorise, prompt, infer, shoot, store or finish") String stage,
        @Schema(required = true, minimum = "0", maximum = "100") int percent,
        @Schema(required = true, nullable = true) String message,
        @Schema(required = true, nullable = true, description = "The job's place in fal's queue, while it waits there") Integer queuePosition,
        @Schema(required = true, description = "fal's log lines since the previous event") List<String> logs,
        @Schema(required = true) Instant updatedAt) {
}
