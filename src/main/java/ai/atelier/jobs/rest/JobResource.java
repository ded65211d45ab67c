package ai.atelier.jobs.rest;

import java.net.URI;
import java.util.ArrayList;
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
import org.jboss.resteasy.reactive.RestResponse;
import org.jboss.resteasy.reactive.multipart.FileUpload;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import ai.atelier.ingest.Ingest;
import ai.atelier.jobs.JobService;
import ai.atelier.jobs.JobView;
import ai.atelier.problem.Problem;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.Vertx;

/** The jobs API: submit (JSON or multipart) → 202 with Location, then read or list. */
@Path("/v1/jobs")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Jobs")
public class JobResource {

    private final JobService jobs;
    private final Uploads uploads;

    public JobResource(JobService jobs, Uploads uploads) {
        this.jobs = jobs;
        this.uploads = uploads;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(summary = "Submit a job with image URLs or data URLs")
    public Uni<RestResponse<JobView>> submit(SubmitJobRequest request) {
        if (request == null) {
            throw Problem.badRequest("missing-body", "Missing body", "Send a JSON object with at least model and prompt");
        }
        List<Ingest.Source> images = new ArrayList<>();
        if (request.imageUrl() != null) {
            images.add(Ingest.Source.url(request.imageUrl(), "input"));
        }
        if (request.imageUrls() != null) {
            request.imageUrls().forEach(u -> images.add(Ingest.Source.url(u, "input")));
        }
        return accepted(jobs.submit(JobService.DEFAULT_TENANT,
                new JobService.Submission(request.model(), request.prompt(), images, request.params(), "api", request.priority())));
    }

    @POST
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    @Operation(summary = "Submit a job with uploaded image files")
    public Uni<RestResponse<JobView>> submitMultipart(@RestForm String model, @RestForm String prompt, @RestForm String params,
            @RestForm String priority, @RestForm(FileUpload.ALL) List<FileUpload> files) {
        Map<String, Object> parsed = uploads.params(params);
        return uploads.read(files).chain(images -> accepted(jobs.submit(JobService.DEFAULT_TENANT,
                new JobService.Submission(model, prompt, images, parsed, "api", priority))));
    }

    @GET
    @Path("/{id}")
    @Operation(summary = "A job: status, stage, progress, outputs as presigned URLs")
    public Uni<JobView> get(@PathParam("id") UUID id) {
        return jobs.get(JobService.DEFAULT_TENANT, id);
    }

    @GET
    @Operation(summary = "Jobs, newest first, with status/model filters and cursor paging")
    public Uni<JobView.Page> list(@QueryParam("status") String status, @QueryParam("model") String model,
            @QueryParam("cursor") String cursor, @QueryParam("limit") @DefaultValue("20") int limit) {
        return jobs.list(JobService.DEFAULT_TENANT, status, model, cursor, limit);
    }

    private static Uni<RestResponse<JobView>> accepted(Uni<JobView> job) {
        return job.map(j -> RestResponse.ResponseBuilder.<JobView>create(RestResponse.Status.ACCEPTED, j)
                .location(URI.create("/v1/jobs/" + j.id())).build());
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
                            .map(b -> Ingest.Source.upload(b.getBytes(), f.name())))
                    .collect().asList();
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
