package ai.atelier.progress;

import java.time.Instant;
import java.util.List;

import io.quarkus.runtime.annotations.RegisterForReflection;

/** A job's live progress as kept in Redis: cheap to write on every poll, gone after its TTL. */
// written to and read from Redis as JSON by ProgressStore, never through a REST signature Quarkus would register it from
@RegisterForReflection
public record Progress(String status, String stage, int percent, String message, Integer queuePosition, List<String> logs,
        Instant updatedAt) {
}
