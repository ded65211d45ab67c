package ai.atelier.batches;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;

/** A batch as its row and its items' grouped counts say; never leaves the service layer (resources see {@link BatchView}). */
public record Batch(UUID id, String tenantId, String status, int total, BigDecimal expectedCostUsd, Map<String, Object> metadata,
        String webhookUrl, Instant createdAt, Instant expiresAt, Instant cancelledAt, Instant endedAt, Counts counts, BigDecimal costUsd) {

    /** How many of its items are where. */
    public record Counts(long queued, long running, long succeeded, long failed, long cancelled) {
    }
}
