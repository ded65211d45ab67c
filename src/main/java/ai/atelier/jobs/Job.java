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
public class Job extends PanacheEntityBase {

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

    @Column(name = "created_at")
    public Instant createdAt;

    @Column(name = "updated_at")
    public Instant updatedAt;

    @Column(name = "started_at")
    public Instant startedAt;

    @Column(name = "finished_at")
    public Instant finishedAt;
}
