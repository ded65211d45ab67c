package ai.atelier.compat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

import com.fasterxml.jackson.annotation.JsonInclude;

import ai.atelier.auth.Callers;
import ai.atelier.auth.Scopes;
import ai.atelier.jobs.JobReads;
import ai.atelier.jobs.submit.Submission;
import ai.atelier.jobs.submit.Submissions;
import ai.atelier.jobs.JobView;
import ai.atelier.jobs.rest.JobResource;
import ai.atelier.models.ModelCatalog;
import ai.atelier.models.ModelStrategy;
import ai.atelier.problem.Problem;
import ai.atelier.http.FormInputs;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;

/**
 * Seed 001's API, same paths, fields and status words, so its clients keep working while they move
 * to {@code /v1}. Its clients send sampler settings (steps, guidance, strength) that Atelier's models
 * lock; those are ignored here, as the prototype's placeholder models did, rather than rejected. Its promised
 * {@code /api/{model_name}/t2v} and {@code /i2v} run Atelier's video models, followed on the same status route.
 */
@Path("/api")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Compatibility: seed 001")
@Scopes.Requires(Scopes.JOBS_WRITE)
public class Seed001Resource {

    /** What its submits write as the job's source: the live store keeps this API's status format for them. */
    static final String SOURCE = "seed-001";

    static final String SUBMITTED = "Task submitted. Use /api/{session_id}/status to check progress.";
    /** The parts seed 001's image-to-image form has ({@link ImageToImage}). */
    static final java.util.Set<String> IMAGE_TO_IMAGE_FIELDS = java.util.Set.of("image", "prompt", "seed", "strength", "guidance_scale",
            "num_inference_steps");
    static final String DEFAULT_I2I_PROMPT = "The same image, high quality, sharp details";

    /** Seed 001's text-to-image body: its fields only (an unknown one, e.g. camelCase {@code negativePrompt}, is a 422 naming it). */
    public record TextToImage(String prompt, String negativePrompt, Integer width, Integer height, Integer numInferenceSteps,
            Double guidanceScale, Long seed) {
    }

    /** Seed 001's status answer. */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Status(String sessionId, String status, int progress, String message, @org.eclipse.microprofile.openapi.annotations.media.Schema(nullable = true) String resultUrl,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(nullable = true) String error) {
    }

    private final Submissions submissions;
    private final JobReads jobs;
    private final FormInputs uploads;
    private final Callers callers;
    private final ModelCatalog catalog;

    public Seed001Resource(Submissions submissions, JobReads jobs, FormInputs uploads, Callers callers, ModelCatalog catalog) {
        this.submissions = submissions;
        this.catalog = catalog;
        this.callers = callers;
        this.jobs = jobs;
        this.uploads = uploads;
    }

    @POST
    @Path("/flux/t2i")
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(operationId = "legacyFluxTextToImage", summary = "Seed 001: FLUX text-to-image")
    public Uni<LegacyStatus.Submitted> fluxT2i(TextToImage body) {
        return submitText("flux-schnell", body);
    }

    @POST
    @Path("/qwen-multi-angle/t2i")
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(operationId = "legacyMultiAngleFromText", summary = "Seed 001: multi-angle from text")
    public Uni<LegacyStatus.Submitted> qwenT2i(TextToImage body) {
        return submitText("qwen-multi-angle-t2i", body);
    }

