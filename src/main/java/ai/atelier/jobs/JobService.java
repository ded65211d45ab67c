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
import ai.atelier.prompts.Style;
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
            String priority, Integer deadlineSeconds, String idempotencyKey, Webhooks.Spec webhook, StageOptions stages, List<Style> styles) {

        public Submission(String model, String prompt, List<Ingest.Source> images, Map<String, Object> params, String source) {
            this(model, prompt, images, params, source, null, null, null, null, null, null);
        }

        public Submission(String model, String prompt, List<Ingest.Source> images, Map<String, Object> params, String source,
                String priority, Integer deadlineSeconds, String idempotencyKey, Webhooks.Spec webhook) {
            this(model, prompt, images, params, source, priority, deadlineSeconds, idempotencyKey, webhook, null, null);
        }
    }

    /**
     * What a request asks of the categorise and prompt stages: whether to categorise the product photo,
     * a template or an LLM prompt, the style to write it for, and the models to use instead of the defaults.
     */
    public record StageOptions(Boolean categorise, String promptMode, Style style, String visionModel, String promptModel) {
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
    private final String shootModel;
    private final int maxStyles;

    public JobService(ModelCatalog models, Ingest ingest, ObjectStore store, ProgressStore progress, JobRunner runner, Webhooks webhooks,
            io.vertx.mutiny.sqlclient.Pool pool, ai.atelier.config.AtelierConfig config) {
        this.shootModel = config.shoots().model();
        this.maxStyles = config.shoots().maxStyles();
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
        boolean shoot = s.styles() != null;
        ModelStrategy model = models.require(shoot && (s.model() == null || s.model().isBlank()) ? shootModel : s.model());
        String prompt = s.prompt() == null ? null : s.prompt().strip();
        StageOptions stages = s.stages() == null ? new StageOptions(null, null, null, null, null) : s.stages();
        Map<String, Object> options = options(model, stages, shoot, s.images());
        boolean hasReference = s.images().stream().anyMatch(i -> "reference".equals(i.role()));
        boolean promptGiven = prompt != null && !prompt.isEmpty();
        boolean promptWritten = stages.style() != null || shoot || "llm".equals(options.get("prompt_mode"));
        if (!promptGiven && !promptWritten && model.promptRequired()) {
            throw Problem.invalid("missing-prompt", "Missing prompt", "Model " + model.id() + " needs a non-empty prompt");
        }
        if (model.takesReferenceImage()) {
            if (!promptGiven && !promptWritten && !hasReference) {
                throw Problem.invalid("missing-prompt", "Missing prompt", "Model " + model.id() + " needs a prompt, a style or a reference background image");
            }
            if (s.images().size() > 1 && (s.images().size() > 2 || !"reference".equals(s.images().get(s.images().size() - 1).role()))) {
                // the second picture is only ever the reference background, never a guess from its position
                throw Problem.invalid("wrong-image-count", "Wrong number of images", "Model " + model.id()
                        + " takes one photo, plus an optional reference background as reference_image_url");
            }
        }
        if (hasReference && promptGiven) {
            throw Problem.invalid("prompt-and-reference", "Prompt and reference image", "Give a prompt or a reference background image, not both");
        }
        if (shoot && (model.output() != ModelStrategy.Output.IMAGES || !model.acceptsPrompt() || model.endpoints().size() != 1)) {
            throw Problem.invalid("model-not-for-shoots", "Model not usable for a product shoot",
                    "A product shoot needs a model that edits one photo from a prompt, e.g. bria-background-replace or flux-general-i2i");
        }
        if (!model.acceptsPrompt() && prompt != null && !prompt.isEmpty()) {
            throw Problem.invalid("prompt-not-accepted", "Prompt not accepted", "Model " + model.id() + " takes no prompt");
        }
        if (prompt != null && prompt.length() > 10_000) {
            throw Problem.invalid("prompt-too-long", "Prompt too long", "A prompt may have at most 10000 characters");
        }
        int images = s.images().size();
        // photos with seed 004's roles may outnumber what the model takes: the init image and the next ones go, all are kept
        Map<String, Object> init = initImage(s.images());
        if (images < model.minImages() || (images > model.maxImages() && init == null)) {
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
        Map<String, Object> shootState = shoot ? shootState(s.styles()) : null;
        Map<String, Object> hashed = new LinkedHashMap<>(tuned);
        hashed.put("$options", options);
        hashed.put("$shoot", shootState);
        return webhooks.check(s.webhook()).chain(webhook -> {
            Prepared p = new Prepared(model, prompt, tuned, priority, options, shootState, webhook, init);
            if (key == null) {
                return create(tenant, p, s, null, null).map(j -> new Submitted(j, false));
            }
            String hash = RequestHash.of(model.id(), prompt, hashed, priority, s.deadlineSeconds(), s.images(), webhook);
            return findByKey(tenant, key)
                    .chain(existing -> existing != null
                            ? Uni.createFrom().item(replay(existing, hash))
                            : create(tenant, p, s, key, hash).map(j -> new Submitted(j, false))
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

    /** A checked request, ready to be stored. */
    private record Prepared(ModelStrategy model, String prompt, Map<String, Object> tuned, short priority, Map<String, Object> options,
            Map<String, Object> shoot, Webhooks.Spec webhook, Map<String, Object> init) {
    }

    /** The stage options as the job row keeps them; checked here so a bad one is a 422 at submit, not a failed job. */
    private Map<String, Object> options(ModelStrategy model, StageOptions o, boolean shoot, List<Ingest.Source> images) {
        Map<String, Object> options = new LinkedHashMap<>();
        boolean categorise = o.categorise() != null ? o.categorise() : shoot;
        if (categorise) {
            if (images.isEmpty() || model.output() != ModelStrategy.Output.IMAGES) {
                throw Problem.invalid("nothing-to-categorise", "Nothing to categorise", "categorise needs a product image and an image model");
            }
            options.put("categorise", true);
        }
        if (o.promptMode() != null && !o.promptMode().isBlank()) {
            if (!List.of("template", "llm").contains(o.promptMode())) {
                throw Problem.invalid("invalid-prompt-mode", "Invalid prompt mode", "prompt_mode must be template or llm");
            }
            if (!model.acceptsPrompt() || model.output() != ModelStrategy.Output.IMAGES) {
                throw Problem.invalid("prompt-not-accepted", "Prompt not accepted", "Model " + model.id() + " takes no written prompt");
            }
            options.put("prompt_mode", o.promptMode());
        }
        if (o.style() != null) {
            if (shoot) {
                throw Problem.invalid("style-and-styles", "style and styles", "A product shoot takes styles, not style");
            }
            if (!model.acceptsPrompt() || model.output() != ModelStrategy.Output.IMAGES) {
                throw Problem.invalid("prompt-not-accepted", "Prompt not accepted", "Model " + model.id() + " takes no style: it has no prompt");
            }
            options.put("style", checkStyle(o.style(), "style"));
        }
        putModel(options, "vision_model", o.visionModel());
        putModel(options, "prompt_model", o.promptModel());
        return options;
    }

    private static void putModel(Map<String, Object> options, String key, String model) {
        if (model == null || model.isBlank()) {
            return;
        }
        if (model.length() > 200 || !model.matches("[A-Za-z0-9._:/\\-]+")) {
            throw Problem.invalid("invalid-llm-model", "Invalid LLM model", key + " must be an OpenRouter model id such as openai/gpt-5-mini");
        }
        options.put(key, model.strip());
    }

    private static Map<String, Object> checkStyle(Style style, String field) {
        if (style == null) {
            throw Problem.invalid("invalid-style", "Invalid style", field + " must be an object {\"name\", \"description\"}");
        }
        String name = style.name() == null ? "" : style.name().strip();
        String description = style.description() == null ? "" : style.description().strip();
        if (name.isEmpty() || name.length() > 60) {
            throw Problem.invalid("invalid-style", "Invalid style", field + ".name must have 1 to 60 characters");
        }
        if (description.isEmpty() || description.length() > 1000) {
            throw Problem.invalid("invalid-style", "Invalid style", field + ".description must have 1 to 1000 characters");
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("description", description);
        return m;
    }

    private Map<String, Object> shootState(List<Style> requested) {
        List<Style> styles = requested.isEmpty() ? Style.DEFAULTS : requested;
        if (styles.size() > maxStyles) {
            throw Problem.invalid("too-many-styles", "Too many styles", "A product shoot takes at most " + maxStyles + " styles");
        }
        List<Map<String, Object>> list = new ArrayList<>();
        java.util.Set<String> names = new java.util.HashSet<>();
        for (int i = 0; i < styles.size(); i++) {
            Map<String, Object> style = checkStyle(styles.get(i), "styles[" + i + "]");
            if (!names.add(style.get("name").toString().toLowerCase(java.util.Locale.ROOT))) {
                throw Problem.invalid("duplicate-style", "Duplicate style", "Style names must differ; '" + style.get("name") + "' is given twice");
            }
            style.put("status", "pending");
            list.add(style);
        }
        Map<String, Object> shoot = new LinkedHashMap<>();
        shoot.put("styles", list);
        return shoot;
    }

    /**
     * Seed 004's rule for a request with several photos: the init image is the face photo, else the first
     * product photo, else the background photo. The init image goes first (it is what a one-image model
     * gets); the choice and the reason are recorded on the job.
     */
    static Map<String, Object> initImage(List<Ingest.Source> images) {
        for (String role : List.of("face", "product", "background")) {
            for (int i = 0; i < images.size(); i++) {
                if (role.equals(images.get(i).role())) {
                    Map<String, Object> choice = new LinkedHashMap<>();
                    choice.put("role", role);
                    choice.put("index", i);
                    choice.put("reason", switch (role) {
                        case "face" -> "a face photo was given: it is the init image";
                        case "product" -> "no face photo: the first product photo is the init image";
                        default -> "no face or product photo: the background photo is the init image";
                    });
                    return choice;
                }
            }
        }
        return null;
    }

    /** The images with the init image first, the others after it in their order. */
    static List<Ingest.Source> initFirst(List<Ingest.Source> images, Map<String, Object> init) {
        if (init == null || (int) init.get("index") == 0) {
            return images;
        }
        List<Ingest.Source> ordered = new ArrayList<>();
        ordered.add(images.get((int) init.get("index")));
        for (int i = 0; i < images.size(); i++) {
            if (i != (int) init.get("index")) {
                ordered.add(images.get(i));
            }
        }
        return ordered;
    }

    private Uni<JobView> create(String tenant, Prepared p, Submission s, String key, String hash) {
        UUID id = UUID.randomUUID();
        ModelStrategy model = p.model();
        String prompt = p.prompt();
        Map<String, Object> tuned = p.tuned();
        short priority = p.priority();
        Webhooks.Spec webhook = p.webhook();
        Map<String, Object> init = p.init() == null ? null : new LinkedHashMap<>(p.init());
        return ingest.ingest(id, initFirst(s.images(), init))
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
                    job.kind = p.shoot() != null ? Job.KIND_SHOOT : model.output() == ModelStrategy.Output.TEXT ? Job.KIND_LLM : Job.KIND_GENERATE;
                    job.options = new LinkedHashMap<>(p.options());
                    job.shoot = p.shoot();
                    if (init != null) {
                        init.put("input_key", inputs.get(0).key());
                        init.put("sent_to_model", Math.min(inputs.size(), model.maxImages()));
                    }
                    job.initImage = init;
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
                    Log.infof("job %s: accepted %s%s with %d input(s)", job.id, job.kind.equals(Job.KIND_GENERATE) ? "" : job.kind + " on ", job.model,
                            job.inputs.items().size());
                    if (job.initImage != null) {
                        Log.infof("job %s: init image is the %s photo (%s)", job.id, job.initImage.get("role"), job.initImage.get("reason"));
                    }
                    runner.poke();
                })
                .map(job -> view(job, null));
    }

    /** Failures a fal request may outlive: its result may still come, so a retry waits for it instead of paying again. */
    private static final java.util.Set<String> TRANSIENT = java.util.Set.of("fal_deadline", "fal_unreachable", "fal_circuit_open");

    /**
     * Runs a failed job again from the stage that failed. What the earlier stages produced (categories,
     * the prompt, a shoot's finished styles) is kept and not paid for again; the failed stage's own fal
     * request is dropped, unless the failure was one the request may have outlived (fal unreachable, a
     * deadline), in which case the retry waits for that request.
     */
    @SuppressWarnings("unchecked")
    public Uni<JobView> retry(String tenant, UUID id) {
        return Panache.withTransaction(() -> Job.<Job>find("id = ?1 and tenant = ?2", id, tenant)
                .withLock(jakarta.persistence.LockModeType.PESSIMISTIC_WRITE).firstResult()
                .onItem().ifNull().failWith(() -> Problem.notFound("There is no job " + id))
                .invoke(job -> {
                    if (job.status != JobStatus.FAILED) {
                        throw new Problem(409, "job-not-failed", "Job not failed", "Only a failed job can be retried; job " + id + " is "
                                + job.status.wire()).with("status", job.status.wire());
                    }
                    boolean keepRequests = TRANSIENT.contains(job.errorCode);
                    Map<String, Object> stages = new LinkedHashMap<>(job.stages);
                    String failedStage = null;
                    for (Map.Entry<String, Object> e : stages.entrySet()) {
                        if (e.getValue() instanceof Map<?, ?> m && "failed".equals(m.get("status"))) {
                            failedStage = e.getKey();
                            Map<String, Object> entry = new LinkedHashMap<>((Map<String, Object>) m);
                            entry.put("status", "retrying");
                            if (!keepRequests) {
                                entry.remove("fal_request_id");
                            }
                            e.setValue(entry);
                        }
                    }
                    job.stages = stages;
                    if ("infer".equals(failedStage) && !keepRequests) {
                        job.falRequestId = null;
                        job.falEndpoint = null;
                        job.falStep = 0;
                    }
                    if (job.shoot != null) {
                        List<Map<String, Object>> styles = new ArrayList<>();
                        for (Map<String, Object> st : ProductShoots.styles(job)) {
                            if ("failed".equals(st.get("status"))) {
                                // each style by its own failure: one that may have outlived its error keeps its request
                                boolean keepStyle = st.get("error") instanceof Map<?, ?> err && TRANSIENT.contains(err.get("code"));
                                st.put("status", "pending");
                                st.remove("error");
                                if (!keepStyle) {
                                    st.remove("fal_request_id");
                                    st.remove("prompt_request_id");
                                }
                            }
                            styles.add(st);
                        }
                        Map<String, Object> shoot = new LinkedHashMap<>(job.shoot);
                        shoot.put("styles", styles);
                        job.shoot = shoot;
                    }
                    Log.infof("job %s: retried by the client (retry %d), resuming at %s", id, job.retries + 1, failedStage);
                    job.status = JobStatus.QUEUED;
                    job.stage = "queued";
                    job.errorCode = null;
                    job.errorMessage = null;
                    job.finishedAt = null;
                    job.retries++;
                    job.updatedAt = Instant.now();
                }))
                // a failed job's lease may still run for a while; the retry should not wait for it
                .call(() -> pool.preparedQuery("update jobs set lease_owner = null, lease_until = null where id = $1")
                        .execute(io.vertx.mutiny.sqlclient.Tuple.of(id)))
                .call(() -> progress.put(id, new Progress("queued", "queued", 10, "Retrying", null, List.of(), Instant.now()))
                        .onFailure().recoverWithNull())
                .invoke(runner::poke)
                .chain(() -> get(tenant, id));
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
                              request_hash, webhook_url, webhook_events, deadline_at, created_at, updated_at, kind, options, shoot, init_image)
            values ($1, $2, $3, 'queued', $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11, $12, $13, $14, $15, $16, $16, $17, $18::jsonb,
                    $19::jsonb, $20::jsonb)""";

    /**
     * The hot path of every submit: one prepared INSERT through the reactive client. Through a Hibernate
     * session and transaction the same insert cost three round trips and most of the accept path's CPU
     * (InFlightBenchmark accept-only: 875 jobs/s that way, 1,219 this way); reads and updates stay in Panache.
     */
    private Uni<Void> insert(Job job) {
        io.vertx.mutiny.sqlclient.Tuple row = io.vertx.mutiny.sqlclient.Tuple.tuple().addUUID(job.id).addString(job.tenant)
                    .addString(job.model).addString(job.stage).addInteger(job.progress).addString(job.prompt)
                    // JsonObject, not String: the client would encode a String as a JSON string literal
                    .addJsonObject(Columns.json(job.params)).addJsonObject(Columns.json(job.inputs))
                    .addString(job.source).addShort(job.priority).addString(job.idempotencyKey).addString(job.requestHash)
                    .addString(job.webhookUrl).addString(job.webhookEvents)
                    .addOffsetDateTime(job.deadlineAt == null ? null : job.deadlineAt.atOffset(java.time.ZoneOffset.UTC))
                    .addOffsetDateTime(job.createdAt.atOffset(java.time.ZoneOffset.UTC))
                    .addString(job.kind).addJsonObject(Columns.json(job.options)).addJsonObject(Columns.json(job.shoot))
                .addJsonObject(Columns.json(job.initImage));
        return pool.preparedQuery(INSERT).execute(row).replaceWithVoid();
    }

    JobView view(Job job, Progress live) {
        // live progress completes a running row; a terminal state comes only from the row (Redis may say
        // "failed" a moment before a row read earlier in this request does, without the error it carries)
        boolean useLive = live != null && !job.status.terminal() && !java.util.Set.of("succeeded", "failed", "cancelled").contains(live.status());
        return new JobView(job.id, job.model, priorityWord(job.priority), useLive && live.status() != null ? live.status() : job.status.wire(),
                useLive ? live.stage() : job.stage, useLive ? Math.max(live.percent(), job.progress) : job.progress,
                useLive ? live.message() : job.status == JobStatus.FAILED ? job.errorMessage : null,
                useLive ? live.queuePosition() : null, job.prompt, job.params, files(job.inputs.items()), files(job.outputs.items()),
                job.errorCode == null ? null : new JobView.ErrorView(job.errorCode, job.errorMessage), job.falRequestId,
                useLive && live.logs() != null && !live.logs().isEmpty() ? live.logs() : null,
                job.createdAt, job.updatedAt, job.finishedAt, job.deadlineAt,
                job.cancelRequestedAt == null ? null : new JobView.CancellationView(job.cancelRequestedAt, job.falCancelStatus, job.mayBeBilled),
                job.kind, ordered(job.categories), job.finalPrompt,
                job.initImage == null ? null : new JobView.InitImageView(String.valueOf(job.initImage.get("role")),
                        job.initImage.get("index") instanceof Number n ? n.intValue() : null, String.valueOf(job.initImage.get("reason"))),
                job.stages == null || job.stages.isEmpty() ? null : job.stages, cost(job), shootView(job), job.result,
                job.retries == 0 ? null : job.retries);
    }

    /** The categories in seed 002's order (jsonb keeps its own key order). */
    private static Map<String, Object> ordered(Map<String, Object> categories) {
        if (categories == null) {
            return null;
        }
        Map<String, Object> out = new LinkedHashMap<>();
        ai.atelier.prompts.Categories.KEYS.forEach(k -> {
            if (categories.containsKey(k)) {
                out.put(k, categories.get(k));
            }
        });
        categories.forEach(out::putIfAbsent);
        return out;
    }

    /** What the job's LLM calls cost so far, as fal's router reported it (image generation is billed by fal per model, not reported). */
    private static Double cost(Job job) {
        double total = 0;
        boolean any = false;
        if (job.stages != null) {
            for (Object stage : job.stages.values()) {
                if (stage instanceof Map<?, ?> m && m.get("cost_usd") instanceof Number n) {
                    total += n.doubleValue();
                    any = true;
                }
            }
        }
        for (Map<String, Object> style : ProductShoots.styles(job)) {
            if (style.get("prompt_cost_usd") instanceof Number n) {
                total += n.doubleValue();
                any = true;
            }
        }
        return any ? java.math.BigDecimal.valueOf(total).setScale(8, java.math.RoundingMode.HALF_UP).doubleValue() : null;
    }

    private JobView.ShootView shootView(Job job) {
        if (job.shoot == null) {
            return null;
        }
        List<JobView.StyleView> styles = new ArrayList<>();
        List<Map<String, String>> errors = new ArrayList<>();
        int generated = 0;
        for (Map<String, Object> st : ProductShoots.styles(job)) {
            JobView.FileView output = null;
            if (st.get("output") instanceof Map<?, ?> out) {
                output = files(List.of(Columns.file(out))).get(0);
                generated++;
            }
            JobView.ErrorView error = null;
            if (st.get("error") instanceof Map<?, ?> e && e.get("message") != null) {
                error = new JobView.ErrorView(String.valueOf(e.get("code")), String.valueOf(e.get("message")));
                errors.add(Map.of("style", String.valueOf(st.get("name")), "error", error.message()));
            }
            styles.add(new JobView.StyleView(String.valueOf(st.get("name")), String.valueOf(st.get("description")), String.valueOf(st.get("status")),
                    (String) st.get("prompt"), output, error, st.get("prompt_cost_usd") instanceof Number n ? n.doubleValue() : null));
        }
        return new JobView.ShootView(styles.size(), generated, styles, errors.isEmpty() ? null : errors);
    }

    private List<JobView.FileView> files(List<JobFile> files) {
        return files.stream().map(f -> new JobView.FileView(store.presignGet(f.key()), f.key(), f.contentType(), f.width(), f.height(),
                f.bytes(), f.role())).toList();
    }
}
