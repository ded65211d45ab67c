package ai.atelier.jobs;

import java.util.Locale;

/**
 * Where one style of a product shoot stands ({@code shoot.styles[i].status}); the only place that says
 * which way it may go:
 *
 * <pre>
 * pending ──▶ prompting ──▶ generating ──▶ succeeded
 *    │   ╲        │              │
 *    │    ╲───────┼──────────────┼──▶ failed ──▶ pending (a retry)
 *    └──▶ generating (a template prompt)
 * </pre>
 *
 * A resumed shoot takes a style up where it was: prompting or generating again, with its recorded fal request.
 */
public enum StyleStatus {
    PENDING,
    PROMPTING,
    GENERATING,
    SUCCEEDED,
    FAILED;

    private final String wire = name().toLowerCase(Locale.ROOT);

    public boolean canMoveTo(StyleStatus to) {
        return switch (this) {
            case PENDING -> to == PROMPTING || to == GENERATING || to == FAILED;
            case PROMPTING -> to == PROMPTING || to == GENERATING || to == FAILED;
            case GENERATING -> to == GENERATING || to == SUCCEEDED || to == FAILED;
            case FAILED -> to == PENDING;
            case SUCCEEDED -> false;
        };
    }

    /** Whether a resumed shoot leaves the style alone. */
    public boolean finished() {
        return this == SUCCEEDED;
    }

    /** Whether a cancel of the job may find the style's request still at fal. */
    public boolean mayBeAtFal() {
        return this == PROMPTING || this == GENERATING || this == PENDING;
    }

    /** The word this status is written as (in rows, views and events). */
    public String wire() {
        return wire;
    }

    /** A style's status as stored; a style without one is pending. */
    public static StyleStatus of(Object word) {
        if (word instanceof String s) {
            for (StyleStatus v : values()) {
                if (v.wire().equals(s)) {
                    return v;
                }
            }
        }
        return PENDING;
    }

    /** Moves a style's status, or fails loudly: a move the table does not allow is a bug, never data to store. */
    public static StyleStatus move(Object current, StyleStatus to) {
        StyleStatus from = of(current);
        if (!from.canMoveTo(to)) {
            throw new IllegalStateException("a style cannot go from " + from.wire() + " to " + to.wire());
        }
        return to;
    }
}
