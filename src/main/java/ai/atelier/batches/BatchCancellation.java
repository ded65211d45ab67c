package ai.atelier.batches;

import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.inject.Singleton;

import ai.atelier.config.AtelierConfig;
import ai.atelier.jobs.JobCancellation;
import ai.atelier.problem.Problem;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

/**
 * Cancels a batch (by its client, or its deadline): the batch turns cancelling first (one guarded statement), its held
 * items (never at fal) are cancelled in one statement, and the ones released are cancelled one by one through
 * {@link JobCancellation}, as a job is, through to fal, a few at a time. The feeder carries on any cancelling batch on
 * every round, so a cancel an instance died in the middle of still ends; the batch ends once its last item has.
 */
@Singleton
public class BatchCancellation {

    private static final int PAGE = 500;
    /** Rounds of one cancel pass: an item a cancel could not move (ended meanwhile) is read again at most this often. */
    private static final int MAX_ROUNDS = 40;

    private final BatchRepository batches;
    private final BatchReads reads;
    private final JobCancellation cancellation;
    private final int concurrency;
    /** Batches this instance is cancelling now: one pass each at a time. */
    private final Set<UUID> underway = ConcurrentHashMap.newKeySet();

    public BatchCancellation(BatchRepository batches, BatchReads reads, JobCancellation cancellation, AtelierConfig config) {
        this.batches = batches;
        this.reads = reads;
        this.cancellation = cancellation;
        this.concurrency = Math.max(1, config.batches().cancelConcurrency());
    }

    /** Cancels what has not ended; answers the batch as it is then. A batch that ended already is a 409. */
    public Uni<BatchView> cancel(String tenant, UUID id) {
        return batches.cancel(tenant, id)
                .chain(won -> reads.require(tenant, id).invoke(batch -> {
                    if (!won && !"cancelling".equals(batch.status())) {
                        throw new Problem(409, "batch-ended", "Batch ended", "Batch " + id + " has ended (" + batch.status() + "): nothing to cancel")
                                .with("batch_status", batch.status());
                    }
                }))
                // the held items at once (one statement), so the answer already counts them; the others in the background
                .call(batch -> batches.cancelHeld(id, "cancelled", "Cancelled with its batch"))
                // read before the rest start, so the answer is the batch as cancelling left it, not a race with them
                .chain(batch -> reads.get(tenant, id))
                .invoke(batch -> carryOn(id, tenant, "cancelled"));
    }

    /** Cancels the unfinished items of a cancelling batch, unless this instance is at it already; never fails. */
    void carryOn(UUID id, String tenant, String why) {
        if (!underway.add(id)) {
            return;
        }
        boolean expired = "expired".equals(why);
        String code = expired ? "batch_expired" : "cancelled";
        String reason = expired ? "Its batch passed its deadline and was cancelled" : "Cancelled with its batch";
        batches.cancelHeld(id, code, reason)
                .chain(n -> round(id, tenant, code, reason, 0))
                .eventually(() -> underway.remove(id))
                .subscribe().with(n -> Log.infof("batch %s: %s", id, expired ? "expired; unfinished items cancelled" : "items cancelled"),
                        e -> Log.warnf("batch %s: cancelling its items failed (the feeder tries again): %s", id, e.getMessage()));
    }

    private Uni<Void> round(UUID id, String tenant, String code, String reason, int round) {
        if (round >= MAX_ROUNDS) {
            return Uni.createFrom().voidItem();
        }
        return batches.unfinished(id, PAGE).chain(ids -> ids.isEmpty() ? Uni.createFrom().voidItem()
                : cancelEach(tenant, ids, code, reason).chain(() -> round(id, tenant, code, reason, round + 1)));
    }

    private Uni<Void> cancelEach(String tenant, List<UUID> ids, String code, String reason) {
        return Multi.createFrom().iterable(ids)
                .onItem().transformToUni(job -> cancellation.cancel(tenant, job, code, reason).replaceWithVoid()
                        // ended meanwhile (a 409), or fal did not answer: the row is cancelled all the same, or has ended
                        .onFailure().recoverWithNull())
                .merge(concurrency).collect().last().replaceWithVoid();
    }
}
