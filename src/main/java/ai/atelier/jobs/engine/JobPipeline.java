package ai.atelier.jobs.engine;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;

import ai.atelier.jobs.Failure;
import ai.atelier.jobs.Job;
import ai.atelier.jobs.JobFile;
import ai.atelier.jobs.JobFiles;
import ai.atelier.jobs.JobStatus;
import ai.atelier.jobs.JobTransitions;
import ai.atelier.progress.Progress;
import ai.atelier.telemetry.JobMetrics;
import ai.atelier.telemetry.Traces;
import ai.atelier.util.Unis;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;

/**
 * A job's run, top to bottom: start (queued → running) → ingest (only inputs not stored at submit) → categorise → prompt → infer → store → finish
 * (a product shoot: start → categorise → shoot → finish; an LLM completion: start → prompt → infer →
 * finish). Each stage is its own class and returns what it produced ({@link Produced}) for the stages
 * after it; a run skips the stages an earlier run finished (see {@link Stage}). The job ends in exactly
 * one transition: succeeded, failed with a stored reason, or (by someone else) cancelled.
 */
@Singleton
public class JobPipeline {

    private final IngestStage ingest;
    private final List<Stage> generate;
    private final List<Stage> shoot;
    private final List<Stage> completion;
    private final Engine engine;
    private final JobTransitions transitions;
    private final Outputs outputs;
    private final Traces traces;
    private final JobMetrics metrics;
    private final ai.atelier.cache.ResultCache cache;

    JobPipeline(IngestStage ingest, CategoriseStage categorise, PromptStage prompt, InferStage infer, StoreStage store, ShootStage shootStage, Engine engine,
            JobTransitions transitions, Outputs outputs, Traces traces, JobMetrics metrics, ai.atelier.cache.ResultCache cache) {
        this.cache = cache;
        this.traces = traces;
        this.metrics = metrics;
        this.ingest = ingest;
        this.generate = List.of(categorise, prompt, infer, store);
        this.shoot = List.of(categorise, shootStage);
        this.completion = List.of(prompt, infer);
        this.engine = engine;
        this.transitions = transitions;
        this.outputs = outputs;
    }

    /** Runs (or resumes) a job to its end; never fails: a failure is recorded on the job. */
    Uni<Void> run(RunContext ctx) {
        List<Stage> kindStages = switch (ctx.job.kind) {
            case Job.KIND_SHOOT -> shoot;
            case Job.KIND_LLM -> completion;
            default -> generate;
        };
        // inputs accepted as URLs only (a batch item's) are fetched first; other jobs' records show no such stage
        List<Stage> stages = ingest.skipReason(ctx) != null ? kindStages
                : java.util.stream.Stream.concat(java.util.stream.Stream.of((Stage) ingest), kindStages.stream()).toList();
        ctx.trace = traces.startRun(ctx.job.traceParent, ctx.job.id.toString(), ctx.job.tenant, ctx.job.model, ctx.context);
        return Unis.then(engine.work(ctx).chain(() -> start(ctx)), ok -> stages(ctx, stages, 0, Produced.NOTHING))
                .chain(produced -> succeed(ctx, produced))
                .onFailure().recoverWithUni(e -> ended(ctx, e))
                .eventually(() -> {
                    engine.rest(ctx);
                    Traces.end(ctx.trace, null);
                });
    }

    /**
     * queued → running, the run's first step. A fresh job's first stage records a fal request within
     * milliseconds, and that statement carries the move; a job that may not write before it waits or ends (a
     * shoot, whose styles write only themselves; a retried job that resumes a fal request it already has, or
     * only stores what one produced) writes it now: a client never reads queued while fal works on it, and the
     * job's end always finds it running.
     */
    private Uni<Void> start(RunContext ctx) {
        Job job = ctx.job;
        boolean fresh = job.falRequests.select(r -> r.state().usable()).isEmpty();
        Log.infof("job %s: running %s (%s)", job.id, job.model, fresh ? "new" : "resuming its fal requests");
        boolean writesSoon = !Job.KIND_SHOOT.equals(job.kind) && fresh;
        if (job.status == JobStatus.RUNNING || writesSoon) {
            return Uni.createFrom().voidItem();
        }
        return engine.advance(ctx, null).invoke(active -> {
            if (!active) {
                throw new RunContext.Stopped(RunContext.Stop.CANCELLED);
            }
        }).replaceWithVoid();
    }

