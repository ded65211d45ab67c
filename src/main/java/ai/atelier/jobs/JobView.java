package ai.atelier.jobs;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import com.fasterxml.jackson.annotation.JsonInclude;

import io.quarkus.runtime.annotations.RegisterForReflection;

/** What a client sees of a job: the row, completed with live progress from Redis, file URLs presigned. */
@JsonInclude(JsonInclude.Include.NON_NULL)
// also written by hand (the live view in Redis, the event stream), with its nested views
@RegisterForReflection(ignoreNested = false)
public record JobView(@Schema(required = true) UUID id, @Schema(required = true) String model,
        @Schema(required = true, enumeration = { "high", "normal", "low", "batch" },
                description = "Claim order; batch: a batch item's, below every job submitted on its own") String priority,
        @Schema(required = true, enumeration = { "queued", "running", "succeeded", "failed", "cancelled" }) String status,
        @Schema(description = "ingest, categorise, prompt, infer, shoot, store or finish") String stage,
        @Schema(required = true, minimum = "0", maximum = "100") int progress, String message, Integer queuePosition,
        String prompt, @Schema(required = true) Map<String, Object> params, @Schema(required = true) List<FileView> inputs,
        @Schema(required = true) List<FileView> outputs, ErrorView error,
        String falRequestId, List<String> logs, @Schema(required = true) Instant createdAt, @Schema(required = true) Instant updatedAt,
        Instant finishedAt, Instant deadlineAt, CancellationView cancellation,
        @Schema(required = true, enumeration = { "generate", "product_shoot", "llm" }) String kind, Map<String, Object> categories, String finalPrompt, InitImageView initImage,
        Map<String, Object> stages, Double costUsd, ShootView shoot, Map<String, Object> result, Integer retries,
        @Schema(description = "The batch that made the job (POST /v1/batches); absent for a job submitted on its own") UUID batchId,
        @Schema(description = "The client's id for the job in its batch") String customId,
        @Schema(description = "What the result cache did: hit (served from a stored result, nothing paid), miss (fal called, its result "
                + "stored), refresh (fal called, the stored result replaced) or bypass (not cached: no explicit seed, the tenant's cache off, "
                + "or asked); until the run looks it up, what the submit answer said", enumeration = { "hit", "miss", "bypass", "refresh" }) String cache) {

    /** Which of the request's photos became the init image (seed 004's rule: face, else first product, else background). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record InitImageView(String role, Integer index, String reason) {
    }

    /** A product shoot: each style's prompt, picture or error, and the totals seed 002's clients read. */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record ShootView(int totalRequested, int totalGenerated, List<StyleView> styles, List<Map<String, String>> errors) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record StyleView(String name, String description, String status, String prompt, FileView output, ErrorView error,
            Double promptCostUsd) {
    }

    /** When a cancel was asked for, what fal answered (OK, CANCELLATION_REQUESTED, ALREADY_COMPLETED, NOT_FOUND), and whether fal may bill. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record CancellationView(Instant requestedAt, String falStatus, Boolean mayBeBilled) {
    }

    /** A stored file: a presigned GET URL plus what Atelier checked about it (a video: its length and whether it has sound). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record FileView(String url, String key, String contentType, Integer width, Integer height, long bytes, String role,
            @Schema(description = "A video's length in seconds, read from its boxes") Double durationSeconds,
            @Schema(description = "Whether a video has a sound track") Boolean hasAudio) {
    }

    public record ErrorView(String code, String message) {
    }

    /** A page of jobs, newest first, and the cursor of the next page (absent on the last). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Page(@Schema(required = true) List<JobView> items,
            @Schema(description = "The cursor of the next page; absent on the last. A page may hold fewer items than the limit, even none, and still have a next one: follow the cursor until it is absent") String nextCursor) {
    }
}
