package ai.atelier.jobs.rest;

import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;

import ai.atelier.auth.Caller;
import ai.atelier.auth.Scopes;
import ai.atelier.jobs.JobViewFormat;
import ai.atelier.progress.ProgressStore;
import ai.atelier.telemetry.JobMetrics;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.impl.HttpServerRequestInternal;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * The status read of a running job, the call clients repeat every few hundred milliseconds for each job, answered by
 * the router itself: the caller's tenant and scope (set by the authenticator's filter, which runs before any route),
 * one {@code HMGET} of the live view, and its stored bytes written as they are. Quarkus REST's dispatch (resource
 * matching, request scope, filters, the response pipeline) cost about a third of such a read's CPU for nothing it
 * needs. Everything else goes on to the REST resources unchanged ({@code rc.next()}): a read with no live view (a job
 * finished long ago: its row is read and rendered there), an id that is not one, a caller without the scope or without
 * a tenant (the resources' own 401, 403 and 404 answers), so the answers and the API document stay the resources'.
 */
@ApplicationScoped
public class LiveStatusRoutes {

    /** After the filters (authentication first), before Quarkus REST's route ({@code RouteConstants.ROUTE_ORDER_DEFAULT}). */
    private static final int ORDER = 1000;
    /** Where the metrics read the route's template (see {@code HttpServerRequests}): the same label as the resource's. */
    private static final String TEMPLATE = "UrlPathTemplate";
    private static final String JSON = "application/json;charset=UTF-8";
    private static final Pattern PARAMETER = Pattern.compile("\\{([a-z_]+)}");

    private final ProgressStore store;
    private final JobMetrics metrics;

    LiveStatusRoutes(ProgressStore store, JobMetrics metrics) {
        this.store = store;
        this.metrics = metrics;
    }

    void routes(@Observes Router router, Instance<JobViewFormat> formats) {
        route(router, "/v1/jobs/{id}", JobViewFormat.V1);
        // the prototypes' status routes, each in its own format (ai.atelier.compat)
        formats.forEach(f -> route(router, f.statusRoute(), f.name()));
    }

    /** The route of {@code template} (Quarkus REST's form, {@code /v1/jobs/{id}}), in Vert.x's form ({@code /v1/jobs/:id}). */
    private void route(Router router, String template, String format) {
        Matcher m = PARAMETER.matcher(template);
        if (!m.find()) {
            throw new IllegalArgumentException("a status route names the job's id: " + template);
        }
        String param = m.group(1);
        router.get(m.replaceFirst(":" + param)).order(ORDER).handler(rc -> read(rc, rc.pathParam(param), template, format));
    }

    private void read(RoutingContext rc, String idParam, String template, String format) {
        Caller caller = Caller.of(rc);
        UUID id = uuid(idParam);
        if (caller == null || caller.tenantId() == null || !caller.may(Scopes.JOBS_READ) || id == null) {
            rc.next();
            return;
        }
        store.storedView(id, caller.tenantId(), format).onComplete(stored -> {
            if (stored.failed()) {
                rc.next(); // Redis did not answer: the resource reads the row
                return;
            }
            Buffer json = stored.result();
            if (json == null) {
                metrics.statusRead(false);
                rc.next();
                return;
            }
            metrics.statusRead(true);
            ((HttpServerRequestInternal) rc.request()).context().putLocal(TEMPLATE, template);
            rc.response().putHeader(HttpHeaders.CONTENT_TYPE, JSON).end(json);
        });
    }

    /** The id, or null when it is not a UUID (the resource answers that one with its 404). */
    private static UUID uuid(String s) {
        if (s == null || s.length() != 36) {
            return null;
        }
        try {
            return UUID.fromString(s);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
