package ai.atelier.jobs.engine;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.inject.Singleton;
import jakarta.enterprise.event.Observes;

import org.eclipse.microprofile.config.ConfigProvider;

import ai.atelier.config.AtelierConfig;
import ai.atelier.jobs.Job;
import ai.atelier.jobs.JobCancellation;
import ai.atelier.jobs.JobRepository;
import ai.atelier.jobs.JobViews;
import ai.atelier.models.ModelCatalog;
import ai.atelier.models.ModelStrategy;
import ai.atelier.progress.ProgressStore;
import ai.atelier.progress.RedisRelay;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.vertx.VertxContext;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.pubsub.PgSubscriber;

/**
 * Takes jobs and runs them. A job accepted on this instance while it has room is this instance's from
 * its first statement (no claim round trip) and starts at once; the others wait in PostgreSQL, where
 * any instance claims them with a lease ({@code FOR UPDATE SKIP LOCKED}), woken by LISTEN/NOTIFY and,
 * for the jobs of instances that died, by a slow periodic look. Leases are renewed by a heartbeat while
 * the job is here; a job whose lease ran out is claimed by anyone and resumes where its row says.
 *
 * <p>Holding a job is cheap (most wait on fal); working on one takes a permit ({@link Engine}). Each job
 * runs on its own duplicated context of one of the event loops, round robin, so runs spread over every
 * core. On SIGTERM it stops taking jobs, lets working jobs finish for a grace period, then hands every
 * job it holds back at once.
 */
@Singleton
public class JobRunner {

    private final Vertx vertx;
    private final JobRepository jobs;
    private final JobPipeline pipeline;
    private final Engine engine;
    private final ModelCatalog models;
    private final ProgressStore store;
    private final JobViews views;
    private final RedisRelay relay;
    private final AtelierConfig.Jobs config;
    private final String owner;
    private final Map<String, Integer> modelLimits;
    private final Map<UUID, RunContext> inFlight = new ConcurrentHashMap<>();
    /** Jobs claimed again (a retry) while their previous run here was still ending: run once it has. */
    private final Map<UUID, Job> relaunch = new ConcurrentHashMap<>();
    private final AtomicInteger reserved = new AtomicInteger();
    private final AtomicBoolean claiming = new AtomicBoolean();
    private final AtomicBoolean again = new AtomicBoolean();
    /**
     * Whether PostgreSQL may hold jobs nobody claimed (a NOTIFY came, the periodic look is due, a claim
     * came back full): a run ending here looks for work only then, not with a claim per job.
     */
    private final AtomicBoolean backlog = new AtomicBoolean(true);
    private final AtomicInteger nextLoop = new AtomicInteger();
    private Context[] loops;
    private volatile boolean accepting;
    private long claimTimer = -1;
    private long heartbeatTimer = -1;
    private PgSubscriber subscriber;

    public JobRunner(Vertx vertx, JobRepository jobs, JobPipeline pipeline, Engine engine, ModelCatalog models, ProgressStore store,
            JobViews views, RedisRelay relay, AtelierConfig config) {
        this.vertx = vertx;
        this.jobs = jobs;
        this.pipeline = pipeline;
        this.engine = engine;
        this.models = models;
        this.store = store;
        this.views = views;
        this.relay = relay;
        this.config = config.jobs();
        this.owner = config.jobs().instanceId().orElseGet(JobRunner::defaultOwner);
        this.modelLimits = parseLimits(config.jobs().modelLimits().orElse(List.of()));
    }

    static Map<String, Integer> parseLimits(List<String> pairs) {
        Map<String, Integer> limits = new HashMap<>();
        for (String pair : pairs) {
            String[] kv = pair.split("=", 2);
            if (kv.length != 2 || !kv[1].trim().matches("\\d+")) {
                throw new IllegalArgumentException("atelier.jobs.model-limits takes model=limit pairs, not '" + pair + "'");
            }
            limits.put(kv[0].trim(), Integer.parseInt(kv[1].trim()));
        }
        return Map.copyOf(limits);
    }

