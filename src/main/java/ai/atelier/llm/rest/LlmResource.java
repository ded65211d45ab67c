package ai.atelier.llm.rest;

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

import ai.atelier.ingest.Ingest;
import ai.atelier.jobs.rest.JobResource;
import ai.atelier.llm.LlmAnswer;
import ai.atelier.llm.LlmRequest;
import ai.atelier.llm.LlmService;
import ai.atelier.problem.Problem;
import ai.atelier.prompts.Style;
import ai.atelier.http.FormInputs;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;

/**
 * Seed 002's client operations over HTTP: product analysis, background prompt, LLM completion (sync
 * and streamed). The async completion is {@code POST /v1/jobs} with model {@code llm}.
 */
@Path("/v1")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "LLM")
@ai.atelier.auth.Scopes.Requires(ai.atelier.auth.Scopes.JOBS_WRITE)
public class LlmResource {

    private final LlmService llm;
    private final FormInputs uploads;
    private final ai.atelier.auth.Callers callers;

    public LlmResource(LlmService llm, FormInputs uploads, ai.atelier.auth.Callers callers) {
        this.callers = callers;
        this.llm = llm;
        this.uploads = uploads;
    }

    /** The answer of a completion, as the API returns it. */
    public record CompletionView(String model, String output, String reasoning, Map<String, Object> usage, Double costUsd) {
        static CompletionView of(LlmAnswer a) {
            return new CompletionView(a.model(), a.output(), a.reasoning(), a.usage() == null ? null : a.usage().getMap(), a.cost());
        }
    }

    @POST
    @Path("/llm/completions")
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(operationId = "createLlmCompletion", summary = "LLM completion, synchronous (OpenRouter through fal); for long ones use POST /v1/jobs with model llm")
    public Uni<CompletionView> complete(LlmRequest request) {
        if (request == null) {
            throw Problem.badRequest("missing-body", "Missing body", "Send a JSON object with at least a prompt");
        }
        return llm.complete(callers.tenantCaller(), request).map(CompletionView::of);
    }