    @POST
    @Path("/flux/i2i")
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    @Operation(operationId = "legacyFluxImageToImage", summary = "Seed 001: FLUX image-to-image (multipart)")
    @org.eclipse.microprofile.openapi.annotations.parameters.RequestBody(content = @org.eclipse.microprofile.openapi.annotations.media.Content(
            mediaType = MediaType.MULTIPART_FORM_DATA, schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = ImageToImage.class)))
    public Uni<LegacyStatus.Submitted> fluxI2i(@jakarta.ws.rs.core.Context io.vertx.ext.web.RoutingContext rc) {
        ai.atelier.http.UploadedForm form = ai.atelier.http.UploadedForm.of(rc);
        form.only(IMAGE_TO_IMAGE_FIELDS);
        ignoredLocked(form);
        String prompt = form.text("prompt");
        return submitImage("flux-general-i2i", form, prompt == null ? DEFAULT_I2I_PROMPT : prompt);
    }

    @POST
    @Path("/qwen-multi-angle/i2i")
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    @Operation(operationId = "legacyMultiAngleFromImage", summary = "Seed 001: multi-angle from a photo (multipart)")
    @org.eclipse.microprofile.openapi.annotations.parameters.RequestBody(content = @org.eclipse.microprofile.openapi.annotations.media.Content(
            mediaType = MediaType.MULTIPART_FORM_DATA, schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = ImageToImage.class)))
    public Uni<LegacyStatus.Submitted> qwenI2i(@jakarta.ws.rs.core.Context io.vertx.ext.web.RoutingContext rc) {
        ai.atelier.http.UploadedForm form = ai.atelier.http.UploadedForm.of(rc);
        form.only(IMAGE_TO_IMAGE_FIELDS);
        ignoredLocked(form);
        return submitImage("qwen-multiple-angles", form, null);
    }

    /** Seed 001's image-to-image form (its sampler settings are checked against the seed's ranges, then ignored: the models lock them). */
    @org.eclipse.microprofile.openapi.annotations.media.Schema(name = "Seed001ImageToImage")
    public record ImageToImage(@org.eclipse.microprofile.openapi.annotations.media.Schema(required = true,
            type = org.eclipse.microprofile.openapi.annotations.enums.SchemaType.STRING, format = "binary") byte[] image,
            String prompt, Long seed,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(minimum = "0", maximum = "1") Double strength,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(minimum = "0", maximum = "50") Double guidanceScale,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(minimum = "1", maximum = "500") Integer numInferenceSteps) {
    }

    /**
     * Seed 001's text-to-video body, flat like its text-to-image one: the prompt plus any of the video model's parameters
     * under fal's names, as {@code GET /v1/models} lists them (each typed as that model takes it: {@code "5"}, {@code "8s"}).
     */
    @org.eclipse.microprofile.openapi.annotations.media.Schema(name = "Seed001TextToVideo")
    public record TextToVideo(@org.eclipse.microprofile.openapi.annotations.media.Schema(required = true) String prompt,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(description = "As the model takes it: \"5\" (Kling, Wan), \"6\" (Hailuo), \"8s\" (Veo)") String duration,
            String resolution, String aspectRatio, String negativePrompt, Long seed, Boolean generateAudio) {
    }

    /** Seed 001's image-to-video form: the photo (the clip's first frame), the prompt, and the model's parameters as text parts. */
    @org.eclipse.microprofile.openapi.annotations.media.Schema(name = "Seed001ImageToVideo")
    public record ImageToVideo(@org.eclipse.microprofile.openapi.annotations.media.Schema(required = true,
            type = org.eclipse.microprofile.openapi.annotations.enums.SchemaType.STRING, format = "binary") byte[] image,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(required = true) String prompt,
            String duration, String resolution, String negativePrompt, Long seed, Boolean generateAudio) {
    }

    @POST
    @Path("/{model_name}/t2v")
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(operationId = "legacyTextToVideo", summary = "Seed 001: text-to-video with a video model (kling-2.5-turbo-pro, hailuo-02-standard, veo-3.1-fast, wan-2.5)")
    @org.eclipse.microprofile.openapi.annotations.parameters.RequestBody(content = @org.eclipse.microprofile.openapi.annotations.media.Content(
            mediaType = MediaType.APPLICATION_JSON, schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = TextToVideo.class)))
    public Uni<LegacyStatus.Submitted> textToVideo(@PathParam("model_name") String modelName, Map<String, Object> body) {
        ModelStrategy model = videoModel(modelName);
        if (body == null) {
            throw Problem.badRequest("missing-body", "Missing body", "Send a JSON object with a prompt");
        }
        Map<String, Object> params = new LinkedHashMap<>(body);
        Object prompt = params.remove("prompt");
        if (prompt != null && !(prompt instanceof String)) {
            throw Problem.invalid("invalid-field", "Invalid field", "The field 'prompt' must be a string").with("field", "prompt");
        }
        return submitted(submissions.submit(callers.tenantCaller(), new Submission(model.id(), (String) prompt, List.of(), params, SOURCE)));
    }

    @POST
    @Path("/{model_name}/i2v")
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    @Operation(operationId = "legacyImageToVideo", summary = "Seed 001: image-to-video with a video model (multipart; the photo is the first frame)")
    @org.eclipse.microprofile.openapi.annotations.parameters.RequestBody(content = @org.eclipse.microprofile.openapi.annotations.media.Content(
            mediaType = MediaType.MULTIPART_FORM_DATA, schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = ImageToVideo.class)))
    public Uni<LegacyStatus.Submitted> imageToVideo(@PathParam("model_name") String modelName,
            @jakarta.ws.rs.core.Context io.vertx.ext.web.RoutingContext rc) {
        ModelStrategy model = videoModel(modelName);
        ai.atelier.http.UploadedForm form = ai.atelier.http.UploadedForm.of(rc);
        java.util.Set<String> known = new java.util.HashSet<>(java.util.Set.of("image", "prompt"));
        model.tunable().forEach(p -> known.add(p.name()));
        form.only(known);
        // a form's parts are text: each parameter read as the type the model gives it
        Map<String, Object> params = new LinkedHashMap<>();
        for (ai.atelier.models.ParamSpec p : model.tunable()) {
            Object value = switch (p.type()) {
                case INTEGER, SEED -> form.number(p.name());
                case NUMBER -> form.decimal(p.name());
                case BOOLEAN -> form.bool(p.name());
                default -> form.text(p.name());
            };
            if (value != null) {
                params.put(p.name(), value);
            }
        }
        var image = uploads.image(form, "image", "input", "the photo (the clip's first frame)");
        return submitted(submissions.submit(callers.tenantCaller(), new Submission(model.id(), form.text("prompt"), List.of(image), params, SOURCE)));
    }

    /** The video model a seed 001 video path names; a 404 for any other name (its picture routes have their own paths). */
    private ModelStrategy videoModel(String name) {
        return catalog.find(name).filter(m -> m.output() == ModelStrategy.Output.VIDEO)
                .orElseThrow(() -> Problem.notFound("There is no video model " + name + "; the video models are "
                        + catalog.all().stream().filter(m -> m.output() == ModelStrategy.Output.VIDEO).map(ModelStrategy::id).sorted()
                                .collect(java.util.stream.Collectors.joining(", "))));
    }

    @GET
    @Path("/{session_id}/status")
    @Scopes.Requires(Scopes.JOBS_READ)
    @Operation(operationId = "legacySessionStatus", summary = "Seed 001: status of a session")
    @org.eclipse.microprofile.openapi.annotations.responses.APIResponse(responseCode = "200", description = "The session's status",
            content = @org.eclipse.microprofile.openapi.annotations.media.Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = Status.class)))
    public Uni<org.jboss.resteasy.reactive.RestResponse<String>> status(@PathParam("session_id") String sessionId) {
        // polled every few hundred milliseconds by seed 001's clients: the stored answer, as it is
        return jobs.get(callers.tenant(), parse(sessionId), LegacyFormats.Seed001.NAME)
                .map(json -> org.jboss.resteasy.reactive.RestResponse.ResponseBuilder.ok(json, MediaType.APPLICATION_JSON_TYPE).build());
    }

    private Uni<LegacyStatus.Submitted> submitText(String model, TextToImage body) {
        if (body == null) {
            throw Problem.badRequest("missing-body", "Missing body", "Send a JSON object with a prompt");
        }
        outOfRange("guidance_scale", body.guidanceScale(), 0, 50);
        outOfRange("num_inference_steps", body.numInferenceSteps() == null ? null : body.numInferenceSteps().doubleValue(), 1, 500);
        ignoredLocked(body.guidanceScale(), body.numInferenceSteps(), body.negativePrompt());
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("image_size", Map.of("width", body.width() == null ? 512 : body.width(), "height", body.height() == null ? 512 : body.height()));
        if (body.seed() != null) {
            params.put("seed", body.seed());
        }
        return submitted(submissions.submit(callers.tenantCaller(), new Submission(model, body.prompt(), List.of(), params, SOURCE)));
    }

    private Uni<LegacyStatus.Submitted> submitImage(String model, ai.atelier.http.UploadedForm form, String prompt) {
        var image = uploads.image(form, "image", "input", "the picture");
        Map<String, Object> params = new LinkedHashMap<>();
        Long seed = form.number("seed");
        if (seed != null) {
            params.put("seed", seed);
        }
        return submitted(submissions.submit(callers.tenantCaller(), new Submission(model, prompt, List.of(image), params, SOURCE)));
    }

    private static Uni<LegacyStatus.Submitted> submitted(Uni<JobView> job) {
        return job.map(j -> new LegacyStatus.Submitted(j.id().toString(), "pending", SUBMITTED));
    }

    /**
     * Seed 001's sampler settings, which the models lock: outside the seed's own ranges (strength 0–1 as
     * diffusers checks it, guidance 0–50, 1–500 whole steps) they are a 422 naming the field, as the
     * prototype would have failed on them; within range they are ignored.
     */
    private static void ignoredLocked(ai.atelier.http.UploadedForm form) {
        Double strength = form.decimal("strength");
        Double guidance = form.decimal("guidance_scale");
        Long steps = form.number("num_inference_steps");
        outOfRange("strength", strength, 0, 1);
        outOfRange("guidance_scale", guidance, 0, 50);
        outOfRange("num_inference_steps", steps == null ? null : steps.doubleValue(), 1, 500);
        ignoredLocked(strength, guidance, steps);
    }

    private static void outOfRange(String field, Double value, double min, double max) {
        if (value != null && (value < min || value > max)) {
            throw Problem.invalid("invalid-parameter", "Invalid parameter", "'" + field + "' must be from " + fmt(min) + " to " + fmt(max)
                    + ", got " + fmt(value)).with("parameter", field).with("field", field);
        }
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }

    private static void ignoredLocked(Object... values) {
        for (Object v : values) {
            if (v != null) {
                Log.debug("seed 001 client sent a locked sampler setting; ignored");
                return;
            }
        }
    }

    static String message(JobView j) {
        return switch (j.status()) {
            case "queued" -> "Task is queued";
            case "succeeded" -> "Generation completed successfully";
            case "failed", "cancelled" -> "Generation failed";
            default -> j.message() != null ? j.message() : "Processing (" + j.stage() + ")";
        };
    }

    static UUID parse(String id) {
        try {
            return UUID.fromString(id);
        } catch (IllegalArgumentException e) {
            throw Problem.notFound("There is no session " + id);
        }
    }
}