    private static String defaultOwner() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            host = "atelier";
        }
        return host + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);
    }

    public String owner() {
        return owner;
    }

    void start(@Observes StartupEvent event) {
        // one context per event loop (each new one lands on the next loop): runs spread over every core.
        // getOrCreateContext() would not do: it hands a non-Vert.x thread the same context every time
        int count = Math.max(1, Runtime.getRuntime().availableProcessors() * 2);
        loops = new Context[count];
        for (int i = 0; i < count; i++) {
            loops[i] = ((io.vertx.core.impl.VertxInternal) vertx).createEventLoopContext();
        }
        accepting = true;
        relay.listen(JobCancellation.CHANNEL, id -> {
            try {
                stop(UUID.fromString(id), RunContext.Stop.CANCELLED);
            } catch (IllegalArgumentException ignored) {
                // not a job id
            }
        });
        listenForNewJobs();
        claimTimer = vertx.setPeriodic(config.claimInterval().toMillis(), t -> poke());
        heartbeatTimer = vertx.setPeriodic(Math.max(100, config.lease().toMillis() / 3), t -> heartbeat());
        Log.infof("Job runner %s: up to %d jobs held and %d working at once, lease %s", owner, config.maxInFlight(), config.maxWorking(),
                config.lease());
        poke();
    }

    /** New jobs nobody claimed at submit wake every instance (NOTIFY in the submit's own statement). */
    private void listenForNewJobs() {
        var c = ConfigProvider.getConfig();
        String url = c.getOptionalValue("quarkus.datasource.reactive.url", String.class).orElse(null);
        if (url == null) {
            return;
        }
        PgConnectOptions options = PgConnectOptions.fromUri(url.split(",")[0].trim().replaceFirst("^vertx-reactive:", ""));
        c.getOptionalValue("quarkus.datasource.username", String.class).ifPresent(options::setUser);
        c.getOptionalValue("quarkus.datasource.password", String.class).ifPresent(options::setPassword);
        subscriber = PgSubscriber.subscriber(vertx, options).reconnectPolicy(retries -> 1000L);
        subscriber.channel(JobRepository.NEW_JOBS_CHANNEL).handler(payload -> poke());
        subscriber.connect().onFailure(e -> Log.warnf("LISTEN %s failed (%s); new jobs are found by polling", JobRepository.NEW_JOBS_CHANNEL,
                e.getMessage()));
    }

    // ---- jobs accepted here ----------------------------------------------------------------------------------

    /**
     * Room for one more job accepted on this instance: answers the owner to write into its row (the job
     * is then this instance's from its first statement), or null when it should wait for any instance.
     * A reservation is followed by {@link #started} or {@link #unreserved}.
     */
    public String reserve() {
        if (inFlight.size() + reserved.incrementAndGet() > config.maxInFlight() || !accepting) {
            reserved.decrementAndGet();
            return null;
        }
        return owner;
    }

    public void unreserved() {
        reserved.decrementAndGet();
    }

    /**
     * A job accepted under a reservation is committed, and its accepted view just written to the live store: run it, its
     * lease counted from {@code leaseFromNanos}. That write counts as the run's first, so the run's own first write waits
     * out the interval like any other (a one-second job then costs three writes, not five).
     */
    public void started(Job job, long leaseFromNanos) {
        reserved.decrementAndGet();
        launch(job, leaseFromNanos, true);
    }

    /** Looks for work now (a NOTIFY, a retry, the periodic look); coalesces concurrent calls. */
    public void poke() {
        backlog.set(true);
        claim();
    }

    private void claim() {
        if (!accepting || !backlog.get()) {
            return;
        }
        again.set(true);
        if (!claiming.compareAndSet(false, true)) {
            return;
        }
        again.set(false);
        int room = config.maxInFlight() - inFlight.size() - reserved.get();
        int free = Math.min(room, Math.min(100, engine.freePermits()));
        if (free <= 0) {
            claiming.set(false); // the backlog stays: a run ending here claims it
            return;
        }
        long sentAt = System.nanoTime();
        jobs.claim(owner, config.lease().toMillis() / 1000.0, saturatedModels(), free).subscribe().with(claim -> {
            List<UUID> excess = new ArrayList<>();
            for (Job job : claim.jobs()) {
                if (atModelLimit(job.model)) {
                    excess.add(job.id);
                } else {
                    launch(job, sentAt, false);
                }
            }
            if (!excess.isEmpty()) {
                jobs.release(owner, excess).subscribe().with(ok -> { }, e -> Log.warnf("could not hand back %d jobs: %s", excess.size(), e.getMessage()));
            }
            // counted in rows leased: an unreadable row among them (left to its lease) does not make the claim look short
            boolean full = claim.rows() == free && excess.isEmpty();
            if (!full && !again.get()) {
                backlog.set(false); // fewer than asked for: nothing more waits unclaimed, until told otherwise
            }
            claiming.set(false);
            if (again.get() || full) {
                claim();
            }
        }, e -> {
            claiming.set(false);
            Log.warnf("Job runner %s: claiming failed: %s", owner, e.getMessage());
        });
    }

    // ---- runs ---------------------------------------------------------------------------------------------

    private void launch(Job job, long leaseFromNanos, boolean viewJustWritten) {
        if (inFlight.containsKey(job.id)) {
            relaunch.put(job.id, job); // still ending its previous run here (a retry came in): run it again right after
            return;
        }
        ModelStrategy model = models.find(job.model).orElse(null);
        Context context = VertxContext.createNewDuplicatedContext(loops[Math.floorMod(nextLoop.getAndIncrement(), loops.length)]);
        LiveState live = new LiveState(job, store, views, context, viewJustWritten);
        RunContext ctx = new RunContext(job, model, owner, context, config.lease(), leaseFromNanos, live);
        inFlight.put(job.id, ctx);
        context.runOnContext(v -> {
            io.smallrye.mutiny.Uni<Void> run = model == null
                    ? io.smallrye.mutiny.Uni.createFrom().failure(new ai.atelier.jobs.StageFailed("unknown_model",
                            "This instance has no model " + job.model))
                    : pipeline.run(ctx);
            run.subscribe().with(ok -> ended(ctx), e -> {
                Log.errorf(e, "job %s: run ended abnormally", job.id);
                ended(ctx);
            });
        });
    }

    private void ended(RunContext ctx) {
        engine.rest(ctx);
        inFlight.remove(ctx.job.id, ctx);
        Job again = relaunch.remove(ctx.job.id);
        if (again != null) {
            launch(again, System.nanoTime(), false);
        }
        claim(); // room again: claims only if jobs may be waiting unclaimed
    }

    /** Stops the run of a job here, if there is one (a cancel, from any instance). */
    public void stop(UUID id, RunContext.Stop why) {
        RunContext ctx = inFlight.get(id);
        if (ctx != null) {
            ctx.stop(why);
        }
    }

    /** A cancel on this instance: its run here stops at once (other instances hear it through Redis). */
    void cancelled(@Observes JobCancellation.Cancelled event) {
        stop(event.jobId(), RunContext.Stop.CANCELLED);
    }

    /** Jobs this instance holds now (working or waiting on fal). */
    public int inFlight() {
        return inFlight.size();
    }

    public int working() {
        return engine.working();
    }

    private List<String> saturatedModels() {
        List<String> saturated = new ArrayList<>();
        modelLimits.forEach((model, limit) -> {
            if (count(model) >= limit) {
                saturated.add(model);
            }
        });
        return saturated;
    }

    private boolean atModelLimit(String model) {
        Integer limit = modelLimits.get(model);
        return limit != null && count(model) >= limit;
    }

    private long count(String model) {
        return inFlight.values().stream().filter(c -> model.equals(c.job.model)).count();
    }

    /** Renews the leases that have run a third of their time; a job whose lease was not renewed is no longer this instance's. */
    private void heartbeat() {
        long now = System.nanoTime();
        long renewBefore = now + config.lease().toNanos() * 2 / 3;
        List<UUID> due = new ArrayList<>();
        inFlight.values().forEach(c -> {
            if (c.leaseUntilNanos() < renewBefore) {
                due.add(c.job.id);
            }
        });
        if (due.isEmpty()) {
            return;
        }
        jobs.heartbeat(owner, config.lease().toMillis() / 1000.0, due).subscribe().with(renewed -> {
            Set<UUID> kept = Set.copyOf(renewed);
            for (UUID id : due) {
                RunContext c = inFlight.get(id);
                if (c == null) {
                    continue;
                }
                if (kept.contains(id)) {
                    c.leaseRenewed(now);
                } else {
                    // ended elsewhere (cancelled, deadline) or someone else's now: stop, pay and store nothing more
                    c.stop(RunContext.Stop.LEASE_LOST);
                }
            }
        }, e -> Log.warnf("Job runner %s: heartbeat failed: %s", owner, e.getMessage()));
    }

    void shutdown(@Observes ShutdownEvent event) {
        accepting = false;
        vertx.cancelTimer(claimTimer);
        if (subscriber != null) {
            subscriber.close();
        }
        long deadline = System.nanoTime() + config.shutdownGrace().toNanos();
        if (!inFlight.isEmpty()) {
            Log.infof("Job runner %s: stopping; waiting up to %s for %d working job(s)", owner, config.shutdownGrace(), engine.working());
        }
        // jobs waiting on fal wait whatever the grace period: only working ones are waited for
        while (engine.working() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        vertx.cancelTimer(heartbeatTimer);
        List<UUID> left = new ArrayList<>(inFlight.keySet());
        inFlight.values().forEach(c -> c.stop(RunContext.Stop.SHUTDOWN));
        if (!left.isEmpty()) {
            // another instance resumes them at once instead of waiting for the lease to run out
            try {
                jobs.release(owner, left).await().atMost(Duration.ofSeconds(5));
                Log.infof("Job runner %s: handed back %d unfinished job(s)", owner, left.size());
            } catch (RuntimeException e) {
                Log.warnf("Job runner %s: could not hand back %d job(s); their leases run out in %s", owner, left.size(), config.lease());
            }
        }
    }
}
