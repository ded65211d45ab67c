package ai.atelier.telemetry;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.quarkus.vertx.http.runtime.filters.Filters;
import io.vertx.core.http.impl.HttpServerRequestInternal;
import io.vertx.ext.web.RoutingContext;

/**
 * Keeps the {@code uri} label of {@code http_server_requests} to route templates, whoever sends what.
 * Quarkus's Micrometer binding labels a request with the template of the JAX-RS route that matched it
 * ({@code /v1/jobs/{id}}); a request no route matched kept its raw path: one the authenticator refused
 * before routing, a 405, a client that hung up before its answer. Anyone could then mint a series per
 * path (job ids, junk) until Micrometer's cap of 100 URIs stopped recording real routes.
 *
 * <p>So every request starts out labelled {@link #UNMATCHED}, and a JAX-RS match replaces that with its
 * own template (Quarkus REST writes the same request-context entry, {@code UrlPathTemplate}, which the
 * metrics and the traces read). Quarkus's own {@code suppress4xx-errors} setting does less: it relabels
 * only answers of 400 and up, so a client that disconnects first (status {@code RESET}) still brings its
 * path in, and it also turns a plain route's own 4xx ({@code POST /v1/jobs} answering 400) into
 * {@code UNKNOWN}. Paths under {@code /q/} are left alone: the binding does not count them at all
 * ({@code suppress-non-application-uris}), which it decides from the raw path.
 */
@ApplicationScoped
public class RouteLabels {

    /** The {@code uri} label of every request that no API route matched: static files, refusals before routing, 404s. */
    public static final String UNMATCHED = "/{unmatched}";

    /** Where Quarkus REST records the matched route's template on the request's context. */
    private static final String TEMPLATE = "UrlPathTemplate";

    /** Before every other filter: a request answered by one of them already carries the label. */
    void register(@Observes Filters filters) {
        filters.register(RouteLabels::label, 4000);
    }

    private static void label(RoutingContext rc) {
        String path = rc.request().path();
        if (path == null || !path.startsWith("/q/")) {
            ((HttpServerRequestInternal) rc.request()).context().putLocal(TEMPLATE, UNMATCHED);
        }
        rc.next();
    }
}
