package ai.atelier.jobs.rest;

import java.time.Duration;
import java.util.Set;
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
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.resteasy.reactive.RestHeader;
import org.jboss.resteasy.reactive.RestResponse;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import ai.atelier.auth.Callers;
import ai.atelier.auth.Scopes;
import ai.atelier.http.UploadedForm;
import ai.atelier.ingest.Ingest;
import ai.atelier.jobs.JobCancellation;
import ai.atelier.jobs.JobReads;
import ai.atelier.jobs.submit.Submission;
import ai.atelier.jobs.submit.Submissions;
import ai.atelier.jobs.JobView;
import ai.atelier.problem.Problem;
import ai.atelier.progress.ProgressEvents;
import ai.atelier.webhooks.Webhooks;
import ai.atelier.http.FormInputs;
import io.smallrye.mutiny.Uni;
import io.vertx.ext.web.RoutingContext;

/** The jobs API: submit (JSON or multipart) → 202 with Location, then read or list. */
@Path("/v1/jobs")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Jobs")
@Scopes.Requires(Scopes.JOBS_READ)
public class JobResource {

    private final Submissions submissions;
    private final JobReads jobs;
    private final JobCancellation cancellation;
    private final FormInputs uploads;
    private final ProgressEvents events;
    private final Callers callers;
    private final ai.atelier.models.ModelCatalog catalog;

    public JobResource(Submissions submissions, JobReads jobs, JobCancellation cancellation, FormInputs uploads, ProgressEvents events,
            Callers callers, ai.atelier.models.ModelCatalog catalog) {
        this.catalog = catalog;
        this.submissions = submissions;
        this.callers = callers;
        this.jobs = jobs;
        this.cancellation = cancellation;
        this.uploads = uploads;
        this.events = events;
    }

    /** Where a job is, relative: built from the request's Host header it would point wherever the client said. */
    static String location(UUID id) {
        return "/v1/jobs/" + id;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Scopes.Requires(Scopes.JOBS_WRITE)
    @Operation(operationId = "submitJob", summary = "Submit a job with image URLs or data URLs")
    @org.eclipse.microprofile.openapi.annotations.extensions.Extension(name = JobResource.ANSWERED_BY_RESPOND, value = "true")
    @org.eclipse.microprofile.openapi.annotations.responses.APIResponse(responseCode = "202", description = "Accepted: the job, queued or running",
            content = @org.eclipse.microprofile.openapi.annotations.media.Content(mediaType = "application/json", schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = ai.atelier.jobs.JobView.class)))
    @org.eclipse.microprofile.openapi.annotations.responses.APIResponse(responseCode = "200", description = "The job, ended within Prefer: wait=N, or a dry run's quote",
            content = @org.eclipse.microprofile.openapi.annotations.media.Content(mediaType = "application/json", schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(oneOf = { JobView.class, Submissions.DryRun.class },
                    description = "A JobView (the job ended within Prefer: wait=N), or a DryRun (dry_run: true)")))
    public Uni<RestResponse<Object>> submit(SubmitJobRequest request, @RestHeader("Idempotency-Key") String idempotencyKey,
            @RestHeader("Prefer") String prefer) {
        if (request == null) {
            throw Problem.badRequest("missing-body", "Missing body", "Send a JSON object with at least model and prompt");
        }
        Submission submission = new Submission(request.model(), request.prompt(), request.images(), request.params(), "api",
                request.priority(), request.deadlineSeconds(), idempotencyKey, request.webhook(), request.stages(), null, request.cache());
        if (Boolean.TRUE.equals(request.dryRun())) {
            return submissions.dryRun(callers.tenantCaller(), submission).map(q -> RestResponse.ok((Object) q));
        }
        return respond(submissions.accept(callers.tenantCaller(), submission), prefer).map(r -> RestResponse.ResponseBuilder.<Object>create(r.getStatus())
                .entity(r.getEntity()).replaceAll(r.getHeaders()).build());
    }

