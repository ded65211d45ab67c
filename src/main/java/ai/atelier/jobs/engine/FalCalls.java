package ai.atelier.jobs.engine;

import java.time.Duration;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

import jakarta.inject.Singleton;

import ai.atelier.config.AtelierConfig;
import ai.atelier.fal.FalClient;
import ai.atelier.fal.FalException;
import ai.atelier.fal.FalPricing;
import ai.atelier.fal.FalResult;
import ai.atelier.fal.FalStatus;
import ai.atelier.fal.FalWaits;
import ai.atelier.jobs.FalRequest;
import ai.atelier.models.LlmCompletion;
import ai.atelier.telemetry.JobMetrics;
import ai.atelier.telemetry.Traces;
import ai.atelier.util.Unis;
import io.opentelemetry.api.trace.Span;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;

/**
 * Every fal call a stage makes, made durable the same way: submit → record the request in the job's fal
 * requests and persist it (before anything else: a run resumed after a crash waits for that request instead
 * of paying fal again) → wait ({@link FalWaits}: stream, webhook, poll, park) → fetch the result → its ledger
 * row. A place that already has a usable request skips the submit. The run holds its work permit to submit
 * and to fetch, not to wait.
 */
@Singleton
public class FalCalls {

    private final FalClient fal;
    private final FalWaits waits;
    private final Engine engine;
    private final FalPricing pricing;
    private final AtelierConfig.Fal config;
    private final Traces traces;
    private final JobMetrics metrics;

    public FalCalls(FalClient fal, FalWaits waits, Engine engine, FalPricing pricing, AtelierConfig config, Traces traces, JobMetrics metrics) {
        this.traces = traces;
        this.metrics = metrics;
        this.pricing = pricing;
        this.fal = fal;
        this.waits = waits;
        this.engine = engine;
        this.config = config.fal();
    }

    /**
     * One fal call as a stage describes it: where it belongs (stage, a shoot's style, the step of the plan), what
     * to send, and how its request is persisted ({@code persist}: the statement that writes the job's pending
     * state, answering whether the job is still the run's).
     */
    public record Call(String stage, Integer style, int step, String what, String endpointId, Supplier<JsonObject> payload,
            Function<FalRequest, Uni<Boolean>> persist, Consumer<FalStatus> onStatus) {
    }

    /**
     * The result of the call's request: the one recorded at its place, or a new one submitted now (only while
     * the run is active). The call itself records the request in the job's fal requests ({@link ai.atelier.jobs.FalRequests}, the
     * one home of request ids) and has it persisted before anything else; when the job is no longer the run's
     * (a cancel won the race, the lease is gone), the request is cancelled at fal at once, so nobody pays for a
     * job nobody wants. Its result fetched, the request is completed (written with the run's next statement).
     */
    public Uni<FalResult> call(RunContext ctx, Call call) {
        String operation = LlmCompletion.VISION.equals(call.endpointId()) || LlmCompletion.ROUTER.equals(call.endpointId()) ? "chat"
                : "generate_content";
        Span span = traces.startFal(ctx.stageTrace != null ? ctx.stageTrace : ctx.trace, operation, call.endpointId(), ctx.job.id.toString());
        FalRequest recorded = ctx.job.falRequests.get(FalRequest.key(call.stage(), call.style(), call.step()))
                .filter(r -> r.state().usable() && (r.endpoint() == null || r.endpoint().equals(call.endpointId()))).orElse(null);
        Timing timing = new Timing(recorded == null ? System.nanoTime() : 0);
        Uni<FalRequest> request = recorded != null ? Uni.createFrom().item(recorded)
                : Uni.createFrom().deferred(() -> {
                    ctx.ensureActive();
                    return fal.submit(call.endpointId(), call.payload().get(), ctx.job.priority >= 2 ? "low" : "normal")
                            .emitOn(ctx::onContext)
                            .chain(rid -> recorded(ctx, call, FalRequest.submitted(call.stage(), call.style(), call.step(), call.endpointId(), rid)));
                });
        java.util.function.Consumer<FalStatus> onStatus = status -> {
            timing.saw(status, call.endpointId());
            call.onStatus().accept(status);
        };
        // detached: a wait of minutes must not hold the finished submit (and its guard) in memory
        // a model with a deadline of its own (video: tens of minutes) is held to it for its own endpoints, counted from the
        // submit (a resumed run has less left), and its request is cancelled at fal when it passes; other calls keep the
        // service-wide deadline, after which fal may still finish and a retry waits for the same request
        Optional<Duration> own = ctx.model.endpoints().contains(call.endpointId())
                ? ctx.model.requestDeadline().map(d -> config.modelDeadline().orElse(d))
                : Optional.empty();
        return Unis.then(request, r -> {
            span.setAttribute(Traces.RESPONSE_ID, r.requestId());
            Duration deadline = own.map(d -> left(d, r)).orElse(config.requestDeadline());
            return engine.waiting(ctx, () -> waits.await(call.endpointId(), r.requestId(), deadline, onStatus))
                    .onFailure(e -> own.isPresent() && e instanceof FalException f && "deadline".equals(f.errorType()))
                    .recoverWithUni(e -> pastDeadline(ctx, call, r, own.get()))
                    .chain(done -> Uni.createFrom().deferred(() -> {
                        timing.completed(done, call.endpointId());
                        ctx.ensureActive();
                        return fal.result(call.endpointId(), r.requestId()).emitOn(ctx::onContext);
                    }))
                    .invoke(result -> {
                        if (r.state() == FalRequest.State.SUBMITTED) {
                            ctx.requested(r.moved(FalRequest.State.COMPLETED));
                        }
                    })
                    .call(result -> spent(ctx, call, result));
        })
                .onItem().invoke(result -> Traces.tokens(span, result.body()))
                .onTermination().invoke((result, failure, cancelled) -> Traces.end(span, failure instanceof RunContext.Stopped ? null : failure));
    }

