package ai.atelier.http;

import java.util.Map;

import ai.atelier.problem.ProblemBody;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.Json;
import io.vertx.ext.web.RoutingContext;

/**
 * Problem answers from Vert.x handlers (filters that run before Quarkus REST and its exception mappers).
 * When the request's body has not been read to its end, the answer says {@code Connection: close} and
 * the connection is closed after it: what is left of the body would otherwise be read as the next request
 * (behind a pooling proxy, another customer's).
 */
public final class ProblemAnswers {

    private ProblemAnswers() {
    }

    public static void send(RoutingContext rc, int status, String slug, String title, String detail, Map<String, Object> extensions,
            Map<String, String> headers) {
        HttpServerResponse response = rc.response();
        if (response.ended() || response.headWritten()) {
            if (!rc.request().isEnded()) {
                LingeringClose.close(rc.request().connection());
            }
            return;
        }
        String body = Json.encode(ProblemBody.of(status, slug, title, detail, rc.normalizedPath(), extensions == null ? Map.of() : extensions));
        response.setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, ProblemBody.MEDIA_TYPE);
        if (headers != null) {
            headers.forEach(response::putHeader);
        }
        boolean bodyPending = !rc.request().isEnded();
        if (bodyPending) {
            response.putHeader(HttpHeaders.CONNECTION, "close");
        }
        response.end(body).onComplete(v -> {
            if (bodyPending) {
                LingeringClose.close(rc.request().connection());
            }
        });
    }
}
