package ai.atelier.jobs.engine;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

import jakarta.inject.Singleton;

import ai.atelier.config.AtelierConfig;
import ai.atelier.jobs.JobTransitions;
import ai.atelier.storage.ObjectStore;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.Vertx;

/**
 * How a run spends this instance's capacity: it holds a work permit while it works and gives it up
 * while it waits (on fal, or out an outage), and it rides out an outage of PostgreSQL or S3 instead
 * of failing a job fal may already have done (and billed): the step is tried again with backoff, for
 * up to {@code atelier.jobs.outage-retry-for}, well within the days fal keeps a request's outputs.
 */
@Singleton
public class Engine {

    private static final Duration FIRST_BACKOFF = Duration.ofMillis(200);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(10);

    private final WorkPermits permits;
    private final WorkPermits copies;
    private final Vertx vertx;
    private final JobTransitions transitions;
    private final ai.atelier.jobs.JobRepository jobs;
    private final Duration outageRetryFor;

    public Engine(AtelierConfig config, Vertx vertx, JobTransitions transitions, ai.atelier.jobs.JobRepository jobs) {
        this.jobs = jobs;
        this.permits = new WorkPermits(config.jobs().maxWorking());
        this.copies = new WorkPermits(config.jobs().maxCopying());
        this.vertx = vertx;
        this.transitions = transitions;
        this.outageRetryFor = config.jobs().outageRetryFor();
    }

    /**
     * The one way a run writes its job: what it learned since its last statement (stage records, categories,
     * the prompt, fal requests, what fal calls cost) goes into {@code transition}'s statement, tried again
     * through an outage; if that statement fails for good, what it carried is pending again; if the job is no
     * longer the run's (a cancel won, the lease went), what was spent is recorded all the same. Answers
     * whether the job is still the run's.
     */
    Uni<Boolean> commit(RunContext ctx, String what, java.util.function.Function<JobTransitions.Progress, Uni<Boolean>> transition) {
        return durably(ctx, what, () -> {
            JobTransitions.Progress p = ctx.takePending();
            return transition.apply(p).onFailure().invoke(e -> ctx.restorePending(p))
                    .call(won -> won ? Uni.createFrom().voidItem() : spentAnyway(ctx, p));
        });
    }

    /**
     * queued|running → running with what the run learned and, when given, the infer stage's fal request it just
     * submitted (mirrored for the previous version). False when the job is no longer this run's (cancelled,
     * lease lost): the caller must stop without paying fal.
     */
    Uni<Boolean> advance(RunContext ctx, JobTransitions.Request main) {
        return commit(ctx, main == null ? "record progress" : "record fal request " + main.requestId(),
                p -> transitions.advance(ctx.job, ctx.owner, p, main));
    }

