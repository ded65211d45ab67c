package ai.atelier.webhooks;

import java.util.UUID;

/** A webhook delivery to queue: with the job transition that causes it (same statement), or on its own. */
public record WebhookEvent(UUID deliveryId, String type, String payload) {
}
