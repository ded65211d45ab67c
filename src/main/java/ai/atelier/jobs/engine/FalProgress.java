package ai.atelier.jobs.engine;

import java.util.List;

import ai.atelier.fal.FalStatus;

/**
 * Live progress of one fal request of a job, step {@code index} of {@code steps}: turns each status
 * (a stream event or a poll) into what the client sees, only when something changed (state, queue
 * position, new log lines).
 */
final class FalProgress {

    private final RunContext ctx;
    private final String stage;
    private final int from;
    private final int to;
    private final int index;
    private final int steps;
    private int logsSeen;
    private String lastSignature = "";

    /** Step {@code index} of {@code steps} of a stage whose progress runs from {@code from} to {@code to} percent. */
    FalProgress(RunContext ctx, String stage, int from, int to, int index, int steps) {
        this.ctx = ctx;
        this.stage = stage;
        this.from = from;
        this.to = to;
        this.index = index;
        this.steps = steps;
    }

    /** Reports this status when it says something new. Called from the wait's thread: brought onto the run's context. */
    void accept(FalStatus s) {
        ctx.onContext(() -> report(s));
    }

    private void report(FalStatus s) {
        // the status holds the lines from number earlierLogs on (a stream's event leaves out what its stream delivered)
        int count = s.logCount();
        List<String> fresh = count > logsSeen ? s.logs().subList(Math.max(0, logsSeen - s.earlierLogs()), s.logs().size()) : List.of();
        logsSeen = Math.max(logsSeen, count);
        String signature = s.status() + "/" + s.queuePosition();
        if (fresh.isEmpty() && signature.equals(lastSignature)) {
            return;
        }
        lastSignature = signature;
        ctx.report(stage, percent(s), describe(s), s.queuePosition(), List.copyOf(fresh));
    }

    private int percent(FalStatus s) {
        int within = s.queued() ? 0 : s.completed() ? 100 : Math.min(90, 20 + 15 * s.logCount());
        int span = to - from;
        return from + (span * index + span * within / 100) / steps;
    }

    private static String describe(FalStatus s) {
        if (s.queued()) {
            return "Waiting in fal's queue" + (s.queuePosition() == null ? "" : " (position " + s.queuePosition() + ")");
        }
        return s.completed() ? "Generated" : "Generating";
    }
}
