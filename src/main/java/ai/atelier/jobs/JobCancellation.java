package ai.atelier.jobs;

import java.util.List;
import java.util.UUID;

import jakarta.inject.Singleton;
import jakarta.enterprise.event.Event;
import jakarta.enterprise.event.Observes;

import ai.atelier.config.AtelierConfig;
import ai.atelier.fal.FalClient;
import io.quarkus.logging.Log;
import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.Vertx;

/**
 * Cancels a job, by a client or by its deadline. The row turns cancelled first (one guarded statement),
 * so the run (on any instance) can no longer record a fal request or finish it; every request of the
 * job that may still run at fal is cancelled there and fal's answer recorded, with whether it may be
 * billed; then the run is told to stop now (here by an event, elsewhere through Redis), so it neither
 * pays fal nor stores outputs afterwards. A run that misses the word stops at its next statement.
 */
@Singleton
public class JobCancellation {

    /** Channel a cancel tells the instance running the job on (see the job runner). */
    public static final String CHANNEL = "atelier:cancel";

    /** A job was cancelled: its run, wherever it is, must stop. */
    public record Cancelled(UUID jobId) {
    }

    private final JobTransitions transitions;
    private final JobRepository jobs;
    private final FalClient fal;
    private final LiveViews live;
    private final ReactiveRedisDataSource redis;
    private final Event<Cancelled> cancelled;
    private final Vertx vertx;
    private final AtelierConfig.Jobs config;
    private long sweep = -1;

    public JobCancellation(JobTransitions transitions, JobRepository jobs, FalClient fal, LiveViews live, ReactiveRedisDataSource redis,
            Event<Cancelled> cancelled, Vertx vertx, AtelierConfig config) {
        this.transitions = transitions;
        this.jobs = jobs;
        this.fal = fal;
        this.live = live;
        this.redis = redis;
        this.cancelled = cancelled;
        this.vertx = vertx;
        this.config = config.jobs();
    }

    void start(@Observes StartupEvent event) {
        sweep = vertx.setPeriodic(config.deadlineSweepInterval().toMillis(), t -> cancelOverdue());
    }

    void stop(@Observes ShutdownEvent event) {
        vertx.cancelTimer(sweep);
    }

    /** Cancels and answers the job as it ended; a job already finished is a 409 problem, an unknown one a 404. */
    public Uni<JobView> cancel(String tenant, UUID id, String code, String reason) {
        return transitions.cancel(tenant, id, code, reason)
                .call(job -> {
                    // told before fal is asked: the run stops paying at once, whatever fal answers
                    cancelled.fire(new Cancelled(id));
                    return redis.pubsub(String.class).publish(CHANNEL, id.toString()).onFailure().recoverWithNull();
                })
                .call(job -> job.falRequests.open().isEmpty() ? Uni.createFrom().voidItem() : cancelAtFal(job))
                .chain(job -> livePercent(job).chain(percent -> {
                    // the row's progress is written less often than the live state's: the cancel never shows less than a client saw
                    job.progress = Math.max(job.progress, percent);
                    return live.write(job, reason);
                }))
                .invoke(view -> Log.infof("job %s: cancelled (%s)%s", id, code,
                        view.cancellation() == null || view.cancellation().falStatus() == null ? "" : "; fal answered " + view.cancellation().falStatus()));
    }

    /** The progress the job's live state shows now (0 when Redis has none, does not answer, or its format has no progress). */
    private Uni<Integer> livePercent(Job job) {
        return live.stored(job).map(view -> {
            if (view == null) {
                return 0;
            }
            try {
                return new io.vertx.core.json.JsonObject(view).getInteger("progress", 0);
            } catch (RuntimeException unreadable) {
                return 0;
            }
        });
    }

    /**
     * Cancels every request of the job that may still run at fal (its open requests, wherever in the job they
     * were made) and records fal's answers: one word for one request, the distinct words joined for several;
     * billable when any request may have run. The requests are marked cancelled in the job's fal requests.
     */
    private Uni<Void> cancelAtFal(Job job) {
        List<FalRequest> open = job.falRequests.open();
        return Multi.createFrom().iterable(open)
                .onItem().transformToUniAndMerge(r -> fal.cancel(r.endpoint(), r.requestId()).onFailure().recoverWithItem(e -> "UNREACHABLE"))
                .collect().asList()
                .chain(answers -> {
                    // removed from fal's queue (OK) or unknown there: nothing ran, nothing billed
                    boolean billable = answers.stream().anyMatch(a -> !("OK".equals(a) || "NOT_FOUND".equals(a)));
                    String answer = String.join(",", answers.stream().distinct().sorted().toList());
                    job.falCancelStatus = answer;
                    job.mayBeBilled = billable;
                    List<FalRequest> cancelled = open.stream().map(r -> r.moved(FalRequest.State.CANCELLED)).toList();
                    cancelled.forEach(r -> job.falRequests = job.falRequests.with(r));
                    return jobs.recordCancelAnswer(job.id, answer, billable, FalRequests.json(cancelled))
                            .call(() -> billable ? mayBeBilled(job, open) : Uni.createFrom().voidItem());
                });
    }

    /**
     * fal may bill what it ran of a cancelled request: the ledger says so, at what was still expected of the
     * job (the reservation it had), so budgets and usage do not count it as free.
     */
    private Uni<Void> mayBeBilled(Job job, List<FalRequest> cancelled) {
        java.math.BigDecimal expected = job.expectedCostUsd == null ? java.math.BigDecimal.ZERO : job.expectedCostUsd;
        java.math.BigDecimal recorded = job.costUsd == null ? java.math.BigDecimal.ZERO : job.costUsd;
        java.math.BigDecimal usd = expected.subtract(recorded).max(java.math.BigDecimal.ZERO);
        io.vertx.core.json.JsonArray rows = ai.atelier.usage.Charges.mayBeBilled(job.tenant, job.apiKeyId, job.id, job.model, usd,
                cancelled.stream().map(r -> new String[] { r.endpoint(), r.requestId() }).toList());
        job.costUsd = recorded.add(usd);
        return jobs.recordSpend(job.id, job.tenant, rows, usd);
    }

    /** Cancels jobs past their own deadline, whichever instance runs them (the guarded statement makes it once). */
    private void cancelOverdue() {
        jobs.overdue().subscribe().with(rows -> rows.forEach(row -> cancel(row.tenant, row.id, "deadline_exceeded",
                "The job passed its deadline and was cancelled")
                .subscribe().with(ok -> { }, e -> Log.debugf("deadline cancel of %s: %s", row.id, e.getMessage()))),
                e -> Log.warnf("deadline sweep failed: %s", e.getMessage()));
    }
}
