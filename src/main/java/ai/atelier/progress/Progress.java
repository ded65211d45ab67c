package ai.atelier.progress;

import java.time.Instant;
import java.util.List;

/** A job's live progress as kept in Redis: cheap to write on every poll, gone after its TTL. */
public record Progress(String status, String stage, int percent, String message, Integer queuePosition, List<String> logs,
        Instant updatedAt) {
}
