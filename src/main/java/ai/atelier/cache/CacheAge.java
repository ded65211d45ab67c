package ai.atelier.cache;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import ai.atelier.problem.Problem;

/** A cache max age as clients write it: ISO-8601 ({@code P7D}, {@code PT12H}) or the short forms {@code 7d}, {@code 12h}, {@code 30m}, {@code 45s}. */
public final class CacheAge {

    private static final Pattern SHORT = Pattern.compile("(\\d{1,9})([dhms])");
    /** Ten years: longer is a typo, and would overflow nothing but mislead. */
    private static final Duration LONGEST = Duration.ofDays(3650);

    private CacheAge() {
    }

    /** The age, or a 422 naming {@code field} when it is not one of the two forms, not positive, or longer than ten years. */
    public static Duration parse(Object value, String field) {
        Duration d = null;
        if (value instanceof String s) {
            String t = s.strip();
            Matcher m = SHORT.matcher(t.toLowerCase(java.util.Locale.ROOT));
            if (m.matches()) {
                long n = Long.parseLong(m.group(1));
                d = switch (m.group(2)) {
                    case "d" -> Duration.ofDays(n);
                    case "h" -> Duration.ofHours(n);
                    case "m" -> Duration.ofMinutes(n);
                    default -> Duration.ofSeconds(n);
                };
            } else {
                try {
                    d = Duration.parse(t.toUpperCase(java.util.Locale.ROOT));
                } catch (DateTimeParseException e) {
                    d = null;
                }
            }
        }
        if (d == null || d.isNegative() || d.isZero() || d.compareTo(LONGEST) > 0) {
            throw Problem.invalid("invalid-cache", "Invalid cache setting", field + " must be a duration from 1s to 3650d, as 7d, 12h, 30m, 45s "
                    + "or ISO-8601 (P7D, PT12H), not " + (value instanceof String s ? "'" + s + "'" : String.valueOf(value))).with("field", field);
        }
        return d;
    }

    /** Seconds in the largest short unit that divides them: 604800 → 7d. */
    public static String format(long seconds) {
        if (seconds % 86400 == 0) {
            return seconds / 86400 + "d";
        }
        if (seconds % 3600 == 0) {
            return seconds / 3600 + "h";
        }
        if (seconds % 60 == 0) {
            return seconds / 60 + "m";
        }
        return seconds + "s";
    }
}
