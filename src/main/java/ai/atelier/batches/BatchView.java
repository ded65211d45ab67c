package ai.atelier.batches;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import com.fasterxml.jackson.annotation.JsonInclude;

import io.quarkus.runtime.annotations.RegisterForReflection;

/** What a client sees of a batch: its status, where its items are, what it cost so far. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@RegisterForReflection(ignoreNested = false)
@Schema(name = "Batch")
public record BatchView(@Schema(required = true) UUID id,
        @Schema(required = true, enumeration = { "in_progress", "completed", "cancelling", "cancelled", "expired" }) String status,
        @Schema(required = true) RequestCounts requestCounts,
        @Schema(required = true, description = "What its items cost so far (fal's figures)") double costUsd,
        @Schema(required = true, description = "What its items were expected to cost at accept (reserved against the budgets)") double expectedCostUsd,
        @Schema(required = true) Map<String, Object> metadata, @Schema(required = true) Instant createdAt,
        @Schema(description = "When it expires: what has not ended by then is cancelled") Instant expiresAt,
        Instant completedAt, Instant cancelledAt,
        @Schema(description = "Where it is: GET it for its status") String url) {

    /** Its items by status; total is every item. */
    @Schema(name = "BatchRequestCounts")
    public record RequestCounts(@Schema(required = true) long total, @Schema(required = true) long queued, @Schema(required = true) long running,
            @Schema(required = true) long succeeded, @Schema(required = true) long failed, @Schema(required = true) long cancelled) {
    }

    /** A page of batches, newest first. */
    @Schema(name = "BatchPage")
    public record Page(@Schema(required = true) List<BatchView> items,
            @Schema(description = "The cursor of the next page; absent on the last") String nextCursor) {
    }

    static BatchView of(Batch b) {
        Batch.Counts c = b.counts();
        Instant completed = "completed".equals(b.status()) ? b.endedAt() : null;
        Instant ended = "cancelled".equals(b.status()) || "expired".equals(b.status()) ? b.endedAt() : null;
        return new BatchView(b.id(), b.status(), new RequestCounts(b.total(), c.queued(), c.running(), c.succeeded(), c.failed(), c.cancelled()),
                b.costUsd().doubleValue(), b.expectedCostUsd().doubleValue(), b.metadata(), b.createdAt(), b.expiresAt(), completed,
                b.cancelledAt() != null ? b.cancelledAt() : ended, "/v1/batches/" + b.id());
    }
}
