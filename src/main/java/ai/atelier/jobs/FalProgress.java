package ai.atelier.jobs;

import java.time.Instant;
import java.util.List;

import ai.atelier.fal.FalStatus;
import ai.atelier.progress.Progress;

/**
 * Live progress of one fal request of a job, step {@code index} of {@code steps}: turns each status
 * poll into what the client should see, and only when something changed (state, queue position, new
 * log lines). Kept by the pipeline while it polls and handed to {@link FalWaits} when the job parks.
 */
final class FalProgress {

    private final int index;
    private final int steps;
    private int logsSeen;
    private String lastSignature = "";

    FalProgress(int index, int steps) {
        this.index = index;
        this.steps = steps;
    }

    int index() {
        return index;
    }

    int steps() {
        return steps;
    }

    /** The progress to report for this status, or null when nothing changed since the last one. */
    Progress next(FalStatus s) {
        List<String> fresh = s.logs().size() > logsSeen ? s.logs().subList(logsSeen, s.logs().size()) : List.of();
        logsSeen = Math.max(logsSeen, s.logs().size());
        String signature = s.status() + "/" + s.queuePosition();
        if (fresh.isEmpty() && signature.equals(lastSignature)) {
            return null;
        }
        lastSignature = signature;
        return new Progress(JobStatus.RUNNING.wire(), "infer", percent(s), describe(s), s.queuePosition(), List.copyOf(fresh), Instant.now());
    }

    private int percent(FalStatus s) {
        int within = s.queued() ? 0 : s.completed() ? 100 : Math.min(90, 20 + 15 * s.logs().size());
        return 25 + (55 * index + 55 * within / 100) / steps;
    }

    private static String describe(FalStatus s) {
        if (s.queued()) {
            return "Waiting in fal's queue" + (s.queuePosition() == null ? "" : " (position " + s.queuePosition() + ")");
        }
        return s.completed() ? "Generated" : "Generating";
    }
}