    /** What is left of a model's own deadline for a request submitted at its recorded time (a poll's worth at least: fal may be done). */
    private Duration left(Duration deadline, FalRequest r) {
        if (r.submittedAt() == null) {
            return deadline;
        }
        Duration left = deadline.minus(Duration.between(r.submittedAt(), java.time.Instant.now()));
        return left.compareTo(config.pollInterval()) < 0 ? config.pollInterval() : left;
    }

    /**
     * A request past its model's own deadline is cancelled at fal, so nobody pays for a clip nobody waits for, and the job
     * fails {@code deadline} (a retry submits anew). fal may answer that it had just finished: then its result is taken.
     */
    private Uni<FalStatus> pastDeadline(RunContext ctx, Call call, FalRequest r, Duration deadline) {
        Log.infof("job %s: fal request %s on %s passed the model's deadline (%s); cancelling it at fal", ctx.job.id, r.requestId(),
                call.endpointId(), deadline);
        return fal.cancel(call.endpointId(), r.requestId()).onFailure().recoverWithItem("UNREACHABLE").emitOn(ctx::onContext).map(answer -> {
            if ("ALREADY_COMPLETED".equals(answer)) {
                return true;
            }
            if (r.state() == FalRequest.State.SUBMITTED) {
                ctx.requested(r.moved(FalRequest.State.CANCELLED));
            }
            throw new ai.atelier.jobs.StageFailed("deadline", "fal did not finish request " + r.requestId() + " on " + call.endpointId() + " within the model's deadline of "
                    + (deadline.toSeconds() % 60 == 0 ? deadline.toMinutes() + " min" : deadline.toSeconds() + " s") + "; the request was cancelled at fal (" + answer + ")");
        }).chain(done -> engine.work(ctx)) // done after all: its result is fetched as usual, with the permit a fetch holds
                .replaceWith((FalStatus) null);
    }

    /**
     * A request's time in fal's queue and in inference, from the statuses a wait sees: submit → first
     * IN_PROGRESS is queue time, IN_PROGRESS → COMPLETED inference (fal's own {@code inference_time} when it
     * sends one). A resumed run did not see the submit, so it records no queue time.
     */
    private final class Timing {
        final long submittedNanos;
        long startedNanos;
        boolean recorded;

        Timing(long submittedNanos) {
            this.submittedNanos = submittedNanos;
        }

        void saw(FalStatus status, String endpoint) {
            if (startedNanos == 0 && !status.queued()) {
                startedNanos = System.nanoTime();
                if (submittedNanos != 0) {
                    metrics.falQueue(endpoint, startedNanos - submittedNanos);
                }
            }
        }

        void completed(FalStatus status, String endpoint) {
            if (recorded) {
                return;
            }
            recorded = true;
            if (status != null && status.inferenceSeconds() != null) {
                metrics.falInference(endpoint, (long) (status.inferenceSeconds() * 1e9));
            } else if (startedNanos != 0) {
                metrics.falInference(endpoint, System.nanoTime() - startedNanos);
            } else if (submittedNanos != 0) {
                // completion was the first news (a webhook, or a poll after it ended): all of it counts as inference
                metrics.falInference(endpoint, System.nanoTime() - submittedNanos);
            }
        }
    }

    /** The call's ledger row ({@link ai.atelier.usage.Charges}, from fal's own figures); written with the run's next statement. */
    private Uni<Void> spent(RunContext ctx, Call call, FalResult result) {
        return pricing.price(call.endpointId()).emitOn(ctx::onContext).invoke(price -> {
            ai.atelier.usage.Charges.Charge charge = ai.atelier.usage.Charges.of(ctx.job.tenant, ctx.job.apiKeyId, ctx.job.id, call.stage(),
                    ctx.job.model, call.endpointId(), price, result);
            if (!charge.priced()) {
                Log.warnf("job %s: fal call %s on %s recorded without a price (%s)", ctx.job.id, result.requestId(), call.endpointId(),
                        price == null ? "fal's pricing API gave none" : "fal sent no billable units");
            }
            ctx.spent(charge.row(), charge.usd());
        }).replaceWithVoid();
    }

    private Uni<FalRequest> recorded(RunContext ctx, Call call, FalRequest r) {
        ctx.requested(r);
        return call.persist().apply(r)
                .chain(won -> {
                    if (won) {
                        Log.infof("job %s: %s: fal request %s on %s", ctx.job.id, call.what(), r.requestId(), call.endpointId());
                        return Uni.createFrom().item(r);
                    }
                    Log.infof("job %s: no longer this run's (cancelled or taken over) while fal request %s was submitted; cancelling it at fal",
                            ctx.job.id, r.requestId());
                    return fal.cancel(call.endpointId(), r.requestId()).onFailure().recoverWithItem("UNREACHABLE")
                            .chain(answer -> Uni.createFrom().<FalRequest>failure(new RunContext.Stopped(RunContext.Stop.CANCELLED)));
                });
    }
}
