package ai.atelier.compat;

import java.time.Instant;
import java.util.List;
import java.util.Map;

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
import ai.atelier.problem.Problem;
import ai.atelier.http.FormInputs;
import io.smallrye.mutiny.Uni;

/** Seed 000's API (Qwen image edit): {@code POST /api/jobs} with image + prompt, then read one or all. */
@Path("/api/jobs")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Compatibility: seed 000")
@Scopes.Requires(Scopes.JOBS_READ)
public class Seed000Resource {

    /** What its submits write as the job's source: the live store keeps this API's status format for them. */
    static final String SOURCE = "seed-000";

    /** Seed 000's job as its clients read it. */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record LegacyJob(String jobId, String status, String prompt, @org.eclipse.microprofile.openapi.annotations.media.Schema(nullable = true) String resultUrl, @org.eclipse.microprofile.openapi.annotations.media.Schema(nullable = true) String error,
            Instant createdAt) {
    }

    private final Submissions submissions;
    private final JobReads jobs;
    private final FormInputs uploads;
    private final Callers callers;

    public Seed000Resource(Submissions submissions, JobReads jobs, FormInputs uploads, Callers callers) {
        this.submissions = submissions;
        this.callers = callers;
        this.jobs = jobs;
        this.uploads = uploads;
    }

    @POST
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    @Scopes.Requires(Scopes.JOBS_WRITE)
    @Operation(operationId = "legacySubmitQwenEdit", summary = "Seed 000: edit an image with Qwen (multipart image + prompt)")
    @org.eclipse.microprofile.openapi.annotations.parameters.RequestBody(content = @org.eclipse.microprofile.openapi.annotations.media.Content(
            mediaType = MediaType.MULTIPART_FORM_DATA, schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = Form.class)))
    public Uni<LegacyJob> submit(@jakarta.ws.rs.core.Context io.vertx.ext.web.RoutingContext rc) {
        ai.atelier.http.UploadedForm form = ai.atelier.http.UploadedForm.of(rc);
        var image = uploads.image(form, "image", "input", "the picture");
        return submissions.submit(callers.tenantCaller(), new Submission("qwen-image-edit-plus-lora", form.text("prompt"), List.of(image),
                Map.of(), SOURCE)).map(Seed000Resource::legacy);
    }

    /** Seed 000's form: the picture and the edit to make. */
    @org.eclipse.microprofile.openapi.annotations.media.Schema(name = "Seed000Form")
    public record Form(@org.eclipse.microprofile.openapi.annotations.media.Schema(required = true,
            type = org.eclipse.microprofile.openapi.annotations.enums.SchemaType.STRING, format = "binary") byte[] image,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(required = true) String prompt) {
    }

    @GET
    @Path("/{job_id}")
    @Operation(operationId = "legacyGetJob", summary = "Seed 000: one job")
    @org.eclipse.microprofile.openapi.annotations.responses.APIResponse(responseCode = "200", description = "The job",
            content = @org.eclipse.microprofile.openapi.annotations.media.Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = LegacyJob.class)))
    public Uni<org.jboss.resteasy.reactive.RestResponse<String>> get(@PathParam("job_id") String jobId) {
        return jobs.get(callers.tenant(), Seed001Resource.parse(jobId), LegacyFormats.Seed000.NAME)
                .map(json -> org.jboss.resteasy.reactive.RestResponse.ResponseBuilder.ok(json, MediaType.APPLICATION_JSON_TYPE).build());
    }

    @GET
    @Operation(operationId = "legacyListJobs", summary = "Seed 000: the latest 100 jobs")
    public Uni<List<LegacyJob>> list() {
        return jobs.list(callers.tenant(), null, null, null, 100).map(p -> p.items().stream().map(Seed000Resource::legacy).toList());
    }

    static LegacyJob legacy(JobView j) {
        return new LegacyJob(j.id().toString(), LegacyStatus.word(j.status()), j.prompt(), LegacyStatus.resultUrl(j), LegacyStatus.error(j),
                j.createdAt());
    }
}
