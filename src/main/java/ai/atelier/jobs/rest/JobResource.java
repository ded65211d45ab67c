package ai.atelier.jobs.rest;

import java.time.Duration;
import java.util.Set;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.resteasy.reactive.RestForm;
import org.jboss.resteasy.reactive.RestHeader;
import org.jboss.resteasy.reactive.RestResponse;
import org.jboss.resteasy.reactive.multipart.FileUpload;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import ai.atelier.auth.Callers;
import ai.atelier.auth.Scopes;
import ai.atelier.ingest.Ingest;
import ai.atelier.jobs.JobCancellation;
import ai.atelier.jobs.JobService;
import ai.atelier.jobs.JobView;
import ai.atelier.problem.Problem;
import ai.atelier.progress.ProgressEvents;
import ai.atelier.webhooks.Webhooks;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.Vertx;

/** The jobs API: submit (JSON or multipart) → 202 with Location, then read or list. */
@Path("/v1/jobs")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Jobs")
@Scopes.Requires(Scopes.JOBS_READ)
public class JobResource {

    private final JobService jobs;
    private final JobCancellation cancellation;
    private final Uploads uploads;
    private final ProgressEvents events;
    private final Callers callers;

    public JobResource(JobService jobs, JobCancellation cancellation, Uploads uploads, ProgressEvents events, Callers callers) {
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
    @Operation(summary = "Submit a job with image URLs or data URLs")
    public Uni<RestResponse<Object>> submit(SubmitJobRequest request, @RestHeader("Idempotency-Key") String idempotencyKey,
            @RestHeader("Prefer") String prefer) {
        if (request == null) {
            throw Problem.badRequest("missing-body", "Missing body", "Send a JSON object with at least model and prompt");
        }
        JobService.Submission submission = new JobService.Submission(request.model(), request.prompt(), request.images(), request.params(), "api",
                request.priority(), request.deadlineSeconds(), idempotencyKey, request.webhook(), request.stages(), null);
        if (Boolean.TRUE.equals(request.dryRun())) {
            return jobs.dryRun(callers.tenantCaller(), submission).map(q -> RestResponse.ok((Object) q));
        }
        return respond(jobs.accept(callers.tenantCaller(), submission), prefer).map(r -> RestResponse.ResponseBuilder.<Object>create(r.getStatus())
                .entity(r.getEntity()).replaceAll(r.getHeaders()).build());
    }

    @POST
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    @Scopes.Requires(Scopes.JOBS_WRITE)
    @Operation(summary = "Submit a job with uploaded image files")
    public Uni<RestResponse<JobView>> submitMultipart(@RestForm String model, @RestForm String prompt, @RestForm String params,
            @RestForm String priority, @RestForm("deadline_seconds") Integer deadlineSeconds, @RestForm("webhook_url") String webhookUrl,
            @RestForm("webhook_events") String webhookEvents, @RestForm Boolean categorise, @RestForm("prompt_mode") String promptMode,
            @RestForm String style, @RestForm("vision_model") String visionModel, @RestForm("prompt_model") String promptModel,
            @RestForm(FileUpload.ALL) List<FileUpload> files, @RestHeader("Idempotency-Key") String idempotencyKey,
            @RestHeader("Prefer") String prefer) {
        Map<String, Object> parsed = uploads.params(params);
        Webhooks.Spec webhook = webhookUrl == null ? null
                : new Webhooks.Spec(webhookUrl, webhookEvents == null ? null : List.of(webhookEvents.split("\\s*,\\s*")));
        JobService.StageOptions stages = new JobService.StageOptions(categorise, promptMode, uploads.style(style), visionModel, promptModel);
        ai.atelier.auth.Caller caller = callers.tenantCaller();
        return uploads.read(files).chain(images -> respond(jobs.accept(caller,
                new JobService.Submission(model, prompt, images, parsed, "api", priority, deadlineSeconds, idempotencyKey, webhook, stages, null)),
                prefer));
    }

    @POST
    @Path("/{id}/retry")
    @Scopes.Requires(Scopes.JOBS_WRITE)
    @Operation(summary = "Run a failed job again from the stage that failed; earlier stages' results (and costs) are kept")
    public Uni<RestResponse<JobView>> retry(@PathParam("id") UUID id) {
        return jobs.retry(callers.tenant(), id).map(job -> RestResponse.ResponseBuilder.create(RestResponse.Status.ACCEPTED, job)
                .header("Location", location(job.id())).build());
    }

    @GET
    @Path("/{id}")
    @Operation(summary = "A job: status, stage, progress, outputs as presigned URLs")
    @org.eclipse.microprofile.openapi.annotations.responses.APIResponse(responseCode = "200", description = "The job",
            content = @org.eclipse.microprofile.openapi.annotations.media.Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = JobView.class)))
    public Uni<RestResponse<String>> get(@PathParam("id") UUID id) {
        // the live view as stored: no entity to build, no JSON to write
        return jobs.get(callers.tenant(), id).map(json -> RestResponse.ResponseBuilder.ok(json, MediaType.APPLICATION_JSON_TYPE).build());
    }

    @GET
    @Operation(summary = "Jobs, newest first, with status/model filters and cursor paging")
    public Uni<JobView.Page> list(@QueryParam("status") String status, @QueryParam("model") String model,
            @QueryParam("cursor") String cursor, @QueryParam("limit") @DefaultValue("20") int limit) {
        return jobs.list(callers.tenant(), status, model, cursor, limit);
    }

    @POST
    @Path("/{id}/cancel")
    @Scopes.Requires(Scopes.JOBS_WRITE)
    @Operation(summary = "Cancel a job: at once when queued, at fal too when it is there (fal's answer and billing are recorded)")
    public Uni<JobView> cancel(@PathParam("id") UUID id) {
        return cancellation.cancel(callers.tenant(), id, "cancelled", "Cancelled by the client");
    }

    /**
     * 202 with Location; with {@code Prefer: wait=N} (N at most 60) the finished job with 200 if it ends in
     * time. A replayed Idempotency-Key says so in {@code Idempotent-Replayed}.
     */
    public Uni<RestResponse<JobView>> respond(Uni<JobService.Submitted> submitted, String prefer) {
        int wait = preferredWait(prefer);
        String tenant = callers.tenant();
        return submitted.chain(s -> (wait == 0 || terminal(s.job()) ? Uni.createFrom().item(s.job()) : awaitEnd(tenant, s.job(), wait))
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
                    return response.build();
                }));
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

    /** {@code Prefer: wait=N} (RFC 7240), capped at 60 s; 0 when absent or malformed. */
    static int preferredWait(String prefer) {
        if (prefer == null) {
            return 0;
        }
        for (String part : prefer.split("[,;]")) {
            String p = part.trim().toLowerCase(java.util.Locale.ROOT);
            if (p.startsWith("wait=") && p.substring(5).matches("\\d{1,9}")) {
                return Math.min(60, Integer.parseInt(p.substring(5)));
            }
        }
        return 0;
    }

    /** Reads multipart uploads without blocking (Vert.x file system) and parses the params field. */
    @jakarta.enterprise.context.ApplicationScoped
    public static class Uploads {
        private final Vertx vertx;
        private final ObjectMapper mapper;

        public Uploads(Vertx vertx, ObjectMapper mapper) {
            this.vertx = vertx;
            this.mapper = mapper;
        }

        public Uni<List<Ingest.Source>> read(List<FileUpload> files) {
            List<FileUpload> images = files == null ? List.of() : files.stream().filter(f -> f.fileName() != null || f.size() > 0).toList();
            return Multi.createFrom().iterable(images)
                    .onItem().transformToUniAndConcatenate(f -> vertx.fileSystem().readFile(f.uploadedFile().toString())
                            .map(b -> Ingest.Source.upload(b.getBytes(), role(f.name()))))
                    .collect().asList();
        }

        /** A part's name says the photo's role (seed 004): face_image, product_image(s), background_image, reference_image. */
        static String role(String part) {
            String p = part == null ? "" : part.toLowerCase(java.util.Locale.ROOT);
            if (p.startsWith("face")) {
                return "face";
            }
            if (p.startsWith("product")) {
                return "product";
            }
            if (p.startsWith("background")) {
                return "background";
            }
            if (p.startsWith("reference")) {
                return "reference";
            }
            return "input";
        }

        /** A style given as a JSON form field: {"name", "description"}. */
        public ai.atelier.prompts.Style style(String json) {
            if (json == null || json.isBlank()) {
                return null;
            }
            try {
                return mapper.readValue(json, ai.atelier.prompts.Style.class);
            } catch (Exception e) {
                throw Problem.badRequest("malformed-json", "Malformed JSON", "The style field must be a JSON object {\"name\", \"description\"}");
            }
        }

        /** Styles given as a JSON form field: [{"name", "description"}, …]. */
        public List<ai.atelier.prompts.Style> styles(String json) {
            if (json == null || json.isBlank()) {
                return List.of();
            }
            try {
                return List.of(mapper.readValue(json, ai.atelier.prompts.Style[].class));
            } catch (Exception e) {
                throw Problem.badRequest("malformed-json", "Malformed JSON", "The styles field must be a JSON array of {\"name\", \"description\"}");
            }
        }

        public Map<String, Object> params(String json) {
            if (json == null || json.isBlank()) {
                return Map.of();
            }
            try {
                return mapper.readValue(json, new TypeReference<Map<String, Object>>() {
                });
            } catch (Exception e) {
                throw Problem.badRequest("malformed-json", "Malformed JSON", "The params field must be a JSON object");
            }
        }
    }
}
