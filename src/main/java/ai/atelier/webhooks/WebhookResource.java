package ai.atelier.webhooks;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

import ai.atelier.auth.Callers;
import ai.atelier.auth.Scopes;
import ai.atelier.jobs.JobReads;
import ai.atelier.problem.Problem;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;

/** A job's webhook deliveries with every attempt, and redelivery on request. */
@Path("/v1/jobs/{id}/webhooks")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Webhooks")
@Scopes.Requires(Scopes.JOBS_READ)
public class WebhookResource {

    /**
     * One event sent (or to be sent) to the job's webhook. {@code sequence} is the job's event number (also in the payload as
     * {@code data.sequence}); {@code next_attempt_at} is set only while the delivery is pending, {@code delivered_at} once it
     * was delivered.
     */
    public record Delivery(UUID id, String eventType, Integer sequence, String status, int attempts, OffsetDateTime nextAttemptAt,
            Integer lastStatus, String lastError, OffsetDateTime createdAt, OffsetDateTime deliveredAt, List<Attempt> attemptLog) {
    }

    /**
     * One try: when, the answer's status (none when no answer came), the error in neutral words ({@code HTTP 500},
     * {@code timeout}, {@code connection refused}, {@code refused by address policy}, …), how long it took.
     */
    public record Attempt(OffsetDateTime at, Integer statusCode, String error, int durationMs) {
    }

    private final JobReads jobs;
    private final Pool pool;
    private final Callers callers;

    public WebhookResource(JobReads jobs, Pool pool, Callers callers) {
        this.callers = callers;
        this.jobs = jobs;
        this.pool = pool;
    }

    @GET
    @Operation(operationId = "listWebhookDeliveries", summary = "The job's webhook deliveries, each with its attempts")
    public Uni<List<Delivery>> list(@PathParam("id") UUID id) {
        return jobs.get(callers.tenant(), id).chain(job -> pool.preparedQuery("""
                select d.*, a.attempted_at, a.status_code, a.error, a.duration_ms
                from webhook_deliveries d left join webhook_attempts a on a.delivery_id = d.id
                where d.job_id = $1 order by coalesce(d.sequence, 0), d.created_at, a.attempted_at""").execute(Tuple.of(id)))
                .map(rows -> {
                    Map<UUID, Delivery> byId = new LinkedHashMap<>();
                    for (Row r : rows) {
                        Delivery d = byId.computeIfAbsent(r.getUUID("id"), k -> {
                            String status = r.getString("status");
                            // rows delivered or given up before next_attempt_at was cleared show none either
                            OffsetDateTime next = "pending".equals(status) ? r.getOffsetDateTime("next_attempt_at") : null;
                            return new Delivery(k, r.getString("event_type"), r.getInteger("sequence"), status, r.getInteger("attempts"), next,
                                    r.getInteger("last_status"), DeliveryErrors.shown(r.getString("last_error")), r.getOffsetDateTime("created_at"),
                                    r.getOffsetDateTime("delivered_at"), new ArrayList<>());
                        });
                        if (r.getOffsetDateTime("attempted_at") != null) {
                            d.attemptLog().add(new Attempt(r.getOffsetDateTime("attempted_at"), r.getInteger("status_code"),
                                    DeliveryErrors.shown(r.getString("error")), r.getInteger("duration_ms")));
                        }
                    }
                    return List.copyOf(byId.values());
                });
    }

    @POST
    @Path("/{delivery}/redeliver")
    @Scopes.Requires(Scopes.JOBS_WRITE)
    @Operation(operationId = "redeliverWebhook", summary = "Send a delivery again now (a delivered or given-up one too)")
    public Uni<Map<String, Object>> redeliver(@PathParam("id") UUID id, @PathParam("delivery") UUID delivery) {
        return jobs.get(callers.tenant(), id).chain(job -> pool.preparedQuery("""
                update webhook_deliveries set status = 'pending', next_attempt_at = now(), lease_until = null
                where id = $1 and job_id = $2""").execute(Tuple.of(delivery, id)))
                .map(rows -> {
                    if (rows.rowCount() == 0) {
                        throw Problem.notFound("Job " + id + " has no webhook delivery " + delivery);
                    }
                    return Map.<String, Object>of("id", delivery, "status", "pending");
                });
    }
}
