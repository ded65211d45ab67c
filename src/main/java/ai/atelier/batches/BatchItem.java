package ai.atelier.batches;

import java.util.List;
import java.util.Map;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import ai.atelier.jobs.rest.SubmitJobRequest;
import ai.atelier.prompts.Style;
import ai.atelier.webhooks.Webhooks;

/**
 * One request of a batch: the fields of {@code POST /v1/jobs} (see {@link SubmitJobRequest}), the client's {@code custom_id},
 * and {@code styles} for a product shoot (as {@code POST /v1/product-shoots} takes them).
 */
@Schema(name = "BatchItem")
// read with ObjectMapper.treeToValue, one item at a time (no REST signature names it): registered for the native image
@io.quarkus.runtime.annotations.RegisterForReflection(targets = { BatchItem.class, ai.atelier.batches.rest.BatchRequest.BatchWebhook.class })
public record BatchItem(
        @Schema(required = true, description = "The client's id for this request, unique in the batch (1 to 64 characters); "
                + "it names the request's job and result") String customId,
        @Schema(description = "Model id from GET /v1/models", examples = "flux-schnell") String model,
        @Schema(description = "What to generate or how to edit") String prompt,
        @Schema(description = "One input image: http(s) URL (fetched when the item runs) or data URL") String imageUrl,
        @Schema(description = "Several input images: http(s) URLs or data URLs") List<String> imageUrls,
        @Schema(description = "Tunable parameters of the model (see GET /v1/models)") Map<String, Object> params,
        @Schema(description = "Ignored: every batch item runs below interactive jobs and goes to fal's queue as low") String priority,
        @Schema(description = "Cancel the item by itself if it has not ended this many seconds after the batch was accepted (1 to 86400)") Integer deadlineSeconds,
        @Schema(description = "The item's own webhook, as POST /v1/jobs takes it") Webhooks.Spec webhook,
        Boolean categorise, String promptMode, Style style, String visionModel, String promptModel, String faceImage,
        List<String> productImages, String backgroundImage, String referenceImageUrl,
        @Schema(description = "A product shoot's styles (an empty list: the default styles); makes the item a product shoot") List<Style> styles,
        @Schema(description = "Refused in a batch: quote one request with POST /v1/jobs and dry_run") Boolean dryRun,
        @Schema(description = "How this request uses the result cache, as POST /v1/jobs takes it; only a request with an explicit seed in "
                + "params is cached") ai.atelier.cache.CacheSpec cache) {

    /** The item as a job submit reads it. */
    SubmitJobRequest request() {
        return new SubmitJobRequest(model, prompt, imageUrl, imageUrls, params, priority, deadlineSeconds, webhook, categorise, promptMode, style,
                visionModel, promptModel, faceImage, productImages, backgroundImage, referenceImageUrl, dryRun, cache);
    }
}
