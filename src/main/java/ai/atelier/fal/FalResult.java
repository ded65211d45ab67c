package ai.atelier.fal;

import io.vertx.core.json.JsonObject;

/**
 * A finished fal request's output, and what fal bills for it: {@code x-fal-billable-units} (fal-api.md
 * §12), null when fal sent none (a failed request is never billed that way).
 */
public record FalResult(String requestId, JsonObject body, Double billableUnits) {
}
