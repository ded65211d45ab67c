package ai.atelier.jobs;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A generation job as its row holds it: PostgreSQL is the truth, this is the copy a request or a run
 * works on. Loaded and written only by {@link JobRepository}; never leaves the service layer (resources
 * get {@link JobView}).
 */
public class Job {

    public static final String KIND_GENERATE = "generate";
    public static final String KIND_SHOOT = "product_shoot";
    public static final String KIND_LLM = "llm";

    public UUID id;
    public String tenant;
    public String model;
    public JobStatus status;
    public String stage;
    public int progress;
    public String prompt;
    public Map<String, Object> params = new LinkedHashMap<>();
    public JobFiles inputs = JobFiles.of(List.of());
    public JobFiles outputs = JobFiles.of(List.of());
    public String falEndpoint;
    public String falRequestId;
    public int falStep;
    public String errorCode;
    public String errorMessage;
    public String source = "api";
    /** 0 high, 1 normal, 2 low: the order jobs are claimed in. */
    public short priority = 1;
    public Instant cancelRequestedAt;
    /** fal's answer to our cancel: OK (removed from its queue), CANCELLATION_REQUESTED, ALREADY_COMPLETED, NOT_FOUND. */
    public String falCancelStatus;
    /** Whether fal may bill a cancelled job (it had started running, or finished). */
    public Boolean mayBeBilled;
    public Instant deadlineAt;
    public String idempotencyKey;
    public String requestHash;
    public String webhookUrl;
    /** Comma-separated events the webhook wants: queued, started, completed, failed, cancelled. */
    public String webhookEvents;
    /** generate, product_shoot or llm. */
    public String kind = KIND_GENERATE;
    /** What the request asked of the stages: categorise, prompt_mode, style, vision_model, prompt_model. */
    public Map<String, Object> options = new LinkedHashMap<>();
    /** The nine categories of the product photo, once the categorise stage has run. */
    public Map<String, Object> categories;
    /** The prompt fal received (after the prompt stage); the client's own prompt stays in {@link #prompt}. */
    public String finalPrompt;
    /** Per stage: status, duration, cost, model, fal request id, error. */
    public Map<String, Object> stages = new LinkedHashMap<>();
    /** A product shoot's per-style state. */
    public Map<String, Object> shoot;
    /** An LLM completion's answer. */
    public Map<String, Object> result;
    /** Which photo became the init image, and why. */
    public Map<String, Object> initImage;
    public int retries;
    /** The key that submitted the job (null for the anonymous tenant). */
    public java.util.UUID apiKeyId;
    /** What the job was expected to cost when it was accepted: it counts against the tenant's budget until the job ends. */
    public java.math.BigDecimal expectedCostUsd;
    /** The W3C traceparent of the request that submitted the job: every run continues that trace. */
    public String traceParent;
    /** What the job's fal calls cost, from fal's figures (the sum of its ledger rows). */
    public java.math.BigDecimal costUsd;
    /** How many times an instance claimed the job (a fencing count: 1 unless an instance died or handed it back). */
    public int claims;
    /** Every request the job made at fal, by place: the one home of its fal request ids (see {@link FalRequests}). */
    public FalRequests falRequests = FalRequests.NONE;
    /**
     * Whether the row has its own {@code fal_requests}; false for a job the previous version made, whose requests
     * were read from where that version kept them (its first statement here then writes them all).
     */
    public boolean falRequestsStored = true;
    /** The batch that made the job (null for one submitted on its own), and the client's id for it in that batch. */
    public UUID batchId;
    public String customId;
    /** Its place in its batch's request (0, 1, …): the order a batch's jobs and results are read in. */
    public Integer batchIndex;
    public Instant createdAt;
    public Instant updatedAt;
    public Instant startedAt;
    public Instant finishedAt;

    /** The stage's record in {@link #stages}, or null. */
    @SuppressWarnings("unchecked")
    public Map<String, Object> stageEntry(String stage) {
        return stages != null && stages.get(stage) instanceof Map<?, ?> m ? (Map<String, Object>) m : null;
    }

    /** Whether the webhook (if any) wants this event. */
    public boolean wantsWebhook(String event) {
        return webhookUrl != null && (webhookEvents == null || List.of(webhookEvents.split(",")).contains(event));
    }
}
