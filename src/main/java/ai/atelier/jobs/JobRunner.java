package ai.atelier.jobs;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import ai.atelier.config.AtelierConfig;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.vertx.core.runtime.context.VertxContextSafetyToggle;
import io.smallrye.common.vertx.VertxContext;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * Claims jobs from PostgreSQL and runs them. A claim is a lease ({@code FOR UPDATE SKIP LOCKED}, so
 * instances sharing a database never take the same job), renewed by a heartbeat while the job runs;
 * a job whose lease ran out (its instance died) is claimed again by anyone and resumes where its row
 * says. An instance claims only what it has room for, per instance and per model, so a saturated
 * instance leaves work queued in PostgreSQL rather than in memory. On SIGTERM it stops claiming, lets
 * in-flight jobs finish for a grace period, then hands the rest back.
 */
@ApplicationScoped
public class JobRunner {

    private static final String CLAIM = """
            update jobs set lease_owner = $1, lease_until = now() + make_interval(secs => $2), claims = claims + 1
            where id in (select id from jobs
                         where status in ('queued', 'running') and (lease_until is null or lease_until < now())
                           and not (model = any($3))
                         order by priority, created_at
                         for update skip locked
                         limit $4)
            returning id, model""";
    private static final String HEARTBEAT = """
            update jobs set lease_until = now() + make_interval(secs => $2)
            where lease_owner = $1 and id = any($3) and status in ('queued', 'running')
            returning id""";
    private static final String RELEASE = """
            update jobs set lease_owner = null, lease_until = null
            where lease_owner = $1 and id = any($2) and status in ('queued', 'running')""";
    private static final String STILL_OWNED = """
            select 1 from jobs where id = $1 and lease_owner = $2 and lease_until > now() and status in ('queued', 'running')""";

    private static final String OVERDUE = """
            select id, tenant from jobs where deadline_at < now() and status in ('queued', 'running') limit 100""";

    private final Vertx vertx;
    private final Pool pool;
    private final JobCancellation cancellation;
    private final JobPipeline pipeline;
    private final AtelierConfig.Jobs config;
    private final String owner;
    private final Map<String, Integer> modelLimits;
    private final Map<UUID, String> inFlight = new ConcurrentHashMap<>();
    private final Map<UUID, String> relaunch = new ConcurrentHashMap<>();
    /** Parked jobs whose fal request is done, waiting for room among the starting jobs (they fetch, download, store). */
    private final java.util.Queue<UUID> resumable = new java.util.concurrent.ConcurrentLinkedQueue<>();
    /** Jobs in their database-heavy start (claim → submitted to fal): bounded, so a burst does not queue at the pool. */
    private final java.util.concurrent.atomic.AtomicInteger starting = new java.util.concurrent.atomic.AtomicInteger();
    private final AtomicBoolean claiming = new AtomicBoolean();
    private final AtomicBoolean again = new AtomicBoolean();
    private volatile boolean accepting;
    private long claimTimer = -1;
    private long heartbeatTimer = -1;
    private long deadlineTimer = -1;

    private final FalWaits waits;

    public JobRunner(Vertx vertx, Pool pool, JobPipeline pipeline, JobCancellation cancellation, AtelierConfig config, FalWaits waits) {
        this.waits = waits;
        this.vertx = vertx;
        this.pool = pool;
        this.cancellation = cancellation;
        this.pipeline = pipeline;
        this.config = config.jobs();
        this.owner = config.jobs().instanceId().orElseGet(JobRunner::defaultOwner);
        this.modelLimits = parseLimits(config.jobs().modelLimits().orElse(List.of()));
    }

    static Map<String, Integer> parseLimits(List<String> pairs) {
        Map<String, Integer> limits = new java.util.HashMap<>();
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
        accepting = true;
        waits.onResume(this::resume);
        claimTimer = vertx.setPeriodic(config.claimInterval().toMillis(), t -> poke());
        heartbeatTimer = vertx.setPeriodic(Math.max(100, config.lease().toMillis() / 3), t -> heartbeat());
        deadlineTimer = vertx.setPeriodic(1000, t -> cancelOverdue());
        Log.infof("Job runner %s: up to %d jobs at once, lease %s", owner, config.maxConcurrent(), config.lease());
        poke();
    }

