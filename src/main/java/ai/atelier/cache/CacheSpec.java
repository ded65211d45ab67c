package ai.atelier.cache;

import java.time.Duration;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import ai.atelier.problem.Problem;

/** A request's {@code cache} object: how it uses the result cache, and how old a result it accepts. */
@Schema(name = "CacheControl", description = "How this request uses the result cache (only a request with an explicit seed is cached)")
public record CacheSpec(
        @Schema(description = "use (default): answer from a stored result when there is one; bypass: neither read nor write; "
                + "refresh: call fal and replace the stored result", enumeration = { "use", "bypass", "refresh" }) String mode,
        @Schema(description = "The oldest stored result to accept: 7d, 12h, 30m, 45s or ISO-8601 (P7D); default: the tenant's cache_max_age",
                examples = "7d") String maxAge) {

    public static final String USE = "use";
    public static final String BYPASS = "bypass";
    public static final String REFRESH = "refresh";

    /** What a request asked, checked: its mode and its max age (null: the tenant's). */
    public record Asked(String mode, Duration maxAge) {
        public static final Asked DEFAULT = new Asked(USE, null);
    }

    /**
     * A multipart form's {@code cache} field: the same JSON object as a JSON request's ({@code {"mode": "refresh", "max_age": "7d"}}),
     * or just a mode ({@code bypass}); null when absent. Not one of them: a 422.
     */
    public static CacheSpec fromForm(String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        String t = text.strip();
        if (!t.startsWith("{")) {
            return new CacheSpec(t, null);
        }
        try {
            io.vertx.core.json.JsonObject o = new io.vertx.core.json.JsonObject(t);
            for (String name : o.fieldNames()) {
                if (!"mode".equals(name) && !"max_age".equals(name)) {
                    throw Problem.invalid("invalid-cache", "Invalid cache setting", "cache takes mode and max_age, not '" + name + "'")
                            .with("field", "cache");
                }
            }
            return new CacheSpec(o.getValue("mode") instanceof String m ? m : o.getValue("mode") == null ? null : String.valueOf(o.getValue("mode")),
                    o.getValue("max_age") == null ? null : String.valueOf(o.getValue("max_age")));
        } catch (io.vertx.core.json.DecodeException e) {
            throw Problem.invalid("invalid-cache", "Invalid cache setting", "The cache field must be a JSON object {\"mode\", \"max_age\"} or a mode")
                    .with("field", "cache");
        }
    }

    /** The request's cache settings, or a 422 naming the bad field. */
    public static Asked check(CacheSpec spec) {
        if (spec == null) {
            return Asked.DEFAULT;
        }
        String mode = spec.mode() == null ? USE : spec.mode().strip().toLowerCase(java.util.Locale.ROOT);
        if (!USE.equals(mode) && !BYPASS.equals(mode) && !REFRESH.equals(mode)) {
            throw Problem.invalid("invalid-cache", "Invalid cache setting", "cache.mode must be use, bypass or refresh, not '" + spec.mode() + "'")
                    .with("field", "cache.mode");
        }
        return new Asked(mode, spec.maxAge() == null ? null : CacheAge.parse(spec.maxAge(), "cache.max_age"));
    }
}
