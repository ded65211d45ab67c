package ai.atelier.jobs;

import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import ai.atelier.config.AtelierConfig;
import ai.atelier.fal.FalClient;
import ai.atelier.fal.FalCompletions;
import ai.atelier.fal.FalStatus;
import ai.atelier.progress.Progress;
import ai.atelier.progress.ProgressStore;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.vertx.mutiny.core.Vertx;

/**
 * Jobs parked while fal works on them. A job that has waited on fal for {@code atelier.fal.park-after}
 * gives up its pipeline (the Mutiny chain, the loaded row, everything it held) and leaves here a few
 * fields: which request to poll, what was last reported. One poller asks fal for due requests, a bounded
 * number at a time, reports progress, and when fal says COMPLETED (or a fal webhook says so, on any
 * instance) hands the job back to the runner, which runs it again from its row: with the request id
 * recorded it fetches the result and stores it, never submitting again. Thousands of jobs waiting on a
 * slow model thus cost a few hundred bytes each, not a pipeline each.
 */
@ApplicationScoped
public class FalWaits {

    /** The pipeline's signal that it parked the job here: not an end; the runner keeps the job's lease. */
    static final class Parked extends RuntimeException {
        Parked() {
            super("parked", null, false, false);
        }
    }

    /** What a parked job needs to be polled and reported on. */
    private static final class Wait {
        final UUID jobId;
        final String endpointId;
        final String requestId;
        final FalProgress reporter;
        final long deadlineNanos;
        volatile long dueNanos;
        volatile boolean polling;

        Wait(UUID jobId, String endpointId, String requestId, FalProgress reporter, long deadlineNanos) {
            this.jobId = jobId;
            this.endpointId = endpointId;
            this.requestId = requestId;
            this.reporter = reporter;
            this.deadlineNanos = deadlineNanos;
        }
    }

    private final Map<UUID, Wait> byJob = new ConcurrentHashMap<>();
    private final Map<String, UUID> byRequest = new ConcurrentHashMap<>();
    /** Jobs handed back because their request passed its deadline / COMPLETED: job id → that request's id. */
    private final Map<UUID, String> expired = new ConcurrentHashMap<>();
    private final Map<UUID, String> completed = new ConcurrentHashMap<>();
    private final AtomicInteger polling = new AtomicInteger();
    private final FalClient fal;
    private final FalCompletions completions;
    private final ProgressStore progress;
    private final Vertx vertx;
    private final AtelierConfig.Fal config;
    private volatile Consumer<UUID> resume = id -> {
    };
    private long timer = -1;

    public FalWaits(FalClient fal, FalCompletions completions, ProgressStore progress, Vertx vertx, AtelierConfig config) {
        this.fal = fal;
        this.completions = completions;
        this.progress = progress;
        this.vertx = vertx;
        this.config = config.fal();
    }

    void start(@Observes StartupEvent event) {
        long tick = Math.max(20, Math.min(1000, interval().toMillis() / 2));
        timer = vertx.setPeriodic(tick, t -> tick());
        completions.listen(requestId -> {
            UUID id = byRequest.get(requestId);
            Wait w = id == null ? null : byJob.get(id);
            if (w != null) {
                w.dueNanos = 0;
                tick();
            }
        });
    }

    void stop(@Observes ShutdownEvent event) {
        vertx.cancelTimer(timer);
    }

    /** Who runs a job again when it is done waiting (the runner, set at its start). */
    void onResume(Consumer<UUID> resume) {
        this.resume = resume;
    }

    Duration parkAfter() {
        return config.parkAfter();
    }

    boolean isParked(UUID jobId) {
        return byJob.containsKey(jobId);
    }

    /** True once for a job whose fal request (this one) passed its deadline while parked. */
    boolean takeExpired(UUID jobId, String requestId) {
        return expired.remove(jobId, requestId);
    }

    /** The job's run ended (or it was never resumed): nothing of it stays here. */
    void forget(UUID jobId) {
        expired.remove(jobId);
        completed.remove(jobId);
    }

    /** True once for a job resumed because its fal request (this one) COMPLETED: the pipeline need not ask fal again. */
    boolean takeCompleted(UUID jobId, String requestId) {
        return completed.remove(jobId, requestId);
    }

    /** Parks a job on its fal request; answers the signal the pipeline ends with. */
    Parked park(UUID jobId, String endpointId, String requestId, FalProgress reporter, long deadlineNanos) {
        Wait w = new Wait(jobId, endpointId, requestId, reporter, deadlineNanos);
        w.dueNanos = System.nanoTime() + interval().toNanos();
        byRequest.put(requestId, jobId);
        byJob.put(jobId, w);
        Log.debugf("job %s: parked on fal request %s", jobId, requestId);
        return new Parked();
    }

    /** A parked job was cancelled here: run it again now, so it ends instead of waiting for fal. */
    void release(UUID jobId) {
        Wait w = byJob.get(jobId);
        if (w != null) {
            done(w);
        }
    }

    private Duration interval() {
        return fal.webhooksOn() ? config.webhookPollInterval() : config.pollInterval();
    }

    private void tick() {
        long now = System.nanoTime();
        for (Wait w : byJob.values()) {
            if (polling.get() >= config.maxParkedPolls()) {
                return;
            }
            if (w.polling || w.dueNanos > now) {
                continue;
            }
            if (now > w.deadlineNanos) {
                expired.put(w.jobId, w.requestId);
                done(w);
                continue;
            }
            poll(w);
        }
    }

    private void poll(Wait w) {
        w.polling = true;
        polling.incrementAndGet();
        fal.status(w.endpointId, w.requestId)
                .call(s -> report(w, s))
                .subscribe().with(s -> {
                    release(w, s.completed());
                }, e -> {
                    // fal unreachable for a while: the request still runs there; ask again at the next turn
                    Log.debugf("job %s: status of parked request unavailable: %s", w.jobId, e.getMessage());
                    release(w, false);
                });
    }

    private void release(Wait w, boolean isCompleted) {
        polling.decrementAndGet();
        w.polling = false;
        if (isCompleted) {
            completed.put(w.jobId, w.requestId);
            done(w);
        } else {
            w.dueNanos = System.nanoTime() + interval().toNanos();
        }
    }

    private void done(Wait w) {
        if (byJob.remove(w.jobId, w)) {
            byRequest.remove(w.requestId, w.jobId);
            resume.accept(w.jobId);
        }
    }

    /** Live progress as the pipeline reports it: only what changed. */
    private io.smallrye.mutiny.Uni<Void> report(Wait w, FalStatus s) {
        Progress p = w.reporter.next(s);
        return p == null ? io.smallrye.mutiny.Uni.createFrom().voidItem() : progress.put(w.jobId, p).onFailure().recoverWithNull();
    }
}
