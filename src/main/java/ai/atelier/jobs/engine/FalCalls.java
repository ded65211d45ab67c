package ai.atelier.jobs.engine;

import java.time.Duration;
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
import ai.atelier.models.LlmCompletion;
import ai.atelier.telemetry.JobMetrics;
import ai.atelier.telemetry.Traces;
import ai.atelier.util.Unis;
import io.opentelemetry.api.trace.Span;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;

/**
 * Every fal call a stage makes, made durable the same way: submit → record the request id (before
 * anything else: a run resumed after a crash waits for that request instead of paying fal again) →
 * wait ({@link FalWaits}: stream, webhook, poll, park) → fetch the result. A stage that already has a
 * request id recorded skips the submit. The run holds its work permit to submit and to fetch, not to wait.
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

    /** One fal call as a stage describes it. */
    public record Call(String stage, String what, String endpointId, Supplier<JsonObject> payload, String recordedRequestId,
            Function<String, Uni<Boolean>> record, Consumer<FalStatus> onStatus) {
    }

    /**
     * The result of the call's request: the recorded one, or a new one submitted now (only while the run
     * is active). {@code record} writes the new id where a resumed run finds it and answers whether the
     * job is still this run's; when it is not (a cancel won the race, the lease is gone), the request is
     * cancelled at fal at once, so nobody pays for a job nobody wants.
     */
    public Uni<FalResult> call(RunContext ctx, Call call) {
        String operation = LlmCompletion.VISION.equals(call.endpointId()) || LlmCompletion.ROUTER.equals(call.endpointId()) ? "chat"
                : "generate_content";
        Span span = traces.startFal(ctx.stageTrace != null ? ctx.stageTrace : ctx.trace, operation, call.endpointId(), ctx.job.id.toString());
        Timing timing = new Timing(call.recordedRequestId() == null ? System.nanoTime() : 0);
        Uni<String> requestId = call.recordedRequestId() != null ? Uni.createFrom().item(call.recordedRequestId())
                : Uni.createFrom().deferred(() -> {
                    ctx.ensureActive();
                    return fal.submit(call.endpointId(), call.payload().get(), ctx.job.priority == 2 ? "low" : "normal")
                            .emitOn(ctx::onContext)
                            .call(rid -> recorded(ctx, call, rid));
                });
        java.util.function.Consumer<FalStatus> onStatus = status -> {
            timing.saw(status, call.endpointId());
            call.onStatus().accept(status);
        };
        // detached: a wait of minutes must not hold the finished submit (and its guard) in memory
        return Unis.then(requestId, rid -> {
            span.setAttribute(Traces.RESPONSE_ID, rid);
            return engine.waiting(ctx, () -> waits.await(call.endpointId(), rid, config.requestDeadline(), onStatus))
                    .chain(done -> Uni.createFrom().deferred(() -> {
                        timing.completed(done, call.endpointId());
                        ctx.ensureActive();
                        return fal.result(call.endpointId(), rid).emitOn(ctx::onContext);
                    }))
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

    /** The call's ledger row, from fal's own figures: billable units × the unit price in force; written with the run's next statement. */
    private Uni<Void> spent(RunContext ctx, Call call, FalResult result) {
        return pricing.price(call.endpointId()).emitOn(ctx::onContext).invoke(price -> {
            Double units = result.billableUnits();
            if (units == null && price != null && price.perDollar() && result.body().getValue("usage") instanceof JsonObject u
                    && u.getValue("cost") instanceof Number cost) {
                units = cost.doubleValue(); // a token-priced call: its units are the dollars its usage says
            }
            java.math.BigDecimal usd = units == null ? java.math.BigDecimal.ZERO : FalPricing.cost(price, units);
            JsonObject row = ai.atelier.usage.Ledger.row(ctx.job.tenant, ctx.job.apiKeyId, ctx.job.id, call.stage(), ctx.job.model,
                    call.endpointId(), result.requestId(), units, price == null ? null : price.unit(), price == null ? null : price.unitPrice(), usd,
                    price == null ? null : price.readAt(), false);
            if (price == null || units == null) {
                Log.warnf("job %s: fal call %s on %s recorded without a price (%s)", ctx.job.id, result.requestId(), call.endpointId(),
                        price == null ? "fal's pricing API gave none" : "fal sent no billable units");
            }
            ctx.spent(row, usd);
        }).replaceWithVoid();
    }

    private Uni<Void> recorded(RunContext ctx, Call call, String rid) {
        return call.record().apply(rid)
                .chain(won -> {
                    if (won) {
                        Log.infof("job %s: %s: fal request %s on %s", ctx.job.id, call.what(), rid, call.endpointId());
                        return Uni.createFrom().voidItem();
                    }
                    Log.infof("job %s: no longer this run's (cancelled or taken over) while fal request %s was submitted; cancelling it at fal",
                            ctx.job.id, rid);
                    return fal.cancel(call.endpointId(), rid).onFailure().recoverWithItem("UNREACHABLE")
                            .chain(answer -> Uni.createFrom().<Void>failure(new RunContext.Stopped(RunContext.Stop.CANCELLED)));
                });
    }

    /** A wait's deadline, for stages that wait on fal without {@link #call}. */
    Duration deadline() {
        return config.requestDeadline();
    }
}
