package ai.atelier.jobs;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;

import ai.atelier.fal.FalClient;
import ai.atelier.models.LlmCompletion;
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

    private final FalWaits waits;

    public JobCancellation(FalClient fal, ProgressStore progress, Webhooks webhooks, FalWaits waits) {
        this.waits = waits;
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
                .call(job -> inFlightAtFal(job).isEmpty() ? Uni.createFrom().voidItem() : cancelAtFal(job))
                .call(job -> progress.put(id, new Progress("cancelled", job.stage, job.progress, reason, null, List.of(), now))
                        .onFailure().recoverWithNull())
                .call(job -> job.webhookUrl == null ? Uni.createFrom().voidItem() : webhooks.enqueue(id, "cancelled"))
                .invoke(job -> waits.release(id)) // parked here: end it now rather than when fal is done
                .invoke(job -> Log.infof("job %s: cancelled (%s)%s", id, code,
                        job.falCancelStatus == null ? "" : "; fal answered " + job.falCancelStatus));
    }

    /** A request of the job that may still run at fal: the main one, a running stage's LLM call, an unfinished style's. */
    record AtFal(String endpointId, String requestId) {
    }

    @SuppressWarnings("unchecked")
    static List<AtFal> inFlightAtFal(Job job) {
        List<AtFal> out = new java.util.ArrayList<>();
        if (job.falRequestId != null && job.falEndpoint != null) {
            out.add(new AtFal(job.falEndpoint, job.falRequestId));
        }
        if (job.stages != null) {
            for (var e : job.stages.entrySet()) {
                if (e.getValue() instanceof java.util.Map<?, ?> m && "running".equals(m.get("status")) && m.get("fal_request_id") instanceof String rid) {
                    out.add(new AtFal("categorise".equals(e.getKey()) ? LlmCompletion.VISION : LlmCompletion.ROUTER, rid));
                }
            }
        }
        for (java.util.Map<String, Object> style : ProductShoots.styles(job)) {
            if (!"succeeded".equals(style.get("status")) && !"failed".equals(style.get("status"))) {
                if (style.get("fal_request_id") instanceof String rid && style.get("fal_endpoint") instanceof String endpoint) {
                    out.add(new AtFal(endpoint, rid));
                } else if (style.get("prompt_request_id") instanceof String rid) {
                    out.add(new AtFal(LlmCompletion.ROUTER, rid));
                }
            }
        }
        return out;
    }

    /**
     * Cancels every request of the job that may still run at fal and records fal's answers: one word for
     * one request, the distinct words joined for several; billable when any request may have run.
     */
    private Uni<Void> cancelAtFal(Job job) {
        return io.smallrye.mutiny.Multi.createFrom().iterable(inFlightAtFal(job))
                .onItem().transformToUniAndMerge(r -> fal.cancel(r.endpointId(), r.requestId()).onFailure().recoverWithItem(e -> "UNREACHABLE"))
                .collect().asList()
                .chain(answers -> {
                    // removed from fal's queue (OK) or unknown there: nothing ran, nothing billed
                    boolean billable = answers.stream().anyMatch(a -> !("OK".equals(a) || "NOT_FOUND".equals(a)));
                    String answer = String.join(",", answers.stream().distinct().sorted().toList());
                    job.falCancelStatus = answer;
                    job.mayBeBilled = billable;
                    return Panache.withTransaction(() -> Job.update("falCancelStatus = ?1, mayBeBilled = ?2 where id = ?3",
                            answer, billable, job.id)).replaceWithVoid();
                });
    }
}
