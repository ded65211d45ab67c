package ai.atelier.problem;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A failure the client should hear about as an RFC 9457 problem: a stable {@code type} (slug), a
 * short title, and a detail that says what to change. Never carries a stack trace or a secret.
 */
public class Problem extends RuntimeException {

    private final int status;
    private final String slug;
    private final String title;
    private final Map<String, Object> extensions = new LinkedHashMap<>();
    private Long retryAfterSeconds;

    public Problem(int status, String slug, String title, String detail) {
        super(detail, null, false, false);
        this.status = status;
        this.slug = slug;
        this.title = title;
    }

    public static Problem invalid(String slug, String title, String detail) {
        return new Problem(422, slug, title, detail);
    }

    public static Problem badRequest(String slug, String title, String detail) {
        return new Problem(400, slug, title, detail);
    }

    public static Problem notFound(String detail) {
        return new Problem(404, "not-found", "Not found", detail);
    }

    public static Problem tooLarge(String slug, String detail) {
        return new Problem(413, slug, "Content too large", detail);
    }

    public Problem with(String key, Object value) {
        extensions.put(key, value);
        return this;
    }

    /** When to try again: the {@code Retry-After} header of the answer (RFC 9110), in seconds. */
    public Problem retryAfter(long seconds) {
        this.retryAfterSeconds = seconds;
        return this;
    }

    public Long retryAfterSeconds() {
        return retryAfterSeconds;
    }

    public int status() {
        return status;
    }

    public String slug() {
        return slug;
    }

    public String title() {
        return title;
    }

    public Map<String, Object> extensions() {
        return extensions;
    }
}