    /** Looks for work now (after a submit on this instance, or when a job ends); coalesces concurrent calls. */
    public void poke() {
        if (!accepting) {
            return;
        }
        // jobs fal is done with come before new ones: they are paid for, and finishing them frees memory
        UUID next;
        while (starting.get() < config.maxStarting() && (next = resumable.poll()) != null) {
            resume(next);
        }
        again.set(true);
        if (!claiming.compareAndSet(false, true)) {
            return;
        }
        again.set(false);
        int free = Math.min(config.maxConcurrent() - inFlight.size(), config.maxStarting() - starting.get());
        if (free <= 0) {
            claiming.set(false);
            return;
        }
        List<String> saturated = saturatedModels();
        onNewContext(() -> pool.preparedQuery(CLAIM)
                .execute(Tuple.of(owner, config.lease().toMillis() / 1000.0, saturated.toArray(String[]::new), free)))
                .subscribe().with(rows -> {
                    List<UUID> excess = new ArrayList<>();
                    for (Row row : rows) {
                        UUID id = row.getUUID("id");
                        String model = row.getString("model");
                        if (atModelLimit(model)) {
                            excess.add(id);
                        } else {
                            launch(id, model);
                        }
                    }
                    if (!excess.isEmpty()) {
                        release(excess).subscribe().with(ok -> { }, e -> Log.warnf("could not hand back %d jobs: %s", excess.size(), e.getMessage()));
                    }
                    claiming.set(false);
                    if (again.get() || rows.size() == free && excess.isEmpty()) {
                        poke();
                    }
                }, e -> {
                    claiming.set(false);
                    Log.warnf("Job runner %s: claiming failed: %s", owner, e.getMessage());
                });
    }

    /** True while this instance still holds the job's lease: checked before anything that costs money. */
    public Uni<Boolean> stillOwned(UUID id) {
        return pool.preparedQuery(STILL_OWNED).execute(Tuple.of(id, owner)).map(rows -> rows.size() == 1);
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
        return inFlight.values().stream().filter(model::equals).count();
    }

    private void launch(UUID id, String model) {
        if (inFlight.putIfAbsent(id, model) != null) {
            relaunch.put(id, model); // still ending its previous run here (a retry came in): run it again right after
            return;
        }
        starting.incrementAndGet();
        AtomicBoolean settledOnce = new AtomicBoolean();
        Runnable settled = () -> {
            if (settledOnce.compareAndSet(false, true)) {
                starting.decrementAndGet();
                poke();
            }
        };
        run(id, settled, () -> {
            settled.run();
            ended(id);
        });
    }

    /** One run of a job's pipeline on a fresh context; {@code onEnd} whichever way it ends. */
    private void run(UUID id, Runnable settled, Runnable onEnd) {
        onNewContext(() -> pipeline.run(id, () -> stillOwned(id), settled))
                .onTermination().invoke(onEnd)
                .subscribe().with(ok -> { }, e -> Log.errorf(e, "job %s: pipeline ended abnormally", id));
    }

    /** A parked job whose fal request is done (or overdue): run it again from its row, it still holds its lease. */
    private void resume(UUID id) {
        if (!inFlight.containsKey(id)) {
            return;
        }
        if (starting.incrementAndGet() > config.maxStarting()) {
            // a burst of completions: wait for room like new jobs do, instead of all fetching and storing at once
            starting.decrementAndGet();
            resumable.add(id);
            return;
        }
        run(id, () -> {
        }, () -> {
            starting.decrementAndGet();
            ended(id);
            poke(); // room for the next resumable job, even when this one parked again
        });
    }

