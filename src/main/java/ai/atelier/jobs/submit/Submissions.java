package ai.atelier.jobs.submit;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.inject.Singleton;

import ai.atelier.auth.Caller;
import ai.atelier.auth.Tenants;
import ai.atelier.config.AtelierConfig;
import ai.atelier.ingest.ImageInfo;
import ai.atelier.ingest.Ingest;
import ai.atelier.jobs.Job;
import ai.atelier.jobs.JobFile;
import ai.atelier.jobs.JobFiles;
import ai.atelier.jobs.JobRepository;
import ai.atelier.jobs.JobStatus;
import ai.atelier.jobs.JobTransitions;
import ai.atelier.jobs.JobView;
import ai.atelier.jobs.JobViews;
import ai.atelier.jobs.LiveViews;
import ai.atelier.jobs.ShootStyles;
import ai.atelier.jobs.engine.JobRunner;
import ai.atelier.models.ModelStrategy;
import ai.atelier.problem.Problem;
import ai.atelier.telemetry.JobMetrics;
import ai.atelier.telemetry.Traces;
import ai.atelier.usage.Budgets;
import ai.atelier.usage.Ledger;
import ai.atelier.usage.Quotes;
import ai.atelier.webhooks.Webhooks;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;

/**
 * Accepting jobs: a request is checked ({@link SubmitRules}), its inputs checked and stored, its expected cost
 * quoted, and its row committed in one statement that also admits it ({@link Admission}: the tenant's cap and
 * budgets). A job accepted while this instance has room is its own from that statement and starts at once.
 * With an Idempotency-Key the same request answers the original job; a retry of a failed job is admitted
 * here too, exactly like a submit.
 */
@Singleton
public class Submissions {

    /** An accepted job, and whether it is the replay of an earlier request with the same Idempotency-Key. */
    public record Submitted(JobView job, boolean replayed) {
    }

    /** What a request would cost, and where the tenant's budgets stand: {@code dry_run}, which stores and submits nothing. */
    // answered as an Object (RestResponse<Object>, beside the JobView a submit answers): Quarkus cannot see it in a signature
    @io.quarkus.runtime.annotations.RegisterForReflection(targets = { DryRun.class, Quotes.Line.class })
    @org.eclipse.microprofile.openapi.annotations.media.Schema(name = "DryRun")
    public record DryRun(@org.eclipse.microprofile.openapi.annotations.media.Schema(required = true, enumeration = "true") boolean dryRun,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(required = true) String model,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(required = true) BigDecimal expectedCostUsd,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(required = true) String currency,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(required = true) List<Quotes.Line> calls, List<String> assumptions,
            Map<String, Object> budgets) {
    }

    private final SubmitRules rules;
    private final Ingest ingest;
    private final JobRepository jobs;
    private final JobTransitions transitions;
    private final JobViews views;
    private final LiveViews live;
    private final JobRunner runner;
    private final Webhooks webhooks;
    private final Quotes quotes;
    private final Tenants tenants;
    private final Ledger ledger;
    private final Traces traces;
    private final JobMetrics metrics;
    private final double leaseSeconds;
    private final ai.atelier.cache.ResultCache cache;

    public Submissions(SubmitRules rules, Ingest ingest, JobRepository jobs, JobTransitions transitions, JobViews views, LiveViews live,
            JobRunner runner, Webhooks webhooks, Quotes quotes, Tenants tenants, Ledger ledger, Traces traces, JobMetrics metrics,
            AtelierConfig config, ai.atelier.cache.ResultCache cache) {
        this.cache = cache;
        this.rules = rules;
        this.ingest = ingest;
        this.jobs = jobs;
        this.transitions = transitions;
        this.views = views;
        this.live = live;
        this.runner = runner;
        this.webhooks = webhooks;
        this.quotes = quotes;
        this.tenants = tenants;
        this.ledger = ledger;
        this.traces = traces;
        this.metrics = metrics;
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
        SubmitRules.Checked c = rules.check(s);
        ai.atelier.cache.CacheSpec.Asked cacheAsked = ai.atelier.cache.CacheSpec.check(s.cache());
        // the submit's trace, read now on the request's context: the job's runs continue it
        String traceparent = traces.traceparent();
        String key = SubmitRules.idempotencyKey(s);
        return webhooks.check(caller.tenantId(), s.webhook()).chain(webhook -> {
            if (key == null) {
                return create(caller, c, s, webhook, null, null, traceparent, cacheAsked).map(j -> new Submitted(j, false));
            }
            Map<String, Object> hashed = new LinkedHashMap<>(c.tuned());
            hashed.put("$options", c.options());
            hashed.put("$shoot", c.shoot());
            if (s.cache() != null) {
                // another cache setting is another request (absent, the hash is what it was before the cache)
                hashed.put("$cache", cacheAsked.mode() + "/" + (cacheAsked.maxAge() == null ? "" : cacheAsked.maxAge().toMillis()));
            }
            String hash = RequestHash.of(c.model().id(), c.prompt(), hashed, c.priority(), s.deadlineSeconds(), s.images(), webhook);
            String tenant = caller.tenantId();
            return jobs.findByIdempotencyKey(tenant, key)
                    .chain(existing -> existing != null
                            ? Uni.createFrom().item(replay(existing, hash))
                            : create(caller, c, s, webhook, key, hash, traceparent, cacheAsked).map(j -> new Submitted(j, false))
                                    // a concurrent request with the same key won the insert: answer its job
                                    .onFailure(Submissions::isDuplicateKey)
                                    .recoverWithUni(() -> jobs.findByIdempotencyKey(tenant, key).map(j -> replay(j, hash))));
        });
    }

