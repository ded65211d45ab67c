package ai.atelier.jobs;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;

import ai.atelier.ingest.Ingest;
import ai.atelier.models.ModelCatalog;
import ai.atelier.models.ModelStrategy;
import ai.atelier.problem.Problem;
import ai.atelier.progress.Progress;
import ai.atelier.progress.ProgressStore;
import ai.atelier.storage.ObjectStore;
import ai.atelier.webhooks.Webhooks;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.logging.Log;
import io.quarkus.panache.common.Parameters;
import io.smallrye.mutiny.Uni;

/**
 * Accepting, reading and listing jobs. A job is accepted only once its inputs are checked and in S3
 * and its row is committed; then the runner takes it.
 */
@ApplicationScoped
public class JobService {

    /** Until API keys arrive every job belongs to this tenant. */
    public static final String DEFAULT_TENANT = "default";

    /** A request to generate, however it arrived (JSON, multipart, a seed's route). */
    public record Submission(String model, String prompt, List<Ingest.Source> images, Map<String, Object> params, String source,
            String priority, Integer deadlineSeconds, String idempotencyKey, Webhooks.Spec webhook) {

        public Submission(String model, String prompt, List<Ingest.Source> images, Map<String, Object> params, String source) {
            this(model, prompt, images, params, source, null, null, null, null);
        }
    }

    /** An accepted job, and whether it is the replay of an earlier request with the same Idempotency-Key. */
    public record Submitted(JobView job, boolean replayed) {
    }

    /** Claim order: high before normal before low. */
    static short priority(String word) {
        if (word == null || word.isBlank()) {
            return 1;
        }
        return switch (word.toLowerCase(java.util.Locale.ROOT)) {
            case "high" -> 0;
            case "normal" -> 1;
            case "low" -> 2;
            default -> throw Problem.invalid("invalid-priority", "Invalid priority", "priority must be high, normal or low");
        };
    }

    static String priorityWord(short p) {
        return p == 0 ? "high" : p == 2 ? "low" : "normal";
    }

    private final ModelCatalog models;
    private final Ingest ingest;
    private final ObjectStore store;
    private final ProgressStore progress;
    private final JobRunner runner;
    private final Webhooks webhooks;
    private final io.vertx.mutiny.sqlclient.Pool pool;

    public JobService(ModelCatalog models, Ingest ingest, ObjectStore store, ProgressStore progress, JobRunner runner, Webhooks webhooks,
            io.vertx.mutiny.sqlclient.Pool pool) {
        this.webhooks = webhooks;
        this.pool = pool;
        this.models = models;
        this.ingest = ingest;
        this.store = store;
        this.progress = progress;
        this.runner = runner;
    }

    public Uni<JobView> submit(String tenant, Submission s) {
        return accept(tenant, s).map(Submitted::job);
    }

    /**
     * Checks a request, stores its inputs and commits the job; with an Idempotency-Key, the same key and
     * the same request answer the original job (no second job, no second fal call), the same key with a
     * different request is a 422.
     */
    public Uni<Submitted> accept(String tenant, Submission s) {
        ModelStrategy model = models.require(s.model());
        String prompt = s.prompt() == null ? null : s.prompt().strip();
        if (model.promptRequired() && (prompt == null || prompt.isEmpty())) {
            throw Problem.invalid("missing-prompt", "Missing prompt", "Model " + model.id() + " needs a non-empty prompt");
        }
        if (!model.acceptsPrompt() && prompt != null && !prompt.isEmpty()) {
            throw Problem.invalid("prompt-not-accepted", "Prompt not accepted", "Model " + model.id() + " takes no prompt");
        }
        if (prompt != null && prompt.length() > 10_000) {
            throw Problem.invalid("prompt-too-long", "Prompt too long", "A prompt may have at most 10000 characters");
        }
        int images = s.images().size();
        if (images < model.minImages() || images > model.maxImages()) {
            throw Problem.invalid("wrong-image-count", "Wrong number of images", "Model " + model.id() + " takes "
                    + (model.minImages() == model.maxImages() ? String.valueOf(model.minImages()) : model.minImages() + " to " + model.maxImages())
                    + " image(s); the request has " + images);
        }
        if (s.deadlineSeconds() != null && (s.deadlineSeconds() < 1 || s.deadlineSeconds() > 86_400)) {
            throw Problem.invalid("invalid-deadline", "Invalid deadline", "deadline_seconds must be from 1 to 86400");
        }
        String key = s.idempotencyKey() == null || s.idempotencyKey().isBlank() ? null : s.idempotencyKey().strip();
        if (key != null && key.length() > 255) {
            throw Problem.badRequest("invalid-idempotency-key", "Invalid Idempotency-Key", "An Idempotency-Key has at most 255 characters");
        }
        Map<String, Object> tuned = ModelCatalog.check(model, s.params());
        short priority = priority(s.priority());
        return webhooks.check(s.webhook()).chain(webhook -> {
            if (key == null) {
                return create(tenant, model, prompt, tuned, priority, s, webhook, null, null).map(j -> new Submitted(j, false));
            }
            String hash = RequestHash.of(model.id(), prompt, tuned, priority, s.deadlineSeconds(), s.images(), webhook);
            return findByKey(tenant, key)
                    .chain(existing -> existing != null
                            ? Uni.createFrom().item(replay(existing, hash))
                            : create(tenant, model, prompt, tuned, priority, s, webhook, key, hash).map(j -> new Submitted(j, false))
                                    // a concurrent request with the same key won the insert: answer its job
                                    .onFailure(JobService::isDuplicateKey).recoverWithUni(() -> findByKey(tenant, key).map(j -> replay(j, hash))));
        });
    }