    /** The run lost its job (a cancel won): what its fal calls cost is recorded all the same, it was spent. */
    private Uni<Void> spentAnyway(RunContext ctx, JobTransitions.Progress lost) {
        if (lost.spend().ledger().isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        return jobs.recordSpend(ctx.job.id, ctx.job.tenant, lost.spend().ledger(), lost.spend().usd())
                .onFailure().invoke(e -> Log.warnf("job %s: spend of a lost run not recorded: %s", ctx.job.id, e.getMessage()))
                .onFailure().recoverWithNull();
    }

    /** Takes a work permit for the run unless it holds one; waits (without a thread) while all are in use. */
    Uni<Void> work(RunContext ctx) {
        if (permits.holds(ctx.permit)) {
            return Uni.createFrom().voidItem(); // most steps: no wait, no hop back to the run's context
        }
        return ctx.interruptible(() -> permits.acquire(ctx.permit, ctx.job.priority));
    }

    /**
     * {@code copy} while the run holds one of the instance's copy permits, given back however it ends: a picture
     * copied through memory (fal's output on its way to S3, a batch item's inputs from their URLs) holds its bytes
     * on the heap, so how many are copied at once is capped apart from how many jobs work at once (most of a
     * job's work is a round trip that holds a few kilobytes).
     */
    <T> Uni<T> copying(RunContext ctx, Supplier<Uni<T>> copy) {
        WorkPermits.Holder holder = new WorkPermits.Holder();
        return ctx.interruptible(() -> copies.acquire(holder, ctx.job.priority))
                .chain(() -> Uni.createFrom().<T>deferred(copy::get))
                .onTermination().invoke(() -> copies.release(holder));
    }

    /** Gives the run's permit back (it is about to wait, or it ended). */
    void rest(RunContext ctx) {
        permits.release(ctx.permit);
    }

    /** Waits without a permit (ended at once if the run is stopped), then takes one again to carry on. */
    <T> Uni<T> waiting(RunContext ctx, Supplier<Uni<T>> wait) {
        return Uni.createFrom().deferred(() -> {
            rest(ctx);
            return ctx.interruptible(wait);
        }).call(() -> work(ctx));
    }

    /**
     * {@code step}, tried again with backoff while PostgreSQL or S3 is unreachable; any other failure, or
     * an outage longer than the limit, fails as it came.
     */
    <T> Uni<T> durably(RunContext ctx, String what, Supplier<Uni<T>> step) {
        long giveUpAt = System.nanoTime() + outageRetryFor.toNanos();
        return attempt(ctx, what, step, giveUpAt, FIRST_BACKOFF, 1);
    }

    private <T> Uni<T> attempt(RunContext ctx, String what, Supplier<Uni<T>> step, long giveUpAt, Duration backoff, int attempt) {
        return Uni.createFrom().deferred(step::get)
                .invoke(() -> {
                    if (attempt > 1) {
                        Log.infof("job %s: %s done after %d attempts", ctx.job.id, what, attempt);
                    }
                })
                .onFailure(e -> Outages.isOutage(e) && System.nanoTime() < giveUpAt && !ctx.stopped()).recoverWithUni(e -> {
                    Duration delay = jitter(backoff);
                    // one warning per step, not one per attempt: an outage under thousands of jobs must not flood the log
                    if (attempt == 1) {
                        Log.warnf("job %s: %s failed (%s); trying again with backoff for up to %s", ctx.job.id, what, Outages.describe(e),
                                outageRetryFor);
                    } else {
                        Log.debugf("job %s: %s failed again (%s); next try in %d ms", ctx.job.id, what, Outages.describe(e), delay.toMillis());
                    }
                    Duration next = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
                    return waiting(ctx, () -> sleep(delay)).chain(() -> attempt(ctx, what, step, giveUpAt, next, attempt + 1));
                });
    }

    Uni<Void> sleep(Duration d) {
        return Uni.createFrom().emitter(emitter -> {
            long timer = vertx.setTimer(Math.max(1, d.toMillis()), t -> emitter.complete(null));
            emitter.onTermination(() -> vertx.cancelTimer(timer));
        });
    }

    /** Permits free now (neither held nor waited for). */
    int freePermits() {
        return permits.free();
    }

    int working() {
        return permits.inUse();
    }

    private static Duration jitter(Duration d) {
        return Duration.ofMillis((long) (d.toMillis() * (0.8 + ThreadLocalRandom.current().nextDouble() * 0.4)));
    }

    /** Which failures are an outage of a store Atelier depends on (worth waiting out), in words for the log. */
    static final class Outages {
        private Outages() {
        }

        static boolean isOutage(Throwable e) {
            if (e instanceof ObjectStore.Unavailable) {
                return true;
            }
            for (Throwable c = e; c != null; c = c.getCause()) {
                if (c instanceof io.vertx.pgclient.PgException pg) {
                    String state = pg.getSqlState() == null ? "" : pg.getSqlState();
                    // connection, operator intervention (shutdown), insufficient resources
                    return state.startsWith("08") || state.startsWith("57") || state.startsWith("53");
                }
                if (c instanceof java.net.ConnectException || c instanceof java.nio.channels.ClosedChannelException
                        || c instanceof io.vertx.core.http.HttpClosedException
                        || (c instanceof io.vertx.core.VertxException v && String.valueOf(v.getMessage()).toLowerCase().contains("closed"))
                        || c instanceof java.util.concurrent.TimeoutException || c instanceof io.netty.channel.ConnectTimeoutException) {
                    return true;
                }
            }
            return false;
        }

        static String describe(Throwable e) {
            return e instanceof ObjectStore.Unavailable u ? u.getMessage() : "database unreachable";
        }
    }
}