    /** A quote for the request, checked as a submit would be; stores and submits nothing. */
    public Uni<DryRun> dryRun(Caller caller, Submission s) {
        SubmitRules.Checked c = rules.check(s);
        // sizes of photos that came with the request (uploads, data URLs); a URL is not fetched for a quote
        List<int[]> sizes = s.images().stream().map(i -> {
            byte[] bytes = i.bytes() != null ? i.bytes() : Ingest.dataUrlBytes(i.url());
            ImageInfo info = bytes == null ? null : ImageInfo.sniff(bytes).orElse(null);
            return info == null ? Quotes.unknownSize() : new int[] { info.width(), info.height() };
        }).toList();
        int styles = c.shoot() == null ? 0 : ShootStyles.count(c.shoot());
        return quotes.of(c.model(), c.tuned(), sizes, c.options(), styles)
                .chain(q -> tenants.limits(caller.tenantId()).chain(limits -> !limits.budgeted() ? Uni.createFrom().item(Map.<String, Object>of())
                        : ledger.spent(caller.tenantId()).map(spent -> Budgets.view(limits, spent)))
                        .map(budgets -> new DryRun(true, c.model().id(), q.totalUsd(), "USD", q.calls(), q.assumptions(), budgets)));
    }

    /**
     * Runs a failed job again from the stage that failed (see {@link JobTransitions#retry}); any instance takes it.
     * The tenant's cap on jobs in flight and its budgets apply as to a new submit (the rate limit already did).
     */
    public Uni<JobView> retry(String tenant, UUID id) {
        return tenants.limits(tenant)
                .chain(limits -> transitions.retry(tenant, id, limits.limited()
                        ? (inFlight, job) -> Admission.admit(limits, inFlight, job.expectedCostUsd) : null))
                .chain(job -> live.write(job, "Retrying"))
                .invoke(runner::poke);
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

    /** Stores the inputs, quotes the job from them, and commits it (admitted when the tenant has limits); a refused submit keeps nothing. */
    private Uni<JobView> create(Caller caller, SubmitRules.Checked c, Submission s, Webhooks.Spec webhook, String key, String hash,
            String traceparent, ai.atelier.cache.CacheSpec.Asked cacheAsked) {
        UUID id = UUID.randomUUID();
        Map<String, Object> init = c.init() == null ? null : new LinkedHashMap<>(c.init());
        return ingest.ingest(caller.tenantId(), id, SubmitRules.initFirst(s.images(), init))
                .chain(inputs -> quotes.of(c.model(), c.tuned(), inputs.stream().map(f -> f.width() == null ? Quotes.unknownSize()
                        : new int[] { f.width(), f.height() }).toList(), c.options(), c.shoot() == null ? 0 : ShootStyles.count(c.shoot()))
                        .map(quote -> newJob(id, caller, c, s, webhook, key, hash, traceparent, init, inputs, quote.totalUsd())))
                .call(job -> cacheSettings(job, c, cacheAsked).onFailure().call(e -> ingest.discard(job.inputs.items())))
                .chain(this::accept);
    }

    /**
     * Commits the job and writes its live view at once, then starts its run here when the row made it this instance's.
     * The answer waits for the slower of the two, not for both in turn (each waits its turn for a pooled connection
     * under load). The run starts after both: a run that started before its job's accepted view landed would see its
     * own progress overwritten by it. A submit refused at the row (a budget, a duplicate Idempotency-Key) takes its
     * view back; its id was never answered to anyone.
     *
     * <p>Once begun, this goes to its end whatever the client does: a client that hangs up cancels only its wait for
     * the answer. Cancelled half-way, the run's reserved place was never given back and a committed job that was this
     * instance's waited for its lease to run out before anyone ran it.
     */
    private Uni<JobView> accept(Job job) {
        java.util.concurrent.CompletableFuture<JobView> accepted = Uni.combine().all()
                .unis(commit(job), Uni.createFrom().deferred(() -> live.write(job, "Queued"))).collectFailures().asTuple()
                .onFailure().call(e -> ingest.discard(job.inputs.items()).call(() -> live.discard(job)))
                .map(both -> {
                    accepted(job);
                    if (both.getItem1().owner() != null) {
                        runner.started(job, both.getItem1().sentAtNanos());
                    }
                    return both.getItem2();
                })
                .subscribeAsCompletionStage();
        return ai.atelier.util.Contexts.awaitCopy(accepted);
    }

    /**
     * The job's result cache settings (mode, max age; bypass when the tenant's cache is off or there is no explicit seed) and
     * what the submit answer says: for a job whose one fal call is already determined, hit or miss as the cache stands
     * now; otherwise miss (the run settles it: the job's {@code cache} field tells).
     */
    private Uni<Void> cacheSettings(Job job, SubmitRules.Checked c, ai.atelier.cache.CacheSpec.Asked asked) {
        return tenants.limits(job.tenant).chain(limits -> {
            ai.atelier.cache.ResultCache.Settled settled = cache.settle(asked, limits, c.model(), c.tuned(),
                    () -> ai.atelier.jobs.engine.CachePlans.chained(job, c.model()));
            String predicted = ai.atelier.cache.CacheSpec.USE.equals(settled.mode())
                    ? ai.atelier.jobs.engine.CachePlans.keyAtAccept(job, c.model()) : null;
            Uni<String> status = predicted == null ? Uni.createFrom().item(settled.initialStatus())
                    : cache.ready(job.tenant, predicted, settled.maxAge()).map(ready -> ready ? "hit" : "miss");
            return status.invoke(st -> job.options.put(ai.atelier.cache.ResultCache.OPTION, settled.options(st))).replaceWithVoid();
        });
    }

    /** A committed job, and this instance's name when the job is its own from that statement (null: any instance claims it). */
    private record Committed(String owner, long sentAtNanos) {
    }

    /** The job as accepted: queued, at its first stage, with what the request asked and what its inputs are. */
    private static Job newJob(UUID id, Caller caller, SubmitRules.Checked c, Submission s, Webhooks.Spec webhook, String key, String hash,
            String traceparent, Map<String, Object> init, List<JobFile> inputs, BigDecimal expectedCostUsd) {
        ModelStrategy model = c.model();
        Job job = new Job();
        job.id = id;
        job.tenant = caller.tenantId();
        job.apiKeyId = caller.keyId();
        job.source = s.source();
        job.model = model.id();
        job.kind = c.shoot() != null ? Job.KIND_SHOOT : model.output() == ModelStrategy.Output.TEXT ? Job.KIND_LLM : Job.KIND_GENERATE;
        job.status = JobStatus.QUEUED;
        job.stage = "ingest";
        job.progress = 10;
        job.priority = c.priority();
        // what was asked
        job.prompt = model.acceptsPrompt() ? c.prompt() : null;
        // what fal will get besides the prompt and photos (a video model's defaults set explicitly): echoed on the job
        job.params = new LinkedHashMap<>(model.effectiveParams(c.tuned(), Math.min(inputs.size(), model.maxImages())));
        job.options = new LinkedHashMap<>(c.options());
        job.shoot = c.shoot();
        job.inputs = JobFiles.of(inputs);
        if (init != null) {
            init.put("input_key", inputs.get(0).key());
            init.put("sent_to_model", Math.min(inputs.size(), model.maxImages()));
        }
        job.initImage = init;
        // how the client follows it
        job.idempotencyKey = key;
        job.requestHash = hash;
        if (webhook != null) {
            job.webhookUrl = webhook.url();
            job.webhookEvents = String.join(",", webhook.events());
        }
        job.traceParent = traceparent;
        // when, and what it may cost
        job.createdAt = Instant.now().truncatedTo(ChronoUnit.MICROS);
        job.updatedAt = job.createdAt;
        if (s.deadlineSeconds() != null) {
            job.deadlineAt = job.createdAt.plusSeconds(s.deadlineSeconds());
        }
        job.expectedCostUsd = expectedCostUsd;
        return job;
    }

    /**
     * The one statement that accepts the job: admitted against the tenant's limits when it has any, and this
     * instance's from that statement when it has room (it then starts at once, no claim round trip).
     */
    private Uni<Committed> commit(Job job) {
        String owner = runner.reserve();
        long sentAt = System.nanoTime();
        return tenants.limits(job.tenant)
                .chain(limits -> limits.limited()
                        ? jobs.insertLimited(job, owner, leaseSeconds, webhooks.event(job, "queued"),
                                inFlight -> Admission.admit(limits, inFlight, job.expectedCostUsd))
                        : jobs.insert(job, owner, leaseSeconds, webhooks.event(job, "queued")))
                .onFailure().invoke(e -> {
                    if (owner != null) {
                        runner.unreserved();
                    }
                })
                .replaceWith(new Committed(owner, sentAt));
    }

    private void accepted(Job job) {
        metrics.accepted(job.model);
        Log.infof("job %s: accepted %s%s with %d input(s)", job.id, job.kind.equals(Job.KIND_GENERATE) ? "" : job.kind + " on ", job.model,
                job.inputs.items().size());
        if (job.initImage != null) {
            Log.infof("job %s: init image is the %s photo (%s)", job.id, job.initImage.get("role"), job.initImage.get("reason"));
        }
    }
}
