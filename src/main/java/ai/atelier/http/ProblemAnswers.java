package ai.atelier.http;

import java.util.Map;

import ai.atelier.problem.ProblemBody;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.Json;
import io.vertx.ext.web.RoutingContext;

/**
 * Problem answers from Vert.x handlers (filters that run before Quarkus REST and its exception mappers).
 * One sent before the request's body has arrived closes the connection after it ({@link ConnectionGuard}).
 */
public final class ProblemAnswers {

    private ProblemAnswers() {
    }

    public static void send(RoutingContext rc, int status, String slug, String title, String detail, Map<String, Object> extensions,
            Map<String, String> headers) {
        HttpServerResponse response = rc.response();
        if (response.ended() || response.headWritten()) {
            LingeringClose.close(rc.request().connection()); // an answer was already under way: nothing else can be said
            return;
        }
        String body = Json.encode(ProblemBody.of(status, slug, title, detail, rc.normalizedPath(), extensions == null ? Map.of() : extensions));
        response.setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, ProblemBody.MEDIA_TYPE);
        if (headers != null) {
            headers.forEach(response::putHeader);
        }
        // sent before the body was read: ConnectionGuard adds Connection: close and closes after it
        response.end(body);
    }
}
