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

    public static String word(short p) {
        return p == 0 ? "high" : p >= 2 ? "low" : "normal";
    }
}
