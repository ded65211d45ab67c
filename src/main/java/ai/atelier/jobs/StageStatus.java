package ai.atelier.jobs;

import java.util.Locale;

/**
 * Where one stage of a job stands, as its record in the row's {@code stages} says; the only place that says
 * which way it may go:
 *
 * <pre>
 * (none) ──▶ running ──▶ succeeded
 *   │          │  ▲ ───▶ failed ──▶ retrying ──▶ running (the retry's run)
 *   │          │  └ (a resumed run)      └─────▶ cancelled
 *   │          └───────▶ cancelled (the job was)
 *   └──▶ skipped (nothing to do for this job)
 * </pre>
 *
 * A run skips every stage an earlier run {@link #finished() finished}.
 */
public enum StageStatus {
    RUNNING,
    SUCCEEDED,
    SKIPPED,
    FAILED,
    RETRYING,
    CANCELLED;

    private final String wire = name().toLowerCase(Locale.ROOT);

    /** Whether a stage with this record (null: none yet) may be moved to {@code to}. */
    public static boolean canMove(StageStatus from, StageStatus to) {
        if (from == null) {
            return to == RUNNING || to == SKIPPED || to == SUCCEEDED || to == FAILED;
        }
        return switch (from) {
            // running → running: a run resumed after a crash begins the stage again; succeeded without running: a stage
            // whose work was a pure step (a template prompt) records only its end
            case RUNNING -> to == RUNNING || to == SUCCEEDED || to == FAILED || to == CANCELLED;
            case FAILED -> to == RETRYING;
            // a retried stage runs again, or fails before it got going (its run failed earlier), or the job is cancelled meanwhile
            case RETRYING -> to == RUNNING || to == FAILED || to == CANCELLED || to == SUCCEEDED;
            case SUCCEEDED, SKIPPED, CANCELLED -> false;
        };
    }

    /** Whether a later run leaves the stage alone: the one rule for resuming. */
    public boolean finished() {
        return this == SUCCEEDED || this == SKIPPED;
    }

    /** The word this status is written as (in rows, views and events). */
    public String wire() {
        return wire;
    }

    /** The status a stage record carries, or null when there is none (or an unknown word: a newer version's, read as none). */
    public static StageStatus of(Object word) {
        if (!(word instanceof String s)) {
            return null;
        }
        for (StageStatus v : values()) {
            if (v.wire().equals(s)) {
                return v;
            }
        }
        return null;
    }

    /** Moves a stage record's status, or fails loudly: a move the table does not allow is a bug, never data to store. */
    public static StageStatus move(Object current, StageStatus to, String stage) {
        StageStatus from = of(current);
        if (!canMove(from, to)) {
            throw new IllegalStateException("stage " + stage + " cannot go from " + (from == null ? "none" : from.wire()) + " to " + to.wire());
        }
        return to;
    }
}
