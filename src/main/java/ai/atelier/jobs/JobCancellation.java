package ai.atelier.jobs;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;

import ai.atelier.fal.FalClient;
import ai.atelier.problem.Problem;
import ai.atelier.progress.Progress;
import ai.atelier.progress.ProgressStore;
import ai.atelier.webhooks.Webhooks;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;

/**
 * Cancels a job, by a client or by its deadline. A job not yet at fal is cancelled at once; one at
 * fal is cancelled there too and fal's answer is recorded with whether it may be billed. The row
 * turns cancelled first, so the pipeline that runs the job sees it and neither pays fal nor stores
 * outputs afterwards.
 */
@ApplicationScoped
public class JobCancellation {

    private final FalClient fal;
    private final ProgressStore progress;
    private final Webhooks webhooks;

    public JobCancellation(FalClient fal, ProgressStore progress, Webhooks webhooks) {
        this.webhooks = webhooks;
        this.fal = fal;
        this.progress = progress;
    }

    /** Cancels and answers the job as it ended; a job already finished is a 409 problem. */
    public Uni<Job> cancel(String tenant, UUID id, String code, String reason) {
        Instant now = Instant.now();
        return Panache.withTransaction(() -> Job.<Job>find("id = ?1 and tenant = ?2", id, tenant).withLock(jakarta.persistence.LockModeType.PESSIMISTIC_WRITE)
                .firstResult()
                .onItem().ifNull().failWith(() -> Problem.notFound("There is no job " + id))
                .invoke(job -> {
                    if (job.status.terminal()) {
                        throw new Problem(409, "job-finished", "Job already finished", "Job " + id + " is already " + job.status.wire())
                                .with("status", job.status.wire());
                    }
                    job.status = JobStatus.CANCELLED;
                    job.cancelRequestedAt = now;
                    job.finishedAt = now;
                    job.updatedAt = now;
                    job.errorCode = code;
                    job.errorMessage = reason;
                    job.mayBeBilled = false;
                }))
                .call(job -> job.falRequestId == null ? Uni.createFrom().voidItem() : cancelAtFal(job))
                .call(job -> progress.put(id, new Progress("cancelled", job.stage, job.progress, reason, null, List.of(), now))
                        .onFailure().recoverWithNull())
                .call(job -> job.webhookUrl == null ? Uni.createFrom().voidItem() : webhooks.enqueue(id, "cancelled"))
                .invoke(job -> Log.infof("job %s: cancelled (%s)%s", id, code,
                        job.falCancelStatus == null ? "" : "; fal answered " + job.falCancelStatus));
    }

    private Uni<Void> cancelAtFal(Job job) {
        return fal.cancel(job.falEndpoint, job.falRequestId)
                .onFailure().recoverWithItem(e -> "UNREACHABLE")
                .chain(answer -> {
                    // removed from fal's queue (OK) or unknown there: nothing ran, nothing billed
                    boolean billable = !("OK".equals(answer) || "NOT_FOUND".equals(answer));
                    job.falCancelStatus = answer;
                    job.mayBeBilled = billable;
                    return Panache.withTransaction(() -> Job.update("falCancelStatus = ?1, mayBeBilled = ?2 where id = ?3",
                            answer, billable, job.id)).replaceWithVoid();
                });
    }
}