    private Uni<Job> findByKey(String tenant, String key) {
        return Panache.withSession(() -> Job.<Job>find("tenant = ?1 and idempotencyKey = ?2", tenant, key).firstResult());
    }

    private Submitted replay(Job existing, String hash) {
        if (!hash.equals(existing.requestHash)) {
            throw Problem.invalid("idempotency-key-reused", "Idempotency-Key reused",
                    "This Idempotency-Key was used for a different request (job " + existing.id + "); use a new key for a new request")
                    .with("job_id", existing.id.toString());
        }
        return new Submitted(view(existing, null), true);
    }

    private static boolean isDuplicateKey(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            String m = String.valueOf(c.getMessage());
            if (m.contains("jobs_idempotency") || m.contains("23505")) {
                return true;
            }
        }
        return false;
    }

    private Uni<JobView> create(String tenant, ModelStrategy model, String prompt, Map<String, Object> tuned, short priority, Submission s,
            Webhooks.Spec webhook, String key, String hash) {
        UUID id = UUID.randomUUID();
        return ingest.ingest(id, s.images())
                .map(inputs -> {
                    Job job = new Job();
                    job.id = id;
                    job.tenant = tenant;
                    job.model = model.id();
                    job.status = JobStatus.QUEUED;
                    job.stage = "ingest";
                    job.progress = 10;
                    job.prompt = model.acceptsPrompt() ? prompt : null;
                    job.params = new LinkedHashMap<>(tuned);
                    job.inputs = JobFiles.of(inputs);
                    job.source = s.source();
                    job.priority = priority;
                    job.idempotencyKey = key;
                    job.requestHash = hash;
                    if (webhook != null) {
                        job.webhookUrl = webhook.url();
                        job.webhookEvents = String.join(",", webhook.events());
                    }
                    job.createdAt = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MICROS);
                    job.updatedAt = job.createdAt;
                    if (s.deadlineSeconds() != null) {
                        job.deadlineAt = job.createdAt.plusSeconds(s.deadlineSeconds());
                    }
                    return job;
                })
                .call(this::insert)
                .call(job -> progress.put(job.id, new Progress("queued", "ingest", 10, "Queued", null, List.of(), Instant.now()))
                        .onFailure().recoverWithNull())
                .call(job -> job.webhookUrl == null ? Uni.createFrom().voidItem() : webhooks.enqueue(job.id, "queued"))
                .invoke(job -> {
                    Log.infof("job %s: accepted %s with %d input(s)", job.id, job.model, job.inputs.items().size());
                    runner.poke();
                })
                .map(job -> view(job, null));
    }

    public Uni<JobView> get(String tenant, UUID id) {
        return Panache.withSession(() -> Job.<Job>find("id = ?1 and tenant = ?2", id, tenant).firstResult())
                .onItem().ifNull().failWith(() -> Problem.notFound("There is no job " + id))
                .chain(job -> job.status.terminal()
                        ? Uni.createFrom().item(view(job, null))
                        : progress.get(id).map(p -> view(job, p)));
    }

    public Uni<JobView.Page> list(String tenant, String status, String model, String cursor, int limit) {
        if (limit < 1 || limit > 100) {
            throw Problem.invalid("invalid-limit", "Invalid limit", "limit must be from 1 to 100");
        }
        StringBuilder q = new StringBuilder("tenant = :tenant");
        Parameters params = Parameters.with("tenant", tenant);
        if (status != null && !status.isBlank()) {
            try {
                params.and("status", JobStatus.parse(status));
            } catch (IllegalArgumentException e) {
                throw Problem.invalid("invalid-status", "Invalid status", "status must be one of queued, running, succeeded, failed, cancelled");
            }
            q.append(" and status = :status");
        }
        if (model != null && !model.isBlank()) {
            params.and("model", models.require(model).id());
            q.append(" and model = :model");
        }
        if (cursor != null && !cursor.isBlank()) {
            Cursor c = Cursor.decode(cursor);
            q.append(" and (createdAt < :at or (createdAt = :at and id < :id))");
            params.and("at", c.createdAt()).and("id", c.id());
        }
        q.append(" order by createdAt desc, id desc");
        // range() is inclusive: this reads limit + 1 rows, the extra one only says whether a next page exists
        return Panache.withSession(() -> Job.<Job>find(q.toString(), params).range(0, limit).list())
                .map(jobs -> {
                    List<Job> page = jobs.subList(0, Math.min(limit, jobs.size()));
                    String next = jobs.size() > limit ? Cursor.of(page.get(page.size() - 1)).encode() : null;
                    return new JobView.Page(page.stream().map(j -> view(j, null)).toList(), next);
                });
    }

    /** Keyset cursor: the (created_at, id) of the last job of a page, opaque to clients. */
    record Cursor(Instant createdAt, UUID id) {
        static Cursor of(Job job) {
            return new Cursor(job.createdAt, job.id);
        }

        String encode() {
            ByteBuffer b = ByteBuffer.allocate(28).putLong(createdAt.getEpochSecond()).putInt(createdAt.getNano())
                    .putLong(id.getMostSignificantBits()).putLong(id.getLeastSignificantBits());
            return Base64.getUrlEncoder().withoutPadding().encodeToString(b.array());
        }

        static Cursor decode(String s) {
            try {
                ByteBuffer b = ByteBuffer.wrap(Base64.getUrlDecoder().decode(s));
                return new Cursor(Instant.ofEpochSecond(b.getLong(), b.getInt()), new UUID(b.getLong(), b.getLong()));
            } catch (RuntimeException e) {
                throw Problem.invalid("invalid-cursor", "Invalid cursor", "The cursor is not one this API handed out");
            }
        }
    }

    private static final String INSERT = """
            insert into jobs (id, tenant, model, status, stage, progress, prompt, params, inputs, source, priority, idempotency_key,
                              request_hash, webhook_url, webhook_events, deadline_at, created_at, updated_at)
            values ($1, $2, $3, 'queued', $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11, $12, $13, $14, $15, $16, $16)""";
    /** The JSON columns' format is Hibernate's (plain Jackson, field names as declared), not the REST API's snake_case. */
    private static final com.fasterxml.jackson.databind.ObjectMapper COLUMNS = new com.fasterxml.jackson.databind.ObjectMapper();

    /**
     * The hot path of every submit: one prepared INSERT through the reactive client. Through a Hibernate
     * session and transaction the same insert cost three round trips and most of the accept path's CPU
     * (InFlightBenchmark accept-only: 875 jobs/s that way, 1,219 this way); reads and updates stay in Panache.
     */
    private Uni<Void> insert(Job job) {
        try {
            io.vertx.mutiny.sqlclient.Tuple row = io.vertx.mutiny.sqlclient.Tuple.tuple().addUUID(job.id).addString(job.tenant)
                    .addString(job.model).addString(job.stage).addInteger(job.progress).addString(job.prompt)
                    // JsonObject, not String: the client would encode a String as a JSON string literal
                    .addJsonObject(new io.vertx.core.json.JsonObject(COLUMNS.writeValueAsString(job.params)))
                    .addJsonObject(new io.vertx.core.json.JsonObject(COLUMNS.writeValueAsString(job.inputs)))
                    .addString(job.source).addShort(job.priority).addString(job.idempotencyKey).addString(job.requestHash)
                    .addString(job.webhookUrl).addString(job.webhookEvents)
                    .addOffsetDateTime(job.deadlineAt == null ? null : job.deadlineAt.atOffset(java.time.ZoneOffset.UTC))
                    .addOffsetDateTime(job.createdAt.atOffset(java.time.ZoneOffset.UTC));
            return pool.preparedQuery(INSERT).execute(row).replaceWithVoid();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return Uni.createFrom().failure(e);
        }
    }

    JobView view(Job job, Progress live) {
        boolean useLive = live != null && !job.status.terminal();
        return new JobView(job.id, job.model, priorityWord(job.priority), useLive && live.status() != null ? live.status() : job.status.wire(),
                useLive ? live.stage() : job.stage, useLive ? Math.max(live.percent(), job.progress) : job.progress,
                useLive ? live.message() : job.status == JobStatus.FAILED ? job.errorMessage : null,
                useLive ? live.queuePosition() : null, job.prompt, job.params, files(job.inputs.items()), files(job.outputs.items()),
                job.errorCode == null ? null : new JobView.ErrorView(job.errorCode, job.errorMessage), job.falRequestId,
                useLive && live.logs() != null && !live.logs().isEmpty() ? live.logs() : null,
                job.createdAt, job.updatedAt, job.finishedAt, job.deadlineAt,
                job.cancelRequestedAt == null ? null : new JobView.CancellationView(job.cancelRequestedAt, job.falCancelStatus, job.mayBeBilled));
    }

    private List<JobView.FileView> files(List<JobFile> files) {
        return files.stream().map(f -> new JobView.FileView(store.presignGet(f.key()), f.key(), f.contentType(), f.width(), f.height(),
                f.bytes(), f.role())).toList();
    }
}
