package ai.atelier.jobs.rest;

import java.util.List;
import java.util.Map;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

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
        @Schema(description = "Where to POST signed events: {\"url\", \"events\": [queued, started, completed, failed, cancelled]}") Webhooks.Spec webhook) {
}
