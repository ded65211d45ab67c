package ai.atelier.jobs;

import java.util.Locale;

import ai.atelier.problem.Problem;

/** Claim order as clients name it (high, normal, low) and as the row keeps it (0, 1, 2; 3 below them all: batch items). */
public final class Priority {

    private Priority() {
    }

    public static short of(String word) {
        if (word == null || word.isBlank()) {
            return 1;
        }
        return switch (word.toLowerCase(Locale.ROOT)) {
            case "high" -> 0;
            case "normal" -> 1;
            case "low" -> 2;
            default -> throw Problem.invalid("invalid-priority", "Invalid priority", "priority must be high, normal or low");
        };
    }

    /** A batch item's: claimed after every interactive job, sent to fal's queue as low. */
    public static final short BATCH = 3;

    /** The word a job view shows: a batch item's is {@code batch}, which no client can ask for (it is the batch's to set). */
    public static String word(short p) {
        return switch (p) {
            case 0 -> "high";
            case 2 -> "low";
            case BATCH -> "batch";
            default -> "normal";
        };
    }
}