    @POST
    @Path("/llm/completions/stream")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.SERVER_SENT_EVENTS)
    @Operation(operationId = "streamLlmCompletion", summary = "LLM completion streamed as Server-Sent Events: partial outputs, then the full answer with usage and cost")
    @org.eclipse.microprofile.openapi.annotations.responses.APIResponse(responseCode = "200", description = "The events, as fal's router "
            + "sends them: `output` so far with `partial: true`, then the whole answer with `partial: false` and `usage` (or `error`)",
            content = @org.eclipse.microprofile.openapi.annotations.media.Content(mediaType = MediaType.SERVER_SENT_EVENTS,
                    schema = @Schema(implementation = StreamEvent.class)))
    public Uni<Void> stream(LlmRequest request, @jakarta.ws.rs.core.Context io.vertx.core.http.HttpServerResponse response) {
        if (request == null) {
            throw Problem.badRequest("missing-body", "Missing body", "Send a JSON object with at least a prompt");
        }
        ai.atelier.auth.Caller caller = callers.tenantCaller();
        // the checks (budget, each image URL) finish before the status is sent, so a bad request is a problem+json 4xx,
        // not a 200 with an error event; then the events are written as they come
        return llm.prepareStream(caller, request).chain(prepared -> {
            response.setChunked(true).putHeader("Content-Type", "text/event-stream").putHeader("Cache-Control", "no-store");
            return llm.stream(caller, prepared).map(JsonObject::getMap)
                    // once events flow the status is sent: a failure becomes a last event the client can read
                    .onFailure().recoverWithItem(e -> Map.of("partial", false, "error", describe(e)))
                    .onItem().transformToUniAndConcatenate(event -> Uni.createFrom()
                            .completionStage(response.write("data: " + io.vertx.core.json.Json.encode(event) + "\n\n").toCompletionStage()))
                    .collect().last()
                    .chain(() -> Uni.createFrom().completionStage(response.end().toCompletionStage()));
        });
    }

    /**
     * One event of a streamed completion, for the API document: the stream relays fal's router events as they come
     * (fal may add fields), and ends a failed stream with {@code partial: false} and {@code error}.
     */
    @Schema(name = "LlmStreamEvent", additionalProperties = Schema.True.class)
    public record StreamEvent(@Schema(description = "The answer so far; absent in a failure's last event") String output,
            @Schema(required = true, description = "false on the last event") boolean partial,
            @Schema(nullable = true) String reasoning, @Schema(nullable = true, description = "Why the stream failed") String error,
            @Schema(nullable = true, description = "Tokens and cost (`cost`, USD), on the last event") Map<String, Object> usage) {
    }

    /** What a client reads in the last event of a failed stream: the same words a problem+json would carry. */
    private static String describe(Throwable e) {
        if (e instanceof ai.atelier.fal.FalException f) {
            return "fal: " + f.getMessage();
        }
        if (e instanceof Problem p) {
            return p.title() + ": " + p.getMessage();
        }
        return "the stream failed (" + e.getClass().getSimpleName() + ")";
    }

    /** {@code POST /v1/products/analyze} as JSON. */
    public record AnalyseRequest(@Schema(description = "The product photo: http(s) URL or data URL") String imageUrl,
            @Schema(description = "Vision model; default google/gemini-2.5-pro") String model) {
    }

    @POST
    @Path("/products/analyze")
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(operationId = "analyzeProduct", summary = "The nine categories of a product photo (seed 002's analyse-product), with the call's cost")
    public Uni<Map<String, Object>> analyse(AnalyseRequest request) {
        if (request == null || request.imageUrl() == null || request.imageUrl().isBlank()) {
            throw Problem.invalid("missing-image", "Missing image", "Send image_url: an http(s) URL or a data URL");
        }
        return llm.analyse(callers.tenantCaller(), Ingest.Source.url(request.imageUrl(), "product"), LlmRequest.checkModel(request.model()));
    }

    @POST
    @Path("/products/analyze")
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    @Operation(operationId = "analyzeProduct", summary = "The nine categories of an uploaded product photo")
    @org.eclipse.microprofile.openapi.annotations.parameters.RequestBody(content = @org.eclipse.microprofile.openapi.annotations.media.Content(
            mediaType = MediaType.MULTIPART_FORM_DATA, schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = AnalyseForm.class)))
    public Uni<Map<String, Object>> analyseUpload(@jakarta.ws.rs.core.Context io.vertx.ext.web.RoutingContext rc) {
        ai.atelier.http.UploadedForm form = ai.atelier.http.UploadedForm.of(rc);
        var photo = uploads.image(form, "image", "product", "the photo");
        return llm.analyse(callers.tenantCaller(), photo, LlmRequest.checkModel(form.text("model")));
    }

    /** The multipart form of an analysis. */
    @org.eclipse.microprofile.openapi.annotations.media.Schema(name = "AnalyseForm")
    public record AnalyseForm(@org.eclipse.microprofile.openapi.annotations.media.Schema(required = true,
            type = org.eclipse.microprofile.openapi.annotations.enums.SchemaType.STRING, format = "binary") byte[] image, String model) {
    }

    /** {@code POST /v1/prompts/background}: seed 002's generate-bg-prompt. */
    public record BackgroundPromptRequest(@Schema(description = "The nine categories, e.g. from POST /v1/products/analyze") Map<String, Object> categories,
            @Schema(description = "The style: {name, description}") Style style,
            @Schema(description = "Shorthand for a style by its description, as seed 002 passed it") String styleType,
            @Schema(description = "llm (default, as seed 002) or template") String mode,
            @Schema(description = "Prompt model; default openai/gpt-5-mini") String model) {
    }

    @POST
    @Path("/prompts/background")
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(operationId = "writeBackgroundPrompt", summary = "A background-replacement prompt for a style, written from the product's categories")
    public Uni<Map<String, Object>> backgroundPrompt(BackgroundPromptRequest request) {
        if (request == null || request.categories() == null || request.categories().isEmpty()) {
            throw Problem.invalid("missing-categories", "Missing categories", "Send categories: the nine categories of the product");
        }
        Style style = request.style() != null ? request.style()
                : request.styleType() != null && !request.styleType().isBlank() ? new Style("Custom", request.styleType().strip()) : null;
        if (style == null || style.description() == null || style.description().isBlank()) {
            throw Problem.invalid("missing-style", "Missing style", "Send style {name, description} or style_type");
        }
        if (request.categories().size() > 30 || request.categories().values().stream().anyMatch(v -> String.valueOf(v).length() > 200)) {
            throw Problem.invalid("invalid-categories", "Invalid categories", "categories: at most 30 keys, each value at most 200 characters");
        }
        if (style.description().length() > 1000 || (style.name() != null && style.name().length() > 60)) {
            throw Problem.invalid("invalid-style", "Invalid style", "style: name at most 60, description at most 1000 characters");
        }
        String mode = request.mode() == null ? "llm" : request.mode();
        if (!List.of("llm", "template").contains(mode)) {
            throw Problem.invalid("invalid-prompt-mode", "Invalid prompt mode", "mode must be llm or template");
        }
        return llm.backgroundPrompt(callers.tenantCaller(), request.categories(), style, mode, LlmRequest.checkModel(request.model()));
    }
}
