package ai.atelier.http;

import java.util.Map;

import jakarta.inject.Singleton;
import jakarta.enterprise.event.Observes;

import io.quarkus.vertx.http.runtime.filters.Filters;
import io.vertx.ext.web.RoutingContext;

/**
 * Checks every request gets, whatever route it is for: its query parameters pass {@link TextRules} (a NUL
 * in {@code ?status=} would reach PostgreSQL), and every answer says {@code X-Content-Type-Options:
 * nosniff}, so a browser never second-guesses the type Atelier declares (images, the playground's
 * files, JSON that quotes a client's text).
 */
@Singleton
public class RequestChecks {

    private final long maxBody;

    RequestChecks(@org.eclipse.microprofile.config.inject.ConfigProperty(name = "quarkus.http.limits.max-body-size")
            io.quarkus.runtime.configuration.MemorySize maxBody) {
        this.maxBody = maxBody.asLongValue();
    }

    /** First of all, so even the answers of the filters after it carry the header. */
    void register(@Observes Filters filters) {
        filters.register(this::check, 2000);
    }

    private void check(RoutingContext rc) {
        rc.response().headers().set("X-Content-Type-Options", "nosniff");
        String length = rc.request().getHeader(io.vertx.core.http.HttpHeaders.CONTENT_LENGTH);
        String declared = length == null ? null : length.strip();
        if (declared != null && digits(declared) && (declared.length() > 18 || Long.parseLong(declared) > maxBody)) {
            ProblemAnswers.send(rc, 413, "body-too-large", "Request too large", "The request has " + declared + " bytes; the limit is "
                    + maxBody, Map.of("limit_bytes", maxBody), null);
            return;
        }
        // most requests have no query: no parameters to parse out of it
        for (Map.Entry<String, String> p : rc.request().query() == null ? java.util.List.<Map.Entry<String, String>>of() : rc.queryParams()) {
            String refusal = TextRules.refusal(p.getValue());
            if (refusal == null) {
                refusal = TextRules.refusal(p.getKey());
            }
            if (refusal != null) {
                ProblemAnswers.send(rc, 400, "invalid-characters", "Invalid characters", "The query parameter '" + TextRules.printable(p.getKey())
                        + "' " + refusal, Map.of("parameter", TextRules.printable(p.getKey())), null);
                return;
            }
        }
        rc.next();
    }

    /** Whether {@code s} is all ASCII digits (String.matches compiled a pattern per request). */
    private static boolean digits(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return false;
            }
        }
        return true;
    }
}