    private Uni<Produced> stages(RunContext ctx, List<Stage> stages, int i, Produced produced) {
        if (i == stages.size()) {
            return Uni.createFrom().item(produced);
        }
        Stage stage = stages.get(i);
        if (ctx.finished(stage.name())) {
            return stages(ctx, stages, i + 1, produced);
        }
        String skip = stage.skipReason(ctx);
        if (skip != null) {
            ctx.skipped(stage.name(), skip);
            return stages(ctx, stages, i + 1, produced);
        }
        long started = System.nanoTime();
        ctx.entering(stage.name());
        ctx.stageTrace = traces.startStage(ctx.trace, stage.name(), ctx.job.id.toString(), ctx.context);
        // detached: the stages after a finished one do not keep its operators alive (most of a job's life is one long wait)
        return Unis.then(stage.run(ctx, produced)
                .onTermination().invoke((ok, failure, cancelled) -> {
                    metrics.stage(stage.name(), System.nanoTime() - started);
                    Traces.end(ctx.stageTrace, failure instanceof RunContext.Stopped ? null : failure);
                    ctx.stageTrace = null;
                    traces.endStage(ctx.context, ctx.trace);
                }), next -> stages(ctx, stages, i + 1, next));
    }

    /** The job's end when all went well: one statement (with the stages' records and the webhook), then the live state. */
    private Uni<Void> succeed(RunContext ctx, Produced produced) {
        List<JobFile> files = produced.outputs() == null ? List.of() : produced.outputs();
        return engine.commit(ctx, "record the job's end", p -> transitions.succeed(ctx.job, ctx.owner, JobFiles.of(files), produced.textResult(), p))
                .chain(won -> {
                    if (!won) {
                        // cancelled while it stored (or taken over): what it stored must not stay
                        Log.infof("job %s: ended elsewhere (cancelled or taken over) before its end was recorded; outputs discarded", ctx.job.id);
                        return files.isEmpty() ? Uni.createFrom().voidItem() : outputs.discard(files);
                    }
                    Log.infof("job %s: succeeded with %d output(s)", ctx.job.id, files.size());
                    metrics.finished(ctx.job.model, JobStatus.SUCCEEDED.wire(), null);
                    return terminal(ctx, "Done");
                });
    }

    private Uni<Void> ended(RunContext ctx, Throwable e) {
        if (e instanceof RunContext.Stopped stopped) {
            Log.infof("job %s: run stopped (%s)", ctx.job.id, stopped.why);
            // cancelled: its pending cache entries go now (identical requests waiting on them take over); a run that lost its lease
            // or stops for a shutdown keeps them: the instance that resumes the job fills them
            return stopped.why == RunContext.Stop.CANCELLED ? releaseCache(ctx) : Uni.createFrom().voidItem();
        }
        Failure why = Failure.of(e, "while running the job");
        Log.warnf("job %s: failed: %s: %s", ctx.job.id, why.code(), why.message());
        if (why.unexpected()) {
            Log.errorf(e, "job %s: unexpected failure", ctx.job.id);
        }
        // the stage that failed is marked in the same statement that says failed: a retry always finds it
        String stage = ctx.currentStage();
        if (stage != null && ctx.stageRunning(stage)) {
            Map<String, Object> error = new LinkedHashMap<>();
            error.put("code", why.code());
            error.put("message", why.message());
            ctx.failed(stage, error);
        }
        return engine.work(ctx)
                .chain(() -> engine.commit(ctx, "record the job's failure", p -> transitions.fail(ctx.job, ctx.owner, why, p)))
                // a failure is never cached: the entries this job was calling fal for go (waiters take over at their next look)
                .call(() -> releaseCache(ctx))
                .chain(won -> {
                    if (!won) {
                        return Uni.createFrom().voidItem();
                    }
                    metrics.finished(ctx.job.model, JobStatus.FAILED.wire(), why.code());
                    io.opentelemetry.api.trace.Span.fromContext(ctx.trace).setStatus(io.opentelemetry.api.trace.StatusCode.ERROR, why.message())
                            .setAttribute(Traces.ERROR_TYPE, why.code());
                    return terminal(ctx, why.message());
                })
                .onFailure().invoke(x -> Log.errorf(x, "job %s: could not record its failure", ctx.job.id))
                .onFailure().recoverWithNull();
    }

    /** Lets go of the cache entries the job was calling fal for (only a job whose settings cache can own one: no statement for the others). */
    private Uni<Void> releaseCache(RunContext ctx) {
        ai.atelier.cache.ResultCache.Settled settled = ai.atelier.cache.ResultCache.Settled.of(ctx.job.options);
        return settled != null && settled.cached() ? cache.release(ctx.job.id) : Uni.createFrom().voidItem();
    }

    /** The job's end in the live store (awaited: a client told the job ended must find it ended). */
    private Uni<Void> terminal(RunContext ctx, String message) {
        Job job = ctx.job;
        ctx.live().update(new Progress(job.status.wire(), "finish", 100, message, null, List.of(), Instant.now()));
        return ctx.live().flushed();
    }
}
