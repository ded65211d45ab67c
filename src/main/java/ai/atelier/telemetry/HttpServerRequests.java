package ai.atelier.telemetry;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Singleton;
import jakarta.enterprise.event.Observes;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.http.Outcome;
import io.quarkus.vertx.http.runtime.filters.Filters;
import io.vertx.core.http.impl.HttpServerRequestInternal;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code http_server_requests_seconds}: every request of the API's port, timed from its first filter to its answer,
 * labelled {@code method}, {@code uri}, {@code status} and {@code outcome} as Quarkus's Micrometer binding labels them,
 * with two differences that matter here.
 *
 * <p><b>The {@code uri} is always a route template.</b> Every request counts as {@link #UNMATCHED} unless a route
 * that matched wrote its own template (Quarkus REST writes the request-context entry
 * {@code UrlPathTemplate}, which the traces read too; {@code LiveStatusRoutes} writes the same). Quarkus's binding kept
 * the raw path of any request no route matched (one the authenticator refused, a 405, a client that hung up), so anyone
 * could mint a series per path until Micrometer's cap of 100 URIs stopped recording real routes; its
 * {@code suppress4xx-errors} relabels only answers of 400 and up, and a hang-up ({@code RESET}) still brought its path.
 * Methods outside HTTP's own set are {@code OTHER}, for the same reason.
 *
 * <p><b>It is cheap.</b> Quarkus's binding came with Vert.x's whole metrics SPI: a timer looked up by tags for every
 * request, every Redis command, every SQL query and every pooled connection, about an eighth of the CPU of a status
 * read. Here one timer per label set is kept and found by one map lookup; the per-client series are off
 * ({@code quarkus.micrometer.binder.vertx.enabled=false}). Paths under {@code /q/} are not counted (on this port they
 * are 404s; the management port serves them).
 */
@Singleton
public class HttpServerRequests {

    /** The {@code uri} label of every request that no API route matched: static files, refusals before routing, 404s. */
    public static final String UNMATCHED = "/{unmatched}";

    /** Where Quarkus REST records the matched route's template on the request's context. */
    private static final String TEMPLATE = "UrlPathTemplate";
    private static final Set<String> METHODS = Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT");

    private final MeterRegistry registry;
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();

    HttpServerRequests(MeterRegistry registry) {
        this.registry = registry;
    }

    /** Before every other filter: a request answered by one of them is counted and labelled too. */
    void register(@Observes Filters filters) {
        filters.register(this::begin, 4000);
    }

    /** Labels the request with the route {@code template} that answered it, for a route Atelier answers itself (Quarkus REST labels its own). */
    public static void answeredBy(RoutingContext rc, String template) {
        ((HttpServerRequestInternal) rc.request()).context().putLocal(TEMPLATE, template);
    }

    private void begin(RoutingContext rc) {
        String path = rc.request().path();
        if (path != null && path.startsWith("/q/")) {
            rc.next();
            return;
        }
        long start = System.nanoTime();
        // nothing is put on the request's context here: each request has a context of its own (Vert.x duplicates it per
        // request), so no template is there until a route writes one; a request no route answered reads none, which is
        // UNMATCHED, and a status read (the hottest request) puts one local instead of two
        HttpServerRequestInternal request = (HttpServerRequestInternal) rc.request();
        // called once: when the answer is written, or with a failure when the connection closed before it was
        rc.addEndHandler(ended -> {
            Object template = request.context().getLocal(TEMPLATE);
            String method = request.method().name();
            String status = ended.succeeded() ? String.valueOf(rc.response().getStatusCode()) : "RESET";
            timer(METHODS.contains(method) ? method : "OTHER", template instanceof String t ? t : UNMATCHED, status)
                    .record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
        });
        rc.next();
    }

    private Timer timer(String method, String uri, String status) {
        return timers.computeIfAbsent(method + ' ' + uri + ' ' + status, k -> Timer.builder("http.server.requests")
                .description("HTTP server request processing time").tag("method", method).tag("uri", uri).tag("status", status)
                .tag("outcome", "RESET".equals(status) ? "UNKNOWN" : Outcome.forStatus(Integer.parseInt(status)).name())
                .register(registry));
    }
}
