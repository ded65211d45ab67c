package ai.atelier.jobs.rest;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import ai.atelier.ingest.Ingest;
import ai.atelier.jobs.submit.Submission;
import ai.atelier.prompts.Style;
import ai.atelier.webhooks.Webhooks;

/** {@code POST /v1/jobs} as JSON: images as http(s) URLs or data URLs. */
public record SubmitJobRequest(
        @Schema(description = "Model id from GET /v1/models", examples = "flux-schnell") String model,
        @Schema(description = "What to generate or how to edit") String prompt,
        @Schema(description = "One input image: http(s) URL or data URL") String imageUrl,
        @Schema(description = "Several input images: http(s) URLs or data URLs") List<String> imageUrls,
        @Schema(description = "Tunable parameters of the model (see GET /v1/models)") Map<String, Object> params,
        @Schema(description = "Claim order: high, normal (default) or low; low is also passed to fal's queue") String priority,
        @Schema(description = "Cancel the job by itself if it has not ended this many seconds after submit (1 to 86400)") Integer deadlineSeconds,
        @Schema(description = "Where to POST signed events: {\"url\", \"events\": [queued, started, completed, failed, cancelled]}") Webhooks.Spec webhook,
        @Schema(description = "Sort the product photo into seed 002's nine categories first (vision LLM); they shape the prompt") Boolean categorise,
        @Schema(description = "template (default: deterministic, free) or llm (an LLM writes the prompt from the categories and style)") String promptMode,
        @Schema(description = "The look to write the prompt for: {name, description}") Style style,
        @Schema(description = "Vision model for categorise; default google/gemini-2.5-pro") String visionModel,
        @Schema(description = "Prompt model for prompt_mode llm; default openai/gpt-5-mini") String promptModel,
        @Schema(description = "Seed 004: a face photo (URL or data URL); it becomes the init image") String faceImage,
        @Schema(description = "Seed 004: product photos; the first is the init image when there is no face") List<String> productImages,
        @Schema(description = "Seed 004: a background photo; the init image only when there is no face or product") String backgroundImage,
        @Schema(description = "A reference background for bria-background-replace, instead of a prompt") String referenceImageUrl,
        @Schema(description = "Only quote: answer what the job would cost (and the budgets) and submit nothing") Boolean dryRun,
        @Schema(description = "How this request uses the result cache: {\"mode\": use|bypass|refresh, \"max_age\": \"7d\"}; only a request "
                + "with an explicit seed in params is cached") ai.atelier.cache.CacheSpec cache) {

    /** The request's images with their roles, in the order given. */
    public List<Ingest.Source> images() {
        List<Ingest.Source> images = new ArrayList<>();
        if (imageUrl != null) {
            images.add(Ingest.Source.url(imageUrl, "input"));
        }
        if (imageUrls != null) {
            imageUrls.forEach(u -> images.add(Ingest.Source.url(u, "input")));
        }
        if (productImages != null) {
            productImages.forEach(u -> images.add(Ingest.Source.url(u, "product")));
        }
        if (faceImage != null) {
            images.add(Ingest.Source.url(faceImage, "face"));
        }
        if (backgroundImage != null) {
            images.add(Ingest.Source.url(backgroundImage, "background"));
        }
        if (referenceImageUrl != null) {
            images.add(Ingest.Source.url(referenceImageUrl, "reference"));
        }
        return images;
    }

    public Submission.StageOptions stages() {
        return new Submission.StageOptions(categorise, promptMode, style, visionModel, promptModel);
    }
}
