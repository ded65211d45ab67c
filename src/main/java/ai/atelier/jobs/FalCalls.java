package ai.atelier.jobs;

import java.time.Duration;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.Supplier;

import jakarta.enterprise.context.ApplicationScoped;

import ai.atelier.config.AtelierConfig;
import ai.atelier.fal.FalClient;
import ai.atelier.fal.FalException;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;

/**
 * A fal call a stage depends on, made durable: the request id is recorded the moment fal returns it, and
 * a stage that already has one (the job is resumed after a crash) waits for that request instead of
 * paying fal again. Used by the categorise and prompt stages and by each style of a product shoot.
 */
@ApplicationScoped
public class FalCalls {

    private static final ai.atelier.fal.FalStatus UNKNOWN = new ai.atelier.fal.FalStatus("UNKNOWN", null, java.util.List.of(), null);

    private final FalClient fal;
    private final AtelierConfig.Fal config;

    private final io.vertx.mutiny.sqlclient.Pool pool;

    public FalCalls(FalClient fal, AtelierConfig config, io.vertx.mutiny.sqlclient.Pool pool) {
        this.pool = pool;
        this.fal = fal;
        this.config = config.fal();
    }

    /**
     * The result of one fal request: the recorded one when {@code recordedRequestId} is set, else a new
     * one, submitted only while this instance still holds the job's lease.
     *
     * @param record writes the new request id where a resumed run finds it; must complete before the wait
     */
    public Uni<JsonObject> once(UUID jobId, String what, String endpointId, Supplier<JsonObject> payload, String recordedRequestId,
            Supplier<Uni<Boolean>> stillOwned, Function<String, Uni<Void>> record) {
        Uni<String> requestId = recordedRequestId != null
                ? Uni.createFrom().item(recordedRequestId)
                : stillOwned.get().chain(owned -> {
                    if (!owned) {
                        throw new JobPipeline.LeaseLost(jobId);
                    }
                    return fal.submit(endpointId, payload.get(), "normal")
                            .call(record::apply)
                            .call(rid -> cancelledMeanwhile(jobId, endpointId, rid))
                            .invoke(rid -> Log.infof("job %s: %s: fal request %s on %s", jobId, what, rid, endpointId));
                });
        return requestId.chain(rid -> awaitDone(endpointId, rid).chain(() -> fal.result(endpointId, rid)));
    }

    /**
     * A cancel that came while the submit was on its way found no request id to cancel at fal: this one
     * must be cancelled here, or it runs (and is billed) for a job nobody wants any more.
     */
    Uni<Void> cancelledMeanwhile(UUID jobId, String endpointId, String requestId) {
        return pool.preparedQuery("select status from jobs where id = $1").execute(io.vertx.mutiny.sqlclient.Tuple.of(jobId))
                .chain(rows -> cancelIfCancelled(jobId, endpointId, requestId, rows.rowCount() == 0 ? null : rows.iterator().next().getString(0)));
    }

    /** {@link #cancelledMeanwhile} when the job's status is already known (read by the statement that recorded the request). */
    Uni<Void> cancelIfCancelled(UUID jobId, String endpointId, String requestId, String status) {
        if (!"cancelled".equals(status)) {
            return Uni.createFrom().voidItem();
        }
        Log.infof("job %s: cancelled while fal request %s was being submitted; cancelling it at fal", jobId, requestId);
        return fal.cancel(endpointId, requestId).onFailure().recoverWithItem("UNREACHABLE")
                .chain(answer -> Uni.createFrom().failure(new JobPipeline.Cancelled(jobId)));
    }

    /**
     * Polls until fal says COMPLETED. A repeat, not a recursion: a request that takes many polls holds
     * one subscription, not a chain growing with each poll.
     */
    Uni<Void> awaitDone(String endpointId, String requestId) {
        Duration interval = config.pollInterval();
        // a status call that ran out of retries is not the request's end: fal still runs it; ask again until the deadline
        return Uni.createFrom().deferred(() -> fal.status(endpointId, requestId)
                        .onFailure(e -> e instanceof FalException f && f.retryable()).recoverWithItem(() -> UNKNOWN))
                .repeat().withDelay(interval).whilst(s -> !s.completed())
                .select().last().toUni()
                .ifNoItem().after(config.requestDeadline())
                .failWith(() -> new FalException(0, "deadline", "fal did not finish within " + config.requestDeadline(), null, true))
                .replaceWithVoid();
    }

    /** The id recorded under {@code key} in a JSON map of the job row, if any. */
    static String recorded(java.util.Map<String, Object> map, String key) {
        Object v = map == null ? null : map.get(key);
        return v instanceof String s && !s.isBlank() ? s : null;
    }
}