    @POST
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    @Scopes.Requires(Scopes.JOBS_WRITE)
    @Operation(operationId = "submitJob", summary = "Submit a job with uploaded image files")
    @org.eclipse.microprofile.openapi.annotations.parameters.RequestBody(content = @org.eclipse.microprofile.openapi.annotations.media.Content(
            mediaType = MediaType.MULTIPART_FORM_DATA, schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = JobForm.class)))
    @org.eclipse.microprofile.openapi.annotations.extensions.Extension(name = JobResource.ANSWERED_BY_RESPOND, value = "true")
    @org.eclipse.microprofile.openapi.annotations.responses.APIResponse(responseCode = "202", description = "Accepted: the job, queued or running",
            content = @org.eclipse.microprofile.openapi.annotations.media.Content(mediaType = "application/json", schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = ai.atelier.jobs.JobView.class)))
    @org.eclipse.microprofile.openapi.annotations.responses.APIResponse(responseCode = "200", description = "The job, ended within Prefer: wait=N",
            content = @org.eclipse.microprofile.openapi.annotations.media.Content(mediaType = "application/json", schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(oneOf = { JobView.class, Submissions.DryRun.class },
                    description = "A JobView (the job ended within Prefer: wait=N), or a DryRun (dry_run: true)")))
    public Uni<RestResponse<JobView>> submitMultipart(@jakarta.ws.rs.core.Context RoutingContext rc,
            @RestHeader("Idempotency-Key") String idempotencyKey, @RestHeader("Prefer") String prefer) {
        UploadedForm form = UploadedForm.of(rc);
        Map<String, Object> parsed = uploads.params(form.text("params"));
        String webhookUrl = form.text("webhook_url");
        String webhookEvents = form.text("webhook_events");
        Webhooks.Spec webhook = webhookUrl == null && webhookEvents == null ? null
                : new Webhooks.Spec(webhookUrl, webhookEvents == null ? null : List.of(webhookEvents.split("\\s*,\\s*")));
        Submission.StageOptions stages = new Submission.StageOptions(form.bool("categorise"), form.text("prompt_mode"), uploads.style(form.text("style")),
                form.text("vision_model"), form.text("prompt_model"));
        Long deadline = form.number("deadline_seconds");
        return respond(submissions.accept(callers.tenantCaller(), new Submission(form.text("model"), form.text("prompt"), uploads.images(form),
                parsed, "api", form.text("priority"), deadline == null ? null : (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, deadline)),
                idempotencyKey, webhook, stages, null, ai.atelier.cache.CacheSpec.fromForm(form.text("cache")))), prefer);
    }

    /** The multipart form of a submit, as the API document shows it (read by {@link ai.atelier.http.MultipartReader}). */
    @org.eclipse.microprofile.openapi.annotations.media.Schema(name = "JobForm")
    public record JobForm(@org.eclipse.microprofile.openapi.annotations.media.Schema(required = true) String model, String prompt,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(description = "The model's parameters as a JSON object") String params,
            String priority, Integer deadlineSeconds, String webhookUrl,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(description = "Comma-separated events") String webhookEvents,
            Boolean categorise, String promptMode,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(description = "A style as a JSON object {name, description}") String style,
            String visionModel, String promptModel,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(description = "The result cache, as a JSON object {\"mode\", \"max_age\"} "
                    + "or just a mode (use, bypass, refresh)") String cache,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(type = org.eclipse.microprofile.openapi.annotations.enums.SchemaType.STRING,
                    format = "binary", description = "The photo (or image, face_image, product_image, background_image, reference_image)") byte[] image) {
    }

    @POST
    @Path("/{id}/retry")
    @Scopes.Requires(Scopes.JOBS_WRITE)
    @Operation(operationId = "retryJob", summary = "Run a failed job again from the stage that failed; earlier stages' results (and costs) are kept")
    @org.eclipse.microprofile.openapi.annotations.responses.APIResponse(responseCode = "202", description = "The job, queued again",
            content = @org.eclipse.microprofile.openapi.annotations.media.Content(mediaType = "application/json", schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = ai.atelier.jobs.JobView.class)),
            headers = @org.eclipse.microprofile.openapi.annotations.headers.Header(name = "Location", schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(type = org.eclipse.microprofile.openapi.annotations.enums.SchemaType.STRING)))
    public Uni<RestResponse<JobView>> retry(@PathParam("id") UUID id) {
        return submissions.retry(callers.tenant(), id).map(job -> RestResponse.ResponseBuilder.create(RestResponse.Status.ACCEPTED, job)
                .header("Location", location(job.id())).build());
    }

    @GET
    @Path("/{id}")
    @Operation(operationId = "getJob", summary = "A job: status, stage, progress, outputs as presigned URLs")
    @org.eclipse.microprofile.openapi.annotations.responses.APIResponse(responseCode = "200", description = "The job",
            content = @org.eclipse.microprofile.openapi.annotations.media.Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = JobView.class)))
    public Uni<RestResponse<String>> get(@PathParam("id") UUID id) {
        // the live view as stored: no entity to build, no JSON to write
        return jobs.get(callers.tenant(), id).map(json -> RestResponse.ResponseBuilder.ok(json, MediaType.APPLICATION_JSON_TYPE).build());
    }

    @GET
    @org.eclipse.microprofile.openapi.annotations.responses.APIResponse(responseCode = "200", description = "A page of jobs",
            content = @org.eclipse.microprofile.openapi.annotations.media.Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @Schema(implementation = JobView.Page.class)))
    @org.eclipse.microprofile.openapi.annotations.responses.APIResponse(responseCode = "422",
            description = "limit out of 1–100, a status that is none of the five, or an unknown model")
    @Operation(operationId = "listJobs", summary = "Jobs, newest first, with status/model filters and cursor paging")
    public Uni<JobView.Page> list(
            @Parameter(description = "Only jobs with this status", schema = @Schema(type = SchemaType.STRING,
                    enumeration = { "queued", "running", "succeeded", "failed", "cancelled" })) @QueryParam("status") String status,
            @Parameter(description = "Only jobs of this model (an id from GET /v1/models)") @QueryParam("model") String model,
            @Parameter(description = "The next_cursor of the previous page") @QueryParam("cursor") String cursor,
            // read as text so that a value that is not a number is a 400 problem naming it, not JAX-RS's 404
            @Parameter(description = "Jobs per page", schema = @Schema(type = SchemaType.INTEGER, format = "int32", minimum = "1",
                    maximum = "100", defaultValue = "20")) @QueryParam("limit") String limit) {
        return jobs.list(callers.tenant(), status, model, cursor, limit(limit));
    }

    @POST
    @Path("/{id}/cancel")
    @Scopes.Requires(Scopes.JOBS_WRITE)
    @Operation(operationId = "cancelJob", summary = "Cancel a job: at once when queued, at fal too when it is there (fal's answer and billing are recorded)")
    public Uni<JobView> cancel(@PathParam("id") UUID id) {
        return cancellation.cancel(callers.tenant(), id, "cancelled", "Cancelled by the client");
    }

    /**
     * Marks an operation whose answers come from {@link #respond}: {@code ai.atelier.http.OpenApiExamples} documents
     * the headers it sets on them ({@code Location}, {@code Idempotent-Replayed}, {@code Preference-Applied}) once.
     */
    public static final String ANSWERED_BY_RESPOND = "x-answered-by-respond";

    /**
     * 202 with Location; with {@code Prefer: wait=N} (N at most 60) the finished job with 200 if it ends in
     * time. A replayed Idempotency-Key says so in {@code Idempotent-Replayed}. A model that usually takes longer than
     * the longest wait (a video: minutes) answers 202 at once, without {@code Preference-Applied}: the client polls or
     * subscribes to the job's events.
     */
    public Uni<RestResponse<JobView>> respond(Uni<Submissions.Submitted> submitted, String prefer) {
        int asked = preferredWait(prefer);
        String tenant = callers.tenant();
        return submitted.chain(s -> {
            int wait = outlastsAnyWait(s.job().model()) ? 0 : asked;
            return respond(s, tenant, wait);
        });
    }

    /** Whether the model usually takes longer than {@code Prefer: wait} may last. */
    private boolean outlastsAnyWait(String model) {
        return catalog.find(model).flatMap(ai.atelier.models.ModelStrategy::typicalLatency).filter(l -> l.toSeconds() > MAX_WAIT_SECONDS)
                .isPresent();
    }

    private Uni<RestResponse<JobView>> respond(Submissions.Submitted s, String tenant, int wait) {
        return (wait == 0 || terminal(s.job()) ? Uni.createFrom().item(s.job()) : awaitEnd(tenant, s.job(), wait))
                .map(job -> {
                    boolean done = terminal(job);
                    var response = RestResponse.ResponseBuilder.<JobView>create(done && wait > 0 ? RestResponse.Status.OK : RestResponse.Status.ACCEPTED, job)
                            .header("Location", location(job.id()));
                    if (wait > 0) {
                        response.header("Preference-Applied", "wait=" + wait);
                    }
                    if (s.replayed()) {
                        response.header("Idempotent-Replayed", "true");
                    }
                    if (job.cache() != null) {
                        response.header("Atelier-Cache", job.cache());
                    }
                    return response.build();
                });
    }

    /** The job once its end is published (any instance runs it), or as it is after {@code seconds}. */
    private Uni<JobView> awaitEnd(String tenant, JobView job, int seconds) {
        return events.listen(job.id(), "0")
                .select().where(e -> TERMINAL.contains(e.progress().status()))
                .toUni()
                .ifNoItem().after(Duration.ofSeconds(seconds)).recoverWithItem(() -> null)
                .chain(ended -> jobs.view(tenant, job.id()));
    }

    private static final Set<String> TERMINAL = Set.of("succeeded", "failed", "cancelled");

    private static boolean terminal(JobView j) {
        return TERMINAL.contains(j.status());
    }

    /** A page size from the query, 20 when absent; not a whole number is a 400 naming it (JAX-RS would answer 404). */
    static int limit(String value) {
        if (value == null || value.isBlank()) {
            return 20;
        }
        if (!value.strip().matches("-?\\d{1,9}")) {
            throw Problem.badRequest("invalid-query", "Invalid query parameter", "limit must be a whole number from 1 to 100, not '" + value + "'")
                    .with("parameter", "limit");
        }
        return Integer.parseInt(value.strip());
    }

    static final int MAX_WAIT_SECONDS = 60;

    /** {@code Prefer: wait=N} (RFC 7240), capped at 60 s; 0 when absent or malformed. */
    static int preferredWait(String prefer) {
        if (prefer == null) {
            return 0;
        }
        for (String part : prefer.split("[,;]")) {
            String p = part.trim().toLowerCase(java.util.Locale.ROOT);
            if (p.startsWith("wait=") && p.substring(5).matches("\\d{1,9}")) {
                return Math.min(MAX_WAIT_SECONDS, Integer.parseInt(p.substring(5)));
            }
        }
        return 0;
    }

}
