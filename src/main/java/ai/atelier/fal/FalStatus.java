package ai.atelier.fal;

import java.util.List;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * fal's answer to a status poll or a status-stream event (fal-api.md §5.4): IN_QUEUE (with position),
 * IN_PROGRESS (with logs) or COMPLETED (with inference time, and an error when the request failed).
 * Any other status counts as still running.
 */
public record FalStatus(String status, Integer queuePosition, List<String> logs, String error, Double inferenceSeconds) {

    /** What a wait knows when a fal webhook said the request completed. */
    public static FalStatus completedByWebhook() {
        return new FalStatus("COMPLETED", null, List.of(), null, null);
    }

    public static FalStatus of(JsonObject s) {
        List<String> logs = new java.util.ArrayList<>();
        if (s.getValue("logs") instanceof JsonArray a) {
            a.forEach(l -> logs.add(l instanceof JsonObject o ? o.getString("message") : String.valueOf(l)));
        }
        Double inference = s.getValue("metrics") instanceof JsonObject m && m.getValue("inference_time") instanceof Number n ? n.doubleValue() : null;
        Object position = s.getValue("queue_position");
        return new FalStatus(s.getString("status"), position instanceof Number p ? p.intValue() : null, logs,
                s.getValue("error") instanceof String e ? e : null, inference);
    }

    public boolean completed() {
        return "COMPLETED".equals(status);
    }

    public boolean queued() {
        return "IN_QUEUE".equals(status);
    }
}
