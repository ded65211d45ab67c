package ai.atelier.batches.rest;

import java.util.List;
import java.util.Map;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import ai.atelier.batches.BatchItem;

/** {@code POST /v1/batches} as JSON, as the API document shows it (the resource reads the items one by one, to name a bad one). */
@Schema(name = "BatchRequest")
public record BatchRequest(
        @Schema(required = true, description = "The job requests (1 to atelier.batches.max-items): POST /v1/jobs's fields plus custom_id") List<BatchItem> requests,
        @Schema(description = "Any JSON object of the client's (at most atelier.batches.max-metadata-bytes as JSON), echoed on the batch") Map<String, Object> metadata,
        @Schema(description = "Where to POST batch.completed when the last item ends: {\"url\", \"events\": [\"batch.completed\"]}, signed with the tenant's whsec_ secret") BatchWebhook webhook,
        @Schema(description = "Cancel what has not ended this many seconds after accept (60 to 604800); the batch then ends expired") Integer deadlineSeconds) {

    /** A batch's webhook. */
    @Schema(name = "BatchWebhook")
    public record BatchWebhook(@Schema(required = true) String url, @Schema(description = "Only batch.completed") List<String> events) {
    }
}
