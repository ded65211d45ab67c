package ai.atelier.jobs;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * A job's life, and the only place that says which way it may go (JobRunr keeps the same table in
 * {@code AllowedJobStateStateChanges}):
 *
 * <pre>
 * queued ──▶ running ──▶ succeeded
 *   │           ├──────▶ failed ──▶ queued (a client's retry)
 *   └───────────┴──────▶ cancelled (a client, or the job's deadline)
 * </pre>
 *
 * {@link JobTransitions} writes each move as one guarded statement whose {@code WHERE status = any(...)}
 * is {@link #sources(JobStatus)}, so a move that lost a race (a cancel, another instance) is a value.
 */
public enum JobStatus {
    QUEUED,
    RUNNING,
    SUCCEEDED,
    FAILED,
    CANCELLED;

    private final String wire = name().toLowerCase(Locale.ROOT);

    /** Jobs an instance may claim and run. */
    public static final Set<JobStatus> UNFINISHED = EnumSet.of(QUEUED, RUNNING);

    public boolean canMoveTo(JobStatus to) {
        return switch (this) {
            case QUEUED -> to == RUNNING || to == FAILED || to == CANCELLED;
            // running → running: a resumed job records its next fal request
            case RUNNING -> to == RUNNING || to == SUCCEEDED || to == FAILED || to == CANCELLED;
            case FAILED -> to == QUEUED;
            case SUCCEEDED, CANCELLED -> false;
        };
    }

    /** The statuses from which a job may move to {@code to}: the WHERE of the statement that moves it. */
    public static Set<JobStatus> sources(JobStatus to) {
        Set<JobStatus> from = EnumSet.noneOf(JobStatus.class);
        for (JobStatus s : values()) {
            if (s.canMoveTo(to)) {
                from.add(s);
            }
        }
        return from;
    }

    /** As a text[] parameter: {@code status = any($n)}. */
    static String[] words(Set<JobStatus> statuses) {
        return statuses.stream().map(JobStatus::wire).toArray(String[]::new);
    }

    /** The word this status is written as (in rows, views and events). */
    public String wire() {
        return wire;
    }

    public boolean terminal() {
        return this == SUCCEEDED || this == FAILED || this == CANCELLED;
    }

    public static JobStatus parse(String s) {
        return valueOf(s.toUpperCase(Locale.ROOT));
    }
}
