package ai.atelier.jobs.rest;

import java.util.UUID;

import jakarta.inject.Singleton;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;

import ai.atelier.auth.Caller;
import ai.atelier.auth.Scopes;
import ai.atelier.jobs.JobViewFormat;
import ai.atelier.progress.ProgressStore;
import ai.atelier.telemetry.HttpServerRequests;
import ai.atelier.telemetry.JobMetrics;
import io.vertx.core.buffer.Buffer;
import io.quarkus.vertx.http.runtime.filters.Filters;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;

/**
 * The status read of a running job, the call clients repeat every few hundred milliseconds for each job, answered by
 * a filter right after the authenticator's: the caller's tenant and scope (set by that filter), one {@code HMGET} of
 * the live view, and its stored bytes written as they are. Quarkus REST's dispatch (resource matching, request scope,
 * filters, the response pipeline) cost about a third of such a read's CPU for nothing it needs, and walking the
 * router's remaining routes to a route of its own another twentieth. Everything else goes on unchanged
 * ({@code rc.next()}): a read with no live view (a job finished long ago: its row is read and rendered there), an id
 * that is not one, a caller without the scope or without a tenant (the resources' own 401, 403 and 404 answers), so
 * the answers and the API document stay the resources'. The filters before this one (request checks and their
 * headers, metrics, the connection's guard, authentication) have run for every read.
 */
@Singleton
public class LiveStatusRoutes {

    /** Right after the authenticator's filter (1000) and the body readers' (900, which let a GET through at once). */
    private static final int PRIORITY = 800;
    private static final String JSON = "application/json;charset=UTF-8";
    private static final int UUID_LENGTH = 36;

    /** A status route: the path before and after the job's id, its template (the metrics' label) and its view's format. */
    private record Route(String prefix, String suffix, String template, String format) {
        /** The job's id when {@code path} is this route's (the id one segment, a UUID), else null (the resource answers it). */
        UUID id(String path) {
            if (path.length() != prefix.length() + UUID_LENGTH + suffix.length() || !path.startsWith(prefix) || !path.endsWith(suffix)) {
                return null;
            }
            try {
                return UUID.fromString(path.substring(prefix.length(), prefix.length() + UUID_LENGTH));
            } catch (IllegalArgumentException notAUuid) {
                return null;
            }
        }
    }

    private final ProgressStore store;
    private final JobMetrics metrics;
    private final Route[] routes;

    LiveStatusRoutes(ProgressStore store, JobMetrics metrics, Instance<JobViewFormat> formats) {
        this.store = store;
        this.metrics = metrics;
        java.util.List<Route> all = new java.util.ArrayList<>();
        all.add(route("/v1/jobs/{id}", JobViewFormat.V1));
        // the prototypes' status routes, each in its own format (ai.atelier.compat)
        formats.forEach(f -> all.add(route(f.statusRoute(), f.name())));
        this.routes = all.toArray(Route[]::new);
    }

    void register(@Observes Filters filters) {
        filters.register(this::read, PRIORITY);
    }

    /** {@code template} (Quarkus REST's form, {@code /v1/jobs/{id}}) as the path around its one parameter. */
    private static Route route(String template, String format) {
        int open = template.indexOf('{');
        int close = template.indexOf('}', open);
        if (open < 0 || close < 0 || template.indexOf('{', close) >= 0) {
            throw new IllegalArgumentException("a status route names the job's id, and only that: " + template);
        }
        return new Route(template.substring(0, open), template.substring(close + 1), template, format);
    }

    private void read(RoutingContext rc) {
        String path = rc.request().path();
        if (rc.request().method() == HttpMethod.GET && path != null) {
            for (Route route : routes) {
                UUID id = route.id(path);
                if (id != null) {
                    read(rc, id, route.template(), route.format());
                    return;
                }
            }
        }
        rc.next();
    }

    private void read(RoutingContext rc, UUID id, String template, String format) {
        Caller caller = Caller.of(rc);
        if (caller == null || caller.tenantId() == null || !caller.may(Scopes.JOBS_READ)) {
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
            HttpServerRequests.answeredBy(rc, template);
            rc.response().putHeader(HttpHeaders.CONTENT_TYPE, JSON).end(json);
        });
    }
}
