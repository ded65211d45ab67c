package ai.atelier.jobs;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Table;

import org.hibernate.annotations.JdbcTypeCode;
import org.hibernate.type.SqlTypes;

import io.quarkus.hibernate.reactive.panache.PanacheEntityBase;

/** A generation job, the row that never loses it. Never leaves the service layer: resources get {@link JobView}. */
@Entity
@Table(name = "jobs")
// only changed columns: stages, shoot and categories are also merged by single SQL statements while a job
// runs, and a full-row UPDATE from a stale entity would undo them
@org.hibernate.annotations.DynamicUpdate
public class Job extends PanacheEntityBase {

    public static final String KIND_GENERATE = "generate";
    public static final String KIND_SHOOT = "product_shoot";
    public static final String KIND_LLM = "llm";

    @jakarta.persistence.Id
    public UUID id;

    public String tenant;

    public String model;

    public JobStatus status;

    public String stage;

    public int progress;

    public String prompt;

    @JdbcTypeCode(SqlTypes.JSON)
    public Map<String, Object> params = new LinkedHashMap<>();

    @JdbcTypeCode(SqlTypes.JSON)
    public JobFiles inputs = JobFiles.of(List.of());

    @JdbcTypeCode(SqlTypes.JSON)
    public JobFiles outputs = JobFiles.of(List.of());

    @Column(name = "fal_endpoint")
    public String falEndpoint;

    @Column(name = "fal_request_id")
    public String falRequestId;

    @Column(name = "fal_step")
    public int falStep;

    @Column(name = "error_code")
    public String errorCode;

    @Column(name = "error_message")
    public String errorMessage;

    public String source;

    /** 0 high, 1 normal, 2 low: the order jobs are claimed in. */
    public short priority = 1;

    @Column(name = "cancel_requested_at")
    public Instant cancelRequestedAt;

    /** fal's answer to our cancel: OK (removed from its queue), CANCELLATION_REQUESTED, ALREADY_COMPLETED, NOT_FOUND. */
    @Column(name = "fal_cancel_status")
    public String falCancelStatus;

    /** Whether fal may bill a cancelled job (it had started running, or finished). */
    @Column(name = "may_be_billed")
    public Boolean mayBeBilled;

    @Column(name = "deadline_at")
    public Instant deadlineAt;

    @Column(name = "idempotency_key")
    public String idempotencyKey;

    @Column(name = "request_hash")
    public String requestHash;

    @Column(name = "webhook_url")
    public String webhookUrl;

    /** Comma-separated events the webhook wants: queued, started, completed, failed, cancelled. */
    @Column(name = "webhook_events")
    public String webhookEvents;

    /** generate, product_shoot or llm. */
    public String kind = "generate";

    /** What the request asked of the stages: categorise, prompt_mode, style, styles, vision_model, prompt_model. */
    @JdbcTypeCode(SqlTypes.JSON)
    public Map<String, Object> options = new LinkedHashMap<>();

    /** The nine categories of the product photo, once the categorise stage has run. */
    @JdbcTypeCode(SqlTypes.JSON)
    public Map<String, Object> categories;

    /** The prompt fal received (after the prompt stage); the client's own prompt stays in {@link #prompt}. */
    @Column(name = "final_prompt")
    public String finalPrompt;

    /** Per stage: status, duration, cost, model, error. */
    @JdbcTypeCode(SqlTypes.JSON)
    public Map<String, Object> stages = new LinkedHashMap<>();

    /** A product shoot's per-style state. */
    @JdbcTypeCode(SqlTypes.JSON)
    public Map<String, Object> shoot;

    /** An LLM completion's answer. */
    @JdbcTypeCode(SqlTypes.JSON)
    public Map<String, Object> result;

    /** Which photo became the init image, and why. */
    @Column(name = "init_image")
    @JdbcTypeCode(SqlTypes.JSON)
    public Map<String, Object> initImage;

    public int retries;

    @Column(name = "created_at")
    public Instant createdAt;

    @Column(name = "updated_at")
    public Instant updatedAt;

    @Column(name = "started_at")
    public Instant startedAt;

    @Column(name = "finished_at")
    public Instant finishedAt;
}