    /** A pipeline run ended: the job is done (or someone else's), unless it was parked to wait on fal. */
    private void ended(UUID id) {
        if (!waits.isParked(id)) {
            waits.forget(id);
            inFlight.remove(id);
            String model = relaunch.remove(id);
            if (model != null) {
                launch(id, model); // claimed again (a retry) while this run was ending
            }
            poke();
        }
    }

    private void heartbeat() {
        if (inFlight.isEmpty()) {
            return;
        }
        UUID[] ids = inFlight.keySet().toArray(UUID[]::new);
        onNewContext(() -> pool.preparedQuery(HEARTBEAT).execute(Tuple.of(owner, config.lease().toMillis() / 1000.0, ids)))
                .subscribe().with(rows -> {
                    // a parked job whose lease was not renewed ended elsewhere (cancelled, deadline) or is someone
                    // else's now: run it again here, so it sees that and lets go instead of waiting on fal
                    Set<UUID> renewed = new java.util.HashSet<>();
                    rows.forEach(r -> renewed.add(r.getUUID("id")));
                    for (UUID id : ids) {
                        if (!renewed.contains(id) && waits.isParked(id)) {
                            waits.release(id);
                        }
                    }
                }, e -> Log.warnf("Job runner %s: heartbeat failed: %s", owner, e.getMessage()));
    }

    private Uni<Void> release(List<UUID> ids) {
        return pool.preparedQuery(RELEASE).execute(Tuple.of(owner, ids.toArray(UUID[]::new))).replaceWithVoid();
    }

    /** Cancels jobs past their own deadline, whichever instance runs them (the row lock makes it once). */
    private void cancelOverdue() {
        onNewContext(() -> pool.query(OVERDUE).execute())
                .subscribe().with(rows -> {
                    for (Row row : rows) {
                        onNewContext(() -> cancellation.cancel(row.getString("tenant"), row.getUUID("id"), "deadline_exceeded",
                                "The job passed its deadline and was cancelled"))
                                .subscribe().with(ok -> { }, e -> Log.debugf("deadline cancel of %s: %s", row.getUUID("id"), e.getMessage()));
                    }
                }, e -> Log.warnf("Job runner %s: deadline sweep failed: %s", owner, e.getMessage()));
    }

    void stop(@Observes ShutdownEvent event) {
        accepting = false;
        vertx.cancelTimer(claimTimer);
        vertx.cancelTimer(deadlineTimer);
        long deadline = System.nanoTime() + config.shutdownGrace().toNanos();
        if (!inFlight.isEmpty()) {
            Log.infof("Job runner %s: stopping; waiting up to %s for %d job(s)", owner, config.shutdownGrace(), inFlight.size());
        }
        // parked jobs wait on fal, which the grace period will not change: only running pipelines are waited for
        while (inFlight.keySet().stream().anyMatch(id -> !waits.isParked(id)) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        vertx.cancelTimer(heartbeatTimer);
        Set<UUID> left = Set.copyOf(inFlight.keySet());
        if (!left.isEmpty()) {
            // another instance resumes them at once instead of waiting for the lease to run out
            try {
                release(List.copyOf(left)).await().atMost(Duration.ofSeconds(5));
                Log.infof("Job runner %s: handed back %d unfinished job(s)", owner, left.size());
            } catch (RuntimeException e) {
                Log.warnf("Job runner %s: could not hand back %d job(s); their leases run out in %s", owner, left.size(), config.lease());
            }
        }
    }

    /** Runs on a fresh duplicated context flagged safe, as Hibernate Reactive requires for its session. */
    private <T> Uni<T> onNewContext(Supplier<Uni<T>> work) {
        Context context = VertxContext.createNewDuplicatedContext(vertx.getOrCreateContext());
        VertxContextSafetyToggle.setContextSafe(context, true);
        return Uni.createFrom().<T>emitter(emitter -> context.runOnContext(v -> work.get().subscribe().with(emitter::complete, emitter::fail)));
    }
}
