package ai.atelier.jobs.engine;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

import ai.atelier.jobs.Job;
import ai.atelier.jobs.StageStatus;
import ai.atelier.jobs.JobTransitions;
import ai.atelier.models.ModelStrategy;
import ai.atelier.progress.Progress;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Context;
import io.vertx.core.json.JsonObject;

/**
 * One run of one job on this instance: the job as the run knows it, its lease, its stop signal (a
 * cancel, a lost lease), what the run learned and will write at its next statement, and its live
 * progress. It is the one writer of the run's state: stages tell it what changed (a stage began or
 * ended, a fal request was made), {@link Engine#commit} takes what is pending into the next statement,
 * and what stages produce for the stages after them is returned ({@link Produced}), never left here.
 *
 * <p>A run's continuations all execute on its own duplicated Vert.x context (one event loop), so its
 * state needs no locks; completions that arrive on other threads are brought back with {@link #onContext}.
 */
public final class RunContext {

    /** Why a run stopped before its end: nothing more is paid, stored or written. */
    public enum Stop { CANCELLED, LEASE_LOST, SHUTDOWN }

    /** The signal a stopped run ends with; never recorded as the job's failure. */
    public static final class Stopped extends RuntimeException {
        final Stop why;

        Stopped(Stop why) {
            super(why.name(), null, false, false);
            this.why = why;
        }
    }

    public final Job job;
    public final ModelStrategy model;
    final String owner;
    /** The run's trace context (its span), and the current stage's: set by the pipeline alone; fal calls are parented under the stage. */
    io.opentelemetry.context.Context trace = io.opentelemetry.context.Context.root();
    io.opentelemetry.context.Context stageTrace;
    final Context context;
    private final Duration lease;
    private final LiveState live;
    private volatile long leaseUntilNanos;
    private volatile Stop stopped;
    private final List<Runnable> onStop = new CopyOnWriteArrayList<>();

    /** Stage records changed since the last statement, written (whole entries) by the next one. */
    private final Map<String, Object> pendingStages = new LinkedHashMap<>();
    private JsonObject pendingCategories;
    private String pendingPrompt;
    /** fal requests made or moved on since the last statement, by place. */
    private final Map<String, ai.atelier.jobs.FalRequest> pendingRequests = new LinkedHashMap<>();
    /** Ledger rows of fal calls finished since the last statement, and their sum. */
    private final io.vertx.core.json.JsonArray pendingLedger = new io.vertx.core.json.JsonArray();
    private java.math.BigDecimal pendingSpend = java.math.BigDecimal.ZERO;
    private String currentStage;
    private int percent;
    /** Whether the run holds a work permit: taken and given back by the {@link Engine} alone. */
    boolean holdsPermit;

    RunContext(Job job, ModelStrategy model, String owner, Context context, Duration lease, long leaseFromNanos, LiveState live) {
        this.job = job;
        this.model = model;
        this.owner = owner;
        this.context = context;
        this.lease = lease;
        this.leaseUntilNanos = leaseFromNanos + lease.toNanos();
        this.live = live;
        this.percent = job.progress;
        this.currentStage = job.stage;
        if (!job.falRequestsStored) {
            // a row of the previous version: its requests were read from where it kept them; the first statement writes them home
            job.falRequests.all().forEach(r -> pendingRequests.put(r.key(), r));
        }
    }

    // ---- lease and stop signal -------------------------------------------------------------------------

    /** The lease was renewed by a heartbeat sent at {@code sentAtNanos} (PostgreSQL's lease runs from a moment after that). */
    void leaseRenewed(long sentAtNanos) {
        leaseUntilNanos = sentAtNanos + lease.toNanos();
    }

    long leaseUntilNanos() {
        return leaseUntilNanos;
    }

    /**
     * Fails with {@link Stopped} unless the run may still act for the job: it was not stopped and its
     * lease (by this instance's clock, from before the statement that took it) has a safe margin left.
     * Asked right before anything that costs money.
     */
    public void ensureActive() {
        Stop s = stopped;
        if (s != null) {
            throw new Stopped(s);
        }
        long margin = Math.min(lease.toNanos() / 5, Duration.ofSeconds(2).toNanos());
        if (System.nanoTime() > leaseUntilNanos - margin) {
            throw new Stopped(Stop.LEASE_LOST);
        }
    }

