package ai.atelier.webhooks;

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

/** A job's webhook deliveries with every attempt, and redelivery on request. */
@Path("/v1/jobs/{id}/webhooks")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Webhooks")
@Scopes.Requires(Scopes.JOBS_READ)
public class WebhookResource {

    private final JobReads jobs;
    private final WebhookDeliveries deliveries;
    private final Callers callers;

    public WebhookResource(JobReads jobs, WebhookDeliveries deliveries, Callers callers) {
        this.callers = callers;
        this.jobs = jobs;
        this.deliveries = deliveries;
    }

    @GET
    @Operation(operationId = "listWebhookDeliveries", summary = "The job's webhook deliveries, each with its attempts")
    public Uni<List<WebhookDeliveries.Delivery>> list(@PathParam("id") UUID id) {
        // the job is read first: another tenant's job answers 404, as every job route does
        return jobs.get(callers.tenant(), id).chain(job -> deliveries.ofJob(id));
    }

    @POST
    @Path("/{delivery}/redeliver")
    @Scopes.Requires(Scopes.JOBS_WRITE)
    @Operation(operationId = "redeliverWebhook", summary = "Send a delivery again now (a delivered or given-up one too)")
    public Uni<Map<String, Object>> redeliver(@PathParam("id") UUID id, @PathParam("delivery") UUID delivery) {
        return jobs.get(callers.tenant(), id).chain(job -> deliveries.redeliver(id, delivery)).map(found -> {
            if (!found) {
                throw Problem.notFound("Job " + id + " has no webhook delivery " + delivery);
            }
            return Map.<String, Object>of("id", delivery, "status", "pending");
        });
    }
}
