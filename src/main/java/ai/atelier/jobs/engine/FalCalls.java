package ai.atelier.jobs.engine;

import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

import jakarta.enterprise.context.ApplicationScoped;

import ai.atelier.config.AtelierConfig;
import ai.atelier.fal.FalClient;
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
@ApplicationScoped
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
                    return fal.submit(call.endpointId(), call.payload().get(), ctx.job.priority == 2 ? "low" : "normal")
                            .emitOn(ctx::onContext)
                            .chain(rid -> recorded(ctx, call, FalRequest.submitted(call.stage(), call.style(), call.step(), call.endpointId(), rid)));
                });
        java.util.function.Consumer<FalStatus> onStatus = status -> {
            timing.saw(status, call.endpointId());
            call.onStatus().accept(status);
        };
        // detached: a wait of minutes must not hold the finished submit (and its guard) in memory
        return Unis.then(request, r -> {
            span.setAttribute(Traces.RESPONSE_ID, r.requestId());
            return engine.waiting(ctx, () -> waits.await(call.endpointId(), r.requestId(), config.requestDeadline(), onStatus))
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
