package ai.atelier.jobs;

import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;

import ai.atelier.auth.Caller;
import ai.atelier.ingest.Ingest;
import ai.atelier.models.ModelCatalog;
import ai.atelier.models.ModelStrategy;
import ai.atelier.problem.Problem;
import ai.atelier.prompts.Style;
import ai.atelier.jobs.engine.JobRunner;
import ai.atelier.models.InputRules;
import ai.atelier.progress.ProgressStore;
import ai.atelier.usage.Quotes;
import ai.atelier.webhooks.Webhooks;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;

/**
 * Accepting, reading and listing jobs. A job is accepted only once its inputs are checked and in S3
 * and its row is committed (one statement); a job accepted while this instance has room is its own from
 * that statement and starts at once. A status read is one Redis read while the job's live view is there,
 * else one indexed row read.
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

    private final ModelCatalog models;
    private final Ingest ingest;
    private final JobRepository jobs;
    private final JobTransitions transitions;
    private final JobViews views;
    private final LiveViews live;
    private final ProgressStore store;
    private final JobRunner runner;
    private final Webhooks webhooks;
    private final Quotes quotes;
    private final ai.atelier.auth.Tenants tenants;
    private final ai.atelier.usage.Ledger ledger;
    private final ai.atelier.telemetry.Traces traces;
    private final ai.atelier.telemetry.JobMetrics metrics;
    private final String shootModel;
    private final int maxStyles;
    private final double leaseSeconds;

    public JobService(ModelCatalog models, Ingest ingest, JobRepository jobs, JobTransitions transitions, JobViews views, LiveViews live,
            ProgressStore store, JobRunner runner, Webhooks webhooks,
            Quotes quotes, ai.atelier.auth.Tenants tenants, ai.atelier.usage.Ledger ledger, ai.atelier.config.AtelierConfig config,
            ai.atelier.telemetry.Traces traces, ai.atelier.telemetry.JobMetrics metrics) {
        this.traces = traces;
        this.metrics = metrics;
        this.quotes = quotes;
        this.tenants = tenants;
        this.ledger = ledger;
        this.models = models;
        this.ingest = ingest;
        this.jobs = jobs;
        this.transitions = transitions;
        this.views = views;
        this.live = live;
        this.store = store;
        this.runner = runner;
        this.webhooks = webhooks;
        this.shootModel = config.shoots().model();
        this.maxStyles = config.shoots().maxStyles();
        this.leaseSeconds = config.jobs().lease().toMillis() / 1000.0;
    }

    public Uni<JobView> submit(Caller caller, Submission s) {
        return accept(caller, s).map(Submitted::job);
    }

    /**
     * Checks a request, stores its inputs and commits the job; with an Idempotency-Key, the same key and
     * the same request answer the original job (no second job, no second fal call), the same key with a
     * different request is a 422.
     */
    public Uni<Submitted> accept(Caller caller, Submission s) {
        String tenant = caller.tenantId();
        Checked c = check(s);
        // the submit's trace, read now on the request's context: the job's runs continue it
        String traceparent = traces.traceparent();
        String key = s.idempotencyKey() == null || s.idempotencyKey().isBlank() ? null : s.idempotencyKey().strip();
        if (key != null && key.length() > 255) {
            throw Problem.badRequest("invalid-idempotency-key", "Invalid Idempotency-Key", "An Idempotency-Key has at most 255 characters");
        }
        return webhooks.check(tenant, s.webhook()).chain(webhook -> {
            Prepared p = new Prepared(c.model(), c.prompt(), c.tuned(), c.priority(), c.options(), c.shoot(), webhook, c.init());
            if (key == null) {
                return create(caller, p, s, null, null, traceparent).map(j -> new Submitted(j, false));
            }
            Map<String, Object> hashed = new LinkedHashMap<>(c.tuned());
            hashed.put("$options", c.options());
            hashed.put("$shoot", c.shoot());
            String hash = RequestHash.of(c.model().id(), c.prompt(), hashed, c.priority(), s.deadlineSeconds(), s.images(), webhook);
            return jobs.findByIdempotencyKey(tenant, key)
                    .chain(existing -> existing != null
                            ? Uni.createFrom().item(replay(existing, hash))
                            : create(caller, p, s, key, hash, traceparent).map(j -> new Submitted(j, false))
                                    // a concurrent request with the same key won the insert: answer its job
                                    .onFailure(JobService::isDuplicateKey)
                                    .recoverWithUni(() -> jobs.findByIdempotencyKey(tenant, key).map(j -> replay(j, hash))));
        });
    }

    /** A request as checked: everything the job will be made of but its files. */
    private record Checked(ModelStrategy model, String prompt, Map<String, Object> tuned, short priority, Map<String, Object> options,
            Map<String, Object> shoot, Map<String, Object> init) {
    }

    /** Every rule a request must meet, checked before anything is fetched, stored or paid: a bad one is a 4xx, never a failed job. */
    private Checked check(Submission s) {
        boolean shoot = s.styles() != null;
        ModelStrategy model = models.require(shoot && (s.model() == null || s.model().isBlank()) ? shootModel : s.model());
        String prompt = s.prompt() == null ? null : s.prompt().strip();
        StageOptions stages = s.stages() == null ? new StageOptions(null, null, null, null, null) : s.stages();
        Map<String, Object> options = options(model, stages, shoot, s.images());
        boolean promptWritten = stages.style() != null || shoot || "llm".equals(options.get("prompt_mode"));
        if (shoot) {
            InputRules.checkShootModel(model);
        }
        if (prompt != null && prompt.length() > 10_000) {
            throw Problem.invalid("prompt-too-long", "Prompt too long", "A prompt may have at most 10000 characters").with("field", "prompt");
        }
        Map<String, Object> init = initImage(s.images());
        InputRules.check(model, prompt, promptWritten, s.images().stream().map(Ingest.Source::role).toList(), init != null);
        if (s.deadlineSeconds() != null && (s.deadlineSeconds() < 1 || s.deadlineSeconds() > 86_400)) {
            throw Problem.invalid("invalid-deadline", "Invalid deadline", "deadline_seconds must be from 1 to 86400").with("field", "deadline_seconds");
        }
        Map<String, Object> tuned = ModelCatalog.check(model, s.params());
        return new Checked(model, prompt, tuned, Priority.of(s.priority()), options, shoot ? shootState(s.styles()) : null, init);
    }

    /** What a request would cost, and where the tenant's budgets stand: {@code dry_run}, which stores and submits nothing. */
    @org.eclipse.microprofile.openapi.annotations.media.Schema(name = "DryRun")
    public record DryRun(@org.eclipse.microprofile.openapi.annotations.media.Schema(required = true, enumeration = "true") boolean dryRun,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(required = true) String model,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(required = true) BigDecimal expectedCostUsd,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(required = true) String currency,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(required = true) List<Quotes.Line> calls, List<String> assumptions,
            Map<String, Object> budgets) {
    }

    public Uni<DryRun> dryRun(Caller caller, Submission s) {
        Checked c = check(s);
        // sizes of photos that came with the request (uploads, data URLs); a URL is not fetched for a quote
        List<int[]> sizes = s.images().stream().map(i -> {
            byte[] bytes = i.bytes() != null ? i.bytes() : Ingest.dataUrlBytes(i.url());
            ai.atelier.ingest.ImageInfo info = bytes == null ? null : ai.atelier.ingest.ImageInfo.sniff(bytes).orElse(null);
            return info == null ? Quotes.unknownSize() : new int[] { info.width(), info.height() };
        }).toList();
        int styles = c.shoot() == null ? 0 : ShootStyles.count(c.shoot());
        return quotes.of(c.model(), c.tuned(), sizes, c.options(), styles)
                .chain(q -> tenants.limits(caller.tenantId()).chain(limits -> !limits.budgeted() ? Uni.createFrom().item(Map.<String, Object>of())
                        : ledger.spent(caller.tenantId()).map(spent -> ai.atelier.usage.Budgets.view(limits, spent)))
                        .map(budgets -> new DryRun(true, c.model().id(), q.totalUsd(), "USD", q.calls(), q.assumptions(), budgets)));
    }

    private Submitted replay(Job existing, String hash) {
        if (!hash.equals(existing.requestHash)) {
            throw Problem.invalid("idempotency-key-reused", "Idempotency-Key reused",
                    "This Idempotency-Key was used for a different request (job " + existing.id + "); use a new key for a new request")
                    .with("job_id", existing.id.toString());
        }
        return new Submitted(views.of(existing), true);
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

    private Uni<JobView> create(Caller caller, Prepared p, Submission s, String key, String hash, String traceparent) {
        UUID id = UUID.randomUUID();
        ModelStrategy model = p.model();
        Webhooks.Spec webhook = p.webhook();
        Map<String, Object> init = p.init() == null ? null : new LinkedHashMap<>(p.init());
        return ingest.ingest(caller.tenantId(), id, initFirst(s.images(), init))
                .chain(inputs -> quotes.of(model, p.tuned(), inputs.stream().map(f -> f.width() == null ? Quotes.unknownSize()
                        : new int[] { f.width(), f.height() }).toList(), p.options(), p.shoot() == null ? 0 : ShootStyles.count(p.shoot()))
                        .map(q -> Map.entry(inputs, q)))
                .chain(ingested -> {
                    List<JobFile> inputs = ingested.getKey();
                    Job job = new Job();
                    job.id = id;
                    job.tenant = caller.tenantId();
                    job.apiKeyId = caller.keyId();
                    job.model = model.id();
                    job.status = JobStatus.QUEUED;
                    job.stage = "ingest";
                    job.progress = 10;
                    job.prompt = model.acceptsPrompt() ? p.prompt() : null;
                    job.params = new LinkedHashMap<>(p.tuned());
                    job.inputs = JobFiles.of(inputs);
                    job.source = s.source();
                    job.priority = p.priority();
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
                    job.expectedCostUsd = ingested.getValue().totalUsd();
                    job.traceParent = traceparent;
                    // room here: the job is this instance's from its first statement and starts at once
                    String owner = runner.reserve();
                    long sentAt = System.nanoTime();
                    return tenants.limits(job.tenant)
                            .chain(limits -> limits.limited()
                                    ? jobs.insertLimited(job, owner, leaseSeconds, webhooks.event(job, "queued"), inFlight -> admit(limits, inFlight, job))
                                    : jobs.insert(job, owner, leaseSeconds, webhooks.event(job, "queued")))
                            .onFailure().invoke(e -> {
                                if (owner != null) {
                                    runner.unreserved();
                                }
                            })
                            // a refused submit keeps nothing: its photos leave S3 again
                            .onFailure().call(e -> ingest.discard(inputs))
                            .chain(() -> live.write(job, "Queued"))
                            .invoke(view -> {
                                metrics.accepted(job.model);
                                Log.infof("job %s: accepted %s%s with %d input(s)", job.id, job.kind.equals(Job.KIND_GENERATE) ? "" : job.kind + " on ",
                                        job.model, job.inputs.items().size());
                                if (job.initImage != null) {
                                    Log.infof("job %s: init image is the %s photo (%s)", job.id, job.initImage.get("role"), job.initImage.get("reason"));
                                }
                                if (owner != null) {
                                    runner.started(job, sentAt);
                                }
                            });
                });
    }

    /** The tenant's limits on what it has in flight: a full house is a 429, a budget it would cross a 402. */
    private static void admit(ai.atelier.auth.TenantLimits limits, JobRepository.InFlight inFlight, Job job) {
        if (limits.maxJobsInFlight() != null && inFlight.jobs() >= limits.maxJobsInFlight()) {
            throw new Problem(429, "too-many-jobs-in-flight", "Too many jobs in flight", "This tenant may have " + limits.maxJobsInFlight()
                    + " jobs queued or running at once; wait for one to end").with("max_jobs_in_flight", limits.maxJobsInFlight())
                    .with("retry_after", 5).retryAfter(5);
        }
        if (limits.budgeted()) {
            ai.atelier.usage.Budgets.admit(limits, inFlight.spentToday(), inFlight.spentThisMonth(), inFlight.reservedUsd(),
                    job.expectedCostUsd == null ? BigDecimal.ZERO : job.expectedCostUsd);
        }
    }

    /**
     * Runs a failed job again from the stage that failed (see {@link JobTransitions#retry}); any instance takes it.
     * The tenant's cap on jobs in flight and its budgets apply as to a new submit (the rate limit already did).
     */
    public Uni<JobView> retry(String tenant, UUID id) {
        // admitted exactly like a submit: a retry puts the job back in flight and reserves its expected cost again
        return tenants.limits(tenant)
                .chain(limits -> transitions.retry(tenant, id, limits.limited() ? (inFlight, job) -> admit(limits, inFlight, job) : null))
                .chain(job -> live.write(job, "Retrying"))
                .invoke(runner::poke);
    }

    /** The job's view as the v1 API shows it, as JSON: the live view as stored, or the row's. */
    public Uni<String> get(String tenant, UUID id) {
        return get(tenant, id, JobViewFormat.V1);
    }

    /** The job's view in {@code format} as JSON: one Redis read while its live view is there, else one row read. */
    public Uni<String> get(String tenant, UUID id, String format) {
        return store.view(id, tenant, format).chain(stored -> stored != null ? Uni.createFrom().item(stored)
                : view(tenant, id).map(view -> views.json(view, format)));
    }

    /** The job's view from its row (the truth), for answers right after a change. */
    public Uni<JobView> view(String tenant, UUID id) {
        return jobs.find(tenant, id)
                .onItem().ifNull().failWith(() -> Problem.notFound("There is no job " + id))
                .map(views::of);
    }

    public Uni<JobView.Page> list(String tenant, String status, String model, String cursor, int limit) {
        if (limit < 1 || limit > 100) {
            throw Problem.invalid("invalid-limit", "Invalid limit", "limit must be from 1 to 100").with("field", "limit");
        }
        JobStatus wanted = null;
        if (status != null && !status.isBlank()) {
            try {
                wanted = JobStatus.parse(status);
            } catch (IllegalArgumentException e) {
                throw Problem.invalid("invalid-status", "Invalid status", "status must be one of queued, running, succeeded, failed, cancelled")
                        .with("field", "status");
            }
        }
        String modelId = model == null || model.isBlank() ? null : models.require(model).id();
        Cursor c = cursor == null || cursor.isBlank() ? null : Cursor.decode(cursor);
        return jobs.list(tenant, wanted, modelId, c == null ? null : c.createdAt(), c == null ? null : c.id(), limit)
                .map(rows -> {
                    List<Job> page = rows.subList(0, Math.min(limit, rows.size()));
                    String next = rows.size() > limit ? Cursor.of(page.get(page.size() - 1)).encode() : null;
                    return new JobView.Page(page.stream().map(views::of).toList(), next);
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
                throw Problem.invalid("invalid-cursor", "Invalid cursor", "The cursor is not one this API handed out").with("field", "cursor");
            }
        }
    }
}