    public boolean stopped() {
        return stopped != null;
    }

    /** Stops the run (from any thread): waits end at once, nothing more is paid or stored. */
    void stop(Stop why) {
        if (stopped == null) {
            stopped = why;
            onContext(() -> onStop.forEach(Runnable::run));
        }
    }

    /** {@code work}, ended with {@link Stopped} as soon as the run is stopped (a wait on fal, a backoff). */
    public <T> Uni<T> interruptible(Supplier<Uni<T>> work) {
        return Uni.createFrom().<T>emitter(emitter -> {
            Stop s = stopped;
            if (s != null) {
                emitter.fail(new Stopped(s));
                return;
            }
            var subscription = work.get().subscribe().with(emitter::complete, emitter::fail);
            Runnable interrupt = () -> {
                subscription.cancel();
                emitter.fail(new Stopped(stopped));
            };
            onStop.add(interrupt);
            emitter.onTermination(() -> onStop.remove(interrupt));
        }).emitOn(this::onContext);
    }

    /** Runs {@code task} on this run's context (completions of waits and timers arrive on other threads). */
    void onContext(Runnable task) {
        context.runOnContext(v -> task.run());
    }

    // ---- stage records ------------------------------------------------------------------------------------

    /** The stage's record as this run knows it (a copy it may change), or an empty one. */
    public Map<String, Object> entry(String stage) {
        Map<String, Object> current = job.stageEntry(stage);
        return current == null ? new LinkedHashMap<>() : new LinkedHashMap<>(current);
    }

    /** Whether an earlier run finished the stage (succeeded or skipped): the one rule for resuming. */
    boolean finished(String stage) {
        Map<String, Object> e = job.stageEntry(stage);
        StageStatus status = e == null ? null : StageStatus.of(e.get("status"));
        return status != null && status.finished();
    }

    /** Replaces the stage's record; written by the next statement. */
    public void record(String stage, Map<String, Object> entry) {
        job.stages.put(stage, entry);
        pendingStages.put(stage, entry);
    }

    /** Marks a stage running, makes it the current stage and reports it. */
    public long begin(String stage, int percent, String message) {
        Map<String, Object> e = entry(stage);
        e.put("status", StageStatus.move(e.get("status"), StageStatus.RUNNING, stage).wire());
        e.put("started_at", Instant.now().toString());
        e.remove("error");
        record(stage, e);
        currentStage = stage;
        report(stage, percent, message, null, List.of());
        return System.nanoTime();
    }

    /** Marks a stage done, with its duration since {@code startedNanos} and whatever else it measured (cost, model…). */
    public void succeeded(String stage, long startedNanos, Map<String, Object> measured) {
        Map<String, Object> e = entry(stage);
        e.put("status", StageStatus.move(e.get("status"), StageStatus.SUCCEEDED, stage).wire());
        e.put("duration_ms", (System.nanoTime() - startedNanos) / 1_000_000);
        e.put("finished_at", Instant.now().toString());
        if (measured != null) {
            e.putAll(measured);
        }
        record(stage, e);
    }

