package ai.atelier.batches.rest;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.headers.Header;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.resteasy.reactive.RestResponse;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.TextNode;

import ai.atelier.auth.Callers;
import ai.atelier.auth.Scopes;
import ai.atelier.batches.BatchCancellation;
import ai.atelier.batches.BatchReads;
import ai.atelier.batches.BatchView;
import ai.atelier.batches.Batches;
import ai.atelier.jobs.JobView;
import ai.atelier.problem.Problem;
import ai.atelier.webhooks.Webhooks;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

/** The batches API: many job requests accepted as one (JSON or JSON lines), then read, paged, streamed as results, or cancelled. */
@Path("/v1/batches")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Batches")
@Scopes.Requires(Scopes.JOBS_READ)
public class BatchResource {

    static final String NDJSON = "application/x-ndjson";

    private final Batches batches;
    private final BatchReads reads;
    private final BatchCancellation cancellation;
    private final Callers callers;
    private final ObjectMapper json;

    public BatchResource(Batches batches, BatchReads reads, BatchCancellation cancellation, Callers callers, ObjectMapper json) {
        this.batches = batches;
        this.reads = reads;
        this.cancellation = cancellation;
        this.callers = callers;
        this.json = json;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Scopes.Requires(Scopes.JOBS_WRITE)
    @Operation(operationId = "createBatch", summary = "Accept up to 10,000 job requests as one batch (all or nothing)")
    @RequestBody(required = true, content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = BatchRequest.class)))
    @APIResponse(responseCode = "202", description = "Accepted: the batch, in progress",
            content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = BatchView.class)),
            headers = @Header(name = "Location", schema = @Schema(type = SchemaType.STRING)))
    public Uni<RestResponse<BatchView>> create(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw Problem.badRequest("missing-body", "Missing body", "Send a JSON object with requests: [...]");
        }
        JsonNode requests = body.get("requests");
        if (requests == null || !requests.isArray()) {
            throw Problem.invalid("invalid-batch", "Invalid batch", "requests must be an array of job requests").with("field", "requests");
        }
        List<JsonNode> items = new ArrayList<>(requests.size());
        requests.forEach(items::add);
        Map<String, Object> metadata = object(body.get("metadata"), "metadata");
        Webhooks.Spec webhook = null;
        if (body.hasNonNull("webhook")) {
            try {
                BatchRequest.BatchWebhook hook = json.treeToValue(body.get("webhook"), BatchRequest.BatchWebhook.class);
                webhook = new Webhooks.Spec(hook.url(), hook.events());
            } catch (JsonProcessingException | IllegalArgumentException e) {
                throw Problem.invalid("invalid-webhook", "Invalid webhook", "webhook must be {\"url\", \"events\": [\"batch.completed\"]}")
                        .with("field", "webhook");
            }
        }
        Integer deadline = null;
        if (body.hasNonNull("deadline_seconds")) {
            if (!body.get("deadline_seconds").canConvertToInt() || !body.get("deadline_seconds").isIntegralNumber()) {
                throw Problem.invalid("invalid-deadline", "Invalid deadline", "deadline_seconds must be a whole number").with("field", "deadline_seconds");
            }
            deadline = body.get("deadline_seconds").intValue();
        }
        for (var it = body.fieldNames(); it.hasNext();) {
            String field = it.next();
            if (!List.of("requests", "metadata", "webhook", "deadline_seconds").contains(field)) {
                throw Problem.invalid("unknown-field", "Unknown field", "Unknown field '" + field + "'").with("field", field);
            }
        }
        return accepted(batches.accept(callers.tenantCaller(), items, metadata, webhook, deadline));
    }

    @POST
    @Consumes(NDJSON)
    @Scopes.Requires(Scopes.JOBS_WRITE)
    @Operation(operationId = "createBatch", summary = "Accept up to 10,000 job requests as one batch (all or nothing)")
    @RequestBody(required = true, content = @Content(mediaType = NDJSON, schema = @Schema(type = SchemaType.STRING,
            description = "One job request per line (a BatchItem as JSON); blank lines are skipped")))
    @APIResponse(responseCode = "202", description = "Accepted: the batch, in progress",
            content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = BatchView.class)),
            headers = @Header(name = "Location", schema = @Schema(type = SchemaType.STRING)))
    public Uni<RestResponse<BatchView>> createFromLines(String body,
            @Parameter(description = "JSON lines only: where to POST batch.completed") @QueryParam("webhook_url") String webhookUrl,
            @Parameter(description = "JSON lines only: the batch's deadline in seconds (60 to 604800)",
                    schema = @Schema(type = SchemaType.INTEGER, format = "int32")) @QueryParam("deadline_seconds") String deadlineSeconds,
            @Parameter(description = "JSON lines only: the batch's metadata as a JSON object") @QueryParam("metadata") String metadata) {
        List<JsonNode> items = new ArrayList<>();
        if (body != null) {
            for (String line : body.split("\r?\n")) {
                if (line.isBlank()) {
                    continue;
                }
                try {
                    items.add(json.readTree(line));
                } catch (JsonProcessingException e) {
                    // named as the bad item it is, with the others' checks, rather than refusing the whole upload unread
                    items.add(TextNode.valueOf(line));
                }
            }
        }
        Map<String, Object> meta = null;
        if (metadata != null && !metadata.isBlank()) {
            try {
                meta = object(json.readTree(metadata), "metadata");
            } catch (JsonProcessingException e) {
                throw Problem.invalid("invalid-metadata", "Invalid metadata", "metadata must be a JSON object").with("field", "metadata");
            }
        }
        Integer deadline = null;
        if (deadlineSeconds != null && !deadlineSeconds.isBlank()) {
            if (!deadlineSeconds.strip().matches("\\d{1,9}")) {
                throw Problem.badRequest("invalid-query", "Invalid query parameter", "deadline_seconds must be a whole number")
                        .with("parameter", "deadline_seconds");
            }
            deadline = Integer.parseInt(deadlineSeconds.strip());
        }
        Webhooks.Spec webhook = webhookUrl == null || webhookUrl.isBlank() ? null : new Webhooks.Spec(webhookUrl, null);
        return accepted(batches.accept(callers.tenantCaller(), items, meta, webhook, deadline));
    }

    private Map<String, Object> object(JsonNode node, String field) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isObject()) {
            throw Problem.invalid("invalid-metadata", "Invalid metadata", field + " must be a JSON object").with("field", field);
        }
        return json.convertValue(node, new TypeReference<Map<String, Object>>() {
        });
    }

    private static Uni<RestResponse<BatchView>> accepted(Uni<BatchView> batch) {
        return batch.map(b -> RestResponse.ResponseBuilder.create(RestResponse.Status.ACCEPTED, b).header("Location", b.url()).build());
    }

    @GET
    @Operation(operationId = "listBatches", summary = "Batches, newest first, with cursor paging")
    @APIResponse(responseCode = "200", description = "A page of batches",
            content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = BatchView.Page.class)))
    public Uni<BatchView.Page> list(@Parameter(description = "The next_cursor of the previous page") @QueryParam("cursor") String cursor,
            @Parameter(description = "Batches per page", schema = @Schema(type = SchemaType.INTEGER, format = "int32", minimum = "1", maximum = "100",
                    defaultValue = "20")) @QueryParam("limit") String limit) {
        return reads.list(callers.tenant(), cursor, limit(limit));
    }

    @GET
    @Path("/{id}")
    @Operation(operationId = "getBatch", summary = "A batch: status, request counts, cost so far")
    public Uni<BatchView> get(@PathParam("id") UUID id) {
        return reads.get(callers.tenant(), id);
    }

    @GET
    @Path("/{id}/jobs")
    @Operation(operationId = "listBatchJobs", summary = "The batch's jobs in request order (the views GET /v1/jobs answers), with a status filter and cursor paging")
    @APIResponse(responseCode = "200", description = "A page of the batch's jobs",
            content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = JobView.Page.class)))
    public Uni<JobView.Page> jobs(@PathParam("id") UUID id,
            @Parameter(description = "Only jobs with this status", schema = @Schema(type = SchemaType.STRING,
                    enumeration = { "queued", "running", "succeeded", "failed", "cancelled" })) @QueryParam("status") String status,
            @Parameter(description = "The next_cursor of the previous page") @QueryParam("cursor") String cursor,
            @Parameter(description = "Jobs per page", schema = @Schema(type = SchemaType.INTEGER, format = "int32", minimum = "1", maximum = "100",
                    defaultValue = "20")) @QueryParam("limit") String limit) {
        return reads.jobs(callers.tenant(), id, status, cursor, limit(limit));
    }

    @GET
    @Path("/{id}/results")
    @Produces(NDJSON)
    @Operation(operationId = "getBatchResults", summary = "The batch's results as JSON lines, in request order, streamed as they are read: "
            + "custom_id, job_id, status, outputs (signed URLs), error, cost_usd")
    @APIResponse(responseCode = "200", description = "One JSON object per line, one line per request",
            content = @Content(mediaType = NDJSON, schema = @Schema(type = SchemaType.STRING)))
    public Multi<Map<String, Object>> results(@PathParam("id") UUID id) {
        // the batch is found (or a 404 answered) before the first byte; then its lines as they are read
        return org.jboss.resteasy.reactive.RestMulti.fromUniResponse(reads.results(callers.tenant(), id), lines -> lines);
    }

    @POST
    @Path("/{id}/cancel")
    @Scopes.Requires(Scopes.JOBS_WRITE)
    @Operation(operationId = "cancelBatch", summary = "Cancel every item that has not ended (through to fal); the batch ends cancelled once they have")
    public Uni<BatchView> cancel(@PathParam("id") UUID id) {
        return cancellation.cancel(callers.tenant(), id);
    }

    /** A page size from the query, 20 when absent; not a whole number is a 400 naming it. */
    private static int limit(String value) {
        if (value == null || value.isBlank()) {
            return 20;
        }
        if (!value.strip().matches("-?\\d{1,9}")) {
            throw Problem.badRequest("invalid-query", "Invalid query parameter", "limit must be a whole number from 1 to 100, not '" + value + "'")
                    .with("parameter", "limit");
        }
        return Integer.parseInt(value.strip());
    }
}
