package ai.atelier.jobs.rest;

import java.util.List;
import java.util.Map;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.resteasy.reactive.RestHeader;
import org.jboss.resteasy.reactive.RestResponse;

import ai.atelier.auth.Callers;
import ai.atelier.auth.Scopes;
import ai.atelier.ingest.Ingest;
import ai.atelier.jobs.JobReads;
import ai.atelier.jobs.submit.Submission;
import ai.atelier.jobs.submit.Submissions;
import ai.atelier.jobs.JobView;
import ai.atelier.problem.Problem;
import ai.atelier.prompts.Style;
import ai.atelier.webhooks.Webhooks;
import ai.atelier.http.FormInputs;
import io.smallrye.mutiny.Uni;

/**
 * Product shoots (seed 002's generate-multiple-bg): one product photo, several styles, one job. It
 * categorises the product once, writes one prompt per style and generates the styles concurrently;
 * the job is read, cancelled, retried and listened to through {@code /v1/jobs/{id}}.
 */
@Path("/v1/product-shoots")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Product shoots")
@Scopes.Requires(Scopes.JOBS_WRITE)
public class ProductShootResource {

    private final JobResource jobsApi;
    private final Submissions jobs;
    private final FormInputs uploads;
    private final Callers callers;

    public ProductShootResource(JobResource jobsApi, Submissions jobs, FormInputs uploads, Callers callers) {
        this.callers = callers;
        this.jobsApi = jobsApi;
        this.jobs = jobs;
        this.uploads = uploads;
    }

    /** {@code POST /v1/product-shoots} as JSON. */
    public record ShootRequest(
            @Schema(description = "The product photo: http(s) URL or data URL") String imageUrl,
            @Schema(description = "The styles; default Studio, Lifestyle, Premium (seed 002)") List<Style> styles,
            @Schema(description = "Extra instructions for every style's prompt") String prompt,
            @Schema(description = "template (default) or llm") String promptMode,
            @Schema(description = "Generation model for each style; default bria-background-replace") String model,
            @Schema(description = "Tunable parameters of that model") Map<String, Object> params,
            @Schema(description = "Categorise the product first (default true)") Boolean categorise,
            String visionModel, String promptModel, String priority, Integer deadlineSeconds, Webhooks.Spec webhook,
            @Schema(description = "How each style's fal call uses the result cache (as on POST /v1/jobs); only with an explicit seed in params")
            ai.atelier.cache.CacheSpec cache) {
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(operationId = "startProductShoot", summary = "Start a product shoot: one photo, several styles (default Studio, Lifestyle, Premium), one job")
    @org.eclipse.microprofile.openapi.annotations.extensions.Extension(name = JobResource.ANSWERED_BY_RESPOND, value = "true")
    @org.eclipse.microprofile.openapi.annotations.responses.APIResponse(responseCode = "202", description = "Accepted: the job, queued or running",
            content = @org.eclipse.microprofile.openapi.annotations.media.Content(mediaType = "application/json", schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = ai.atelier.jobs.JobView.class)))
    @org.eclipse.microprofile.openapi.annotations.responses.APIResponse(responseCode = "200", description = "The job, ended within Prefer: wait=N",
            content = @org.eclipse.microprofile.openapi.annotations.media.Content(mediaType = "application/json", schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = ai.atelier.jobs.JobView.class)))
    public Uni<RestResponse<JobView>> shoot(ShootRequest r, @RestHeader("Idempotency-Key") String idempotencyKey,
            @RestHeader("Prefer") String prefer) {
        if (r == null || r.imageUrl() == null || r.imageUrl().isBlank()) {
            throw Problem.invalid("missing-image", "Missing image", "A product shoot needs image_url: an http(s) URL or a data URL");
        }
        Submission.StageOptions stages = new Submission.StageOptions(r.categorise(), r.promptMode(), null, r.visionModel(), r.promptModel());
        return jobsApi.respond(jobs.accept(callers.tenantCaller(), new Submission(r.model(), r.prompt(),
                List.of(Ingest.Source.url(r.imageUrl(), "product")), r.params(), "product-shoot", r.priority(), r.deadlineSeconds(),
                idempotencyKey, r.webhook(), stages, r.styles() == null ? List.of() : r.styles(), r.cache())), prefer);
    }

    @POST
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    @Operation(operationId = "startProductShoot", summary = "Start a product shoot with an uploaded photo (part 'image'; styles as a JSON field)")
    @org.eclipse.microprofile.openapi.annotations.parameters.RequestBody(content = @org.eclipse.microprofile.openapi.annotations.media.Content(
            mediaType = MediaType.MULTIPART_FORM_DATA, schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = ShootForm.class)))
    @org.eclipse.microprofile.openapi.annotations.extensions.Extension(name = JobResource.ANSWERED_BY_RESPOND, value = "true")
    @org.eclipse.microprofile.openapi.annotations.responses.APIResponse(responseCode = "202", description = "Accepted: the job, queued or running",
            content = @org.eclipse.microprofile.openapi.annotations.media.Content(mediaType = "application/json", schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = ai.atelier.jobs.JobView.class)))
    @org.eclipse.microprofile.openapi.annotations.responses.APIResponse(responseCode = "200", description = "The job, ended within Prefer: wait=N",
            content = @org.eclipse.microprofile.openapi.annotations.media.Content(mediaType = "application/json", schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = ai.atelier.jobs.JobView.class)))
    public Uni<RestResponse<JobView>> shootUpload(@jakarta.ws.rs.core.Context io.vertx.ext.web.RoutingContext rc,
            @RestHeader("Idempotency-Key") String idempotencyKey, @RestHeader("Prefer") String prefer) {
        ai.atelier.http.UploadedForm form = ai.atelier.http.UploadedForm.of(rc);
        Ingest.Source photo = uploads.image(form, "image", "product", "the product photo");
        List<Style> parsedStyles = uploads.styles(form.text("styles"));
        Map<String, Object> parsedParams = uploads.params(form.text("params"));
        Submission.StageOptions stages = new Submission.StageOptions(form.bool("categorise"), form.text("prompt_mode"), null, form.text("vision_model"),
                form.text("prompt_model"));
        return jobsApi.respond(jobs.accept(callers.tenantCaller(), new Submission(form.text("model"), form.text("prompt"), List.of(photo),
                parsedParams, "product-shoot", form.text("priority"), null, idempotencyKey, null, stages, parsedStyles,
                ai.atelier.cache.CacheSpec.fromForm(form.text("cache")))), prefer);
    }

    /** The multipart form of a product shoot, as the API document shows it. */
    @org.eclipse.microprofile.openapi.annotations.media.Schema(name = "ProductShootForm")
    public record ShootForm(
            @org.eclipse.microprofile.openapi.annotations.media.Schema(required = true, type = org.eclipse.microprofile.openapi.annotations.enums.SchemaType.STRING,
                    format = "binary", description = "The product photo") byte[] image,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(description = "A JSON array of {name, description}") String styles,
            String prompt, String promptMode, String model,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(description = "The model's parameters as a JSON object") String params,
            Boolean categorise, String visionModel, String promptModel, String priority,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(description = "How each style's fal call uses the result cache, as a JSON "
                    + "object {\"mode\", \"max_age\"} or just a mode (use, bypass, refresh); only with an explicit seed in params") String cache) {
    }
}
