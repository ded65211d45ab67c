package ai.atelier.fal;

import java.util.List;

/** fal's answer to a status poll: IN_QUEUE (with position), IN_PROGRESS (with logs) or COMPLETED. */
public record FalStatus(String status, Integer queuePosition, List<String> logs, String error) {

    public boolean completed() {
        return "COMPLETED".equals(status);
    }

    public boolean queued() {
        return "IN_QUEUE".equals(status);
    }
}