    /** Marks a stage skipped (nothing for it to do). */
    public void skipped(String stage, String why) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("status", StageStatus.move(job.stageEntry(stage) == null ? null : job.stageEntry(stage).get("status"), StageStatus.SKIPPED, stage).wire());
        e.put("reason", why);
        record(stage, e);
    }

    /** Marks the stage failed with this error (carried by the statement that fails the job: a retry always finds it). */
    void failed(String stage, Map<String, Object> error) {
        Map<String, Object> e = entry(stage);
        e.put("status", StageStatus.move(e.get("status"), StageStatus.FAILED, stage).wire());
        e.put("error", error);
        e.put("failed_at", Instant.now().toString());
        record(stage, e);
    }

    /** Merges fields into the stage's record (a model, what it measured). */
    public void note(String stage, Map<String, Object> fields) {
        Map<String, Object> e = entry(stage);
        e.putAll(fields);
        record(stage, e);
    }

    /** The pipeline enters a stage: a failure from here on is the stage's, whether or not it got to {@link #begin}. */
    void entering(String stage) {
        currentStage = stage;
    }

    /** Whether the stage was entered by this run and not ended (a failure now is its failure). */
    boolean stageRunning(String stage) {
        Map<String, Object> e = job.stageEntry(stage);
        StageStatus status = e == null ? null : StageStatus.of(e.get("status"));
        return StageStatus.canMove(status, StageStatus.FAILED);
    }

    /** The stage the run is in (where a failure is recorded). */
    public String currentStage() {
        return currentStage;
    }

    public void setCategories(Map<String, Object> categories) {
        job.categories = categories;
        pendingCategories = new JsonObject(new LinkedHashMap<>(categories));
    }

    public void setFinalPrompt(String prompt) {
        job.finalPrompt = prompt;
        pendingPrompt = prompt;
    }

    /** What the next statement writes; taken (and forgotten) now, given back with {@link #restorePending} if that statement fails. */
    JobTransitions.Progress takePending() {
        JobTransitions.Progress p = new JobTransitions.Progress(currentStage, percent, new JsonObject(new LinkedHashMap<>(pendingStages)),
                pendingCategories, pendingPrompt, ai.atelier.jobs.FalRequests.json(pendingRequests.values()),
                new ai.atelier.jobs.JobRepository.Spend(pendingLedger.copy(), pendingSpend));
        pendingStages.clear();
        pendingRequests.clear();
        pendingCategories = null;
        pendingPrompt = null;
        pendingLedger.clear();
        pendingSpend = java.math.BigDecimal.ZERO;
        return p;
    }

    // ---- fal requests ----------------------------------------------------------------------------------------

    /** A fal request made (or moved on): the job knows it at once, the next statement writes it home. */
    void requested(ai.atelier.jobs.FalRequest r) {
        job.falRequests = job.falRequests.with(r);
        pendingRequests.put(r.key(), r);
    }

    /** The fal requests written since the last statement, taken for a statement of their own (a shoot style's). */
    JsonObject takeRequests() {
        JsonObject patch = ai.atelier.jobs.FalRequests.json(pendingRequests.values());
        pendingRequests.clear();
        return patch;
    }

    /** A statement that carried {@code patch} failed: its requests are pending again. */
    void restoreRequests(JsonObject patch) {
        patch.forEach(e -> job.falRequests.get(e.getKey()).ifPresent(r -> pendingRequests.putIfAbsent(e.getKey(), r)));
    }

    /** A fal call that may be billed finished: its ledger row is written with the next statement. */
    public void spent(JsonObject ledgerRow, java.math.BigDecimal usd) {
        pendingLedger.add(ledgerRow);
        pendingSpend = pendingSpend.add(usd);
    }

    /** A statement that carried {@code p} failed: what it carried is pending again (newer changes win). */
    void restorePending(JobTransitions.Progress p) {
        p.stagesPatch().getMap().forEach(pendingStages::putIfAbsent);
        p.falRequests().forEach(e -> {
            ai.atelier.jobs.FalRequest r = job.falRequests.get(e.getKey()).orElse(null);
            if (r != null) {
                pendingRequests.putIfAbsent(e.getKey(), r);
            }
        });
        p.spend().ledger().forEach(pendingLedger::add);
        pendingSpend = pendingSpend.add(p.spend().usd());
        if (pendingCategories == null) {
            pendingCategories = p.categories();
        }
        if (pendingPrompt == null) {
            pendingPrompt = p.finalPrompt();
        }
    }



    // ---- live progress ----------------------------------------------------------------------------------

    /** Reports the run's progress (never backwards: a later report of a lower percent keeps the higher one). */
    public void report(String stage, int percent, String message, Integer queuePosition, List<String> logs) {
        this.percent = Math.max(this.percent, percent);
        live.update(new Progress("running", stage, this.percent, message, queuePosition, logs == null ? List.of() : new ArrayList<>(logs),
                Instant.now()));
    }

    int percent() {
        return percent;
    }

    LiveState live() {
        return live;
    }
}
