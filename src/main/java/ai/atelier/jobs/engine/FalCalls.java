package ai.atelier.jobs.engine;

import java.time.Duration;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

import jakarta.enterprise.context.ApplicationScoped;

import ai.atelier.config.AtelierConfig;
import ai.atelier.fal.FalClient;
import ai.atelier.fal.FalResult;
import ai.atelier.fal.FalStatus;
import ai.atelier.fal.FalWaits;
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
    private final AtelierConfig.Fal config;

    public FalCalls(FalClient fal, FalWaits waits, Engine engine, AtelierConfig config) {
        this.fal = fal;
        this.waits = waits;
        this.engine = engine;
        this.config = config.fal();
    }

    /** One fal call as a stage describes it. */
    public record Call(String what, String endpointId, Supplier<JsonObject> payload, String recordedRequestId,
            Function<String, Uni<Boolean>> record, Consumer<FalStatus> onStatus) {
    }

    /**
     * The result of the call's request: the recorded one, or a new one submitted now (only while the run
     * is active). {@code record} writes the new id where a resumed run finds it and answers whether the
     * job is still this run's; when it is not (a cancel won the race, the lease is gone), the request is
     * cancelled at fal at once, so nobody pays for a job nobody wants.
     */
    public Uni<FalResult> call(RunContext ctx, Call call) {
        Uni<String> requestId = call.recordedRequestId() != null ? Uni.createFrom().item(call.recordedRequestId())
                : Uni.createFrom().deferred(() -> {
                    ctx.ensureActive();
                    return fal.submit(call.endpointId(), call.payload().get(), ctx.job.priority == 2 ? "low" : "normal")
                            .emitOn(ctx::onContext)
                            .call(rid -> recorded(ctx, call, rid));
                });
        return requestId.chain(rid -> engine.waiting(ctx, () -> waits.await(call.endpointId(), rid, config.requestDeadline(), call.onStatus()))
                .chain(done -> Uni.createFrom().deferred(() -> {
                    ctx.ensureActive();
                    return fal.result(call.endpointId(), rid).emitOn(ctx::onContext);
                })));
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
