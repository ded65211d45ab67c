package ai.atelier.compat;

import com.fasterxml.jackson.annotation.JsonInclude;

import ai.atelier.jobs.JobView;

/** The prototypes' status words: pending, processing, completed, failed. */
final class LegacyStatus {

    private LegacyStatus() {
    }

    static String word(String status) {
        return switch (status) {
            case "queued" -> "pending";
            case "running" -> "processing";
            case "succeeded" -> "completed";
            default -> "failed";
        };
    }

    static String resultUrl(JobView job) {
        return job.outputs() == null || job.outputs().isEmpty() ? null : job.outputs().get(0).url();
    }

    static String error(JobView job) {
        return job.error() == null ? ("cancelled".equals(job.status()) ? "Cancelled" : null) : job.error().message();
    }

    /** Seed 001's answer to a submit. */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    record Submitted(String sessionId, String status, String message) {
    }
}
