package ai.atelier.fal;

import java.time.Duration;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import jakarta.inject.Singleton;
import jakarta.enterprise.event.Observes;

import ai.atelier.config.AtelierConfig;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.Cancellable;
import io.smallrye.mutiny.subscription.UniEmitter;
import io.vertx.mutiny.core.Vertx;

/**
 * The one way Atelier waits for a fal request to complete, whichever stage made it (main inference,
 * the LLM stages, each style of a product shoot, the second call of a two-step model):
 * <ol>
 * <li><b>stream</b>: while a slot is free, fal's status stream; completion is seen the moment fal
 * sends it, and every change (queue position, log line) is reported as it comes;</li>
 * <li><b>webhook</b>: with a public URL set, fal's completion webhook (received by any instance, see
 * {@link FalCompletions}) ends the wait at once, however it is waiting;</li>
 * <li><b>park</b>: a wait without a stream (no slot free, the stream failed or ended early, or it
 * streamed for {@code stream-max}) holds no connection and no timer of its own: one poller asks fal
 * for due ones, a bounded number at a time, backing off as the wait grows. Polling is the fallback and
 * reconciles webhooks that never came.</li>
 * </ol>
 * A wait costs a small record; the job waiting holds no thread and no work permit.
 */
@Singleton
public class FalWaits {

    private final FalClient fal;
    private final FalCompletions completions;
    private final Vertx vertx;
    private final AtelierConfig.Fal config;
    private final Map<String, Waiter> byRequest = new ConcurrentHashMap<>();
    /** Parked waits by the time they are next due (poll or deadline); guarded by itself. O(log n) per change at 10,000 waits. */
    private final TreeSet<Waiter> due = new TreeSet<>((a, b) -> a.dueNanos != b.dueNanos ? Long.compare(a.dueNanos, b.dueNanos)
            : Long.compare(a.seq, b.seq));
    private final AtomicInteger streams = new AtomicInteger();
    private final AtomicInteger polling = new AtomicInteger();
    private final AtomicInteger streamTimers = new AtomicInteger();
    private final AtomicLong sequence = new AtomicLong();
    private long timer = -1;

    public FalWaits(FalClient fal, FalCompletions completions, Vertx vertx, AtelierConfig config) {
        this.fal = fal;
        this.completions = completions;
        this.vertx = vertx;
        this.config = config.fal();
    }

    /** One wait: which request, who to tell, until when; plus how it is waiting now. */
    private final class Waiter {
        final String endpointId;
        final String requestId;
        final Consumer<FalStatus> onStatus;
        final UniEmitter<? super FalStatus> emitter;
        final long deadlineNanos;
        /** The wait's own deadline, for the words of its failure (a video model's is its own, not the service's). */
        final Duration deadline;
        final long startedNanos = System.nanoTime();
        final AtomicBoolean done = new AtomicBoolean();
        final long seq = sequence.incrementAndGet();
        /** Guarded by {@code due}: the key it is queued under, and whether it is queued. */
        long dueNanos;
        boolean queued;
        volatile Duration interval;
        volatile Cancellable stream;
        volatile Runnable releaseStream;
        /** False once a stream failed, ended early or ran for stream-max: this wait polls from then on. */
        volatile boolean mayStream = true;
        /**
         * The stream-max timer (-1: none), cancelled when the wait ends: left to fire, it held the ended wait (and through
         * its emitter the job's whole run) for stream-max after the job finished, which at 1,000 jobs in flight kept some
         * 6,000 finished runs in the heap and spent a fifth of the server's time in full collections.
         */
        final AtomicLong streamTimer = new AtomicLong(-1);

        Waiter(String endpointId, String requestId, Consumer<FalStatus> onStatus, UniEmitter<? super FalStatus> emitter, Duration deadline) {
            this.endpointId = endpointId;
            this.requestId = requestId;
            this.onStatus = onStatus;
            this.emitter = emitter;
            this.deadlineNanos = System.nanoTime() + deadline.toNanos();
            this.deadline = deadline;
            this.interval = config.pollInterval();
        }

        void report(FalStatus s) {
            try {
                onStatus.accept(s);
            } catch (RuntimeException e) {
                Log.debugf("status listener of %s failed: %s", requestId, e.getMessage());
            }
        }
    }

    /** Of those, the ones without a status stream: parked, polled by the one poller. */
    public int parked() {
        return Math.max(0, byRequest.size() - streams.get());
    }

    void start(@Observes StartupEvent event) {
        completions.listen(this::completedByWebhook);
        timer = vertx.setPeriodic(Math.max(20, Math.min(250, config.pollInterval().toMillis() / 2)), t -> tick());
    }

    void stop(@Observes ShutdownEvent event) {
        vertx.cancelTimer(timer);
    }

    /**
     * Waits until fal says the request is COMPLETED (whether it succeeded: the result says), reporting
     * every status on the way. Fails with a {@link FalException} ({@code deadline}) after {@code deadline};
     * cancelling the returned Uni ends the wait (a cancelled job).
     */
    public Uni<FalStatus> await(String endpointId, String requestId, Duration deadline, Consumer<FalStatus> onStatus) {
        return Uni.createFrom().<FalStatus>emitter(emitter -> {
            Waiter w = new Waiter(endpointId, requestId, onStatus, emitter, deadline);
            byRequest.put(requestId, w);
            emitter.onTermination(() -> forget(w));
            if (completions.recentlyCompleted(requestId)) {
                complete(w, FalStatus.completedByWebhook()); // the webhook came before this wait began
                return;
            }
            // streaming or not, the wait is queued: at its deadline at the latest
            park(w, openStream(w) ? deadline : Duration.ZERO);
        });
    }

    /** Waits now, by kind: for metrics and the benchmark. */
    public int streaming() {
        return streams.get();
    }

    public int waiting() {
        return byRequest.size();
    }

    private boolean openStream(Waiter w) {
        if (!w.mayStream) {
            return false;
        }
        if (streams.incrementAndGet() > config.streamSlots()) {
            streams.decrementAndGet();
            return false;
        }
        AtomicBoolean released = new AtomicBoolean();
        w.releaseStream = () -> {
            if (released.compareAndSet(false, true)) {
                streams.decrementAndGet();
            }
        };
        w.stream = fal.statusStream(w.endpointId, w.requestId).subscribe().with(s -> {
            w.report(s);
            if (s.completed()) {
                w.releaseStream.run();
                complete(w, s);
            }
        }, e -> {
            w.releaseStream.run();
            if (!w.done.get()) {
                Log.debugf("fal status stream of %s failed (%s); polling", w.requestId, e.getMessage());
                w.mayStream = false;
                park(w, Duration.ZERO);
            }
        }, () -> {
            w.releaseStream.run();
            if (!w.done.get()) {
                w.mayStream = false;
                park(w, Duration.ZERO); // fal (or something between) closed it early: ask now
            }
        });
        // a long job gives its slot to requests that will finish sooner
        if (config.streamMax().toMillis() > 0) {
            streamTimers.incrementAndGet();
            w.streamTimer.set(vertx.setTimer(config.streamMax().toMillis(), t -> {
                if (w.streamTimer.getAndSet(-1) >= 0) {
                    streamTimers.decrementAndGet();
                }
                Cancellable s = w.stream;
                if (!w.done.get() && s != null && w.mayStream) {
                    w.mayStream = false;
                    s.cancel();
                    w.releaseStream.run();
                    park(w, Duration.ZERO);
                }
            }));
            if (w.done.get()) {
                cancelStreamTimer(w); // the stream completed before its timer was set
            }
        }
        return true;
    }

    private void park(Waiter w, Duration delay) {
        if (w.done.get()) {
            return;
        }
        synchronized (due) {
            if (w.queued) {
                due.remove(w);
            }
            w.dueNanos = Math.min(w.deadlineNanos, System.nanoTime() + delay.toNanos());
            due.add(w);
            w.queued = true;
        }
    }

    private void tick() {
        long now = System.nanoTime();
        while (polling.get() < config.maxParkedPolls()) {
            Waiter w;
            synchronized (due) {
                w = due.isEmpty() ? null : due.first();
                if (w == null || w.dueNanos > now) {
                    return;
                }
                due.pollFirst();
                w.queued = false;
            }
            if (w.done.get()) {
                continue;
            }
            if (System.nanoTime() >= w.deadlineNanos) {
                fail(w, new FalException(0, "deadline", "fal did not finish within " + w.deadline, null, true));
                continue;
            }
            // a slot freed up: a wait parked for want of one streams now (queued again for its deadline)
            if (openStream(w)) {
                park(w, Duration.ofNanos(w.deadlineNanos - System.nanoTime()));
                continue;
            }
            poll(w);
        }
    }

    private void poll(Waiter w) {
        polling.incrementAndGet();
        fal.status(w.endpointId, w.requestId).subscribe().with(s -> {
            polling.decrementAndGet();
            w.report(s);
            if (s.completed()) {
                complete(w, s);
            } else {
                park(w, nextInterval(w));
            }
        }, e -> {
            polling.decrementAndGet();
            // fal unreachable for a while is not the request's end: fal still runs it; ask again, until the deadline
            Log.debugf("fal status of %s unavailable (%s); asking again later", w.requestId, e.getMessage());
            park(w, nextInterval(w));
        });
    }

    /** Polls back off as a wait grows (1.5× per poll, to max-poll-interval); with webhooks on, polling only reconciles. */
    private Duration nextInterval(Waiter w) {
        if (fal.webhooksOn()) {
            return config.webhookPollInterval();
        }
        Duration now = w.interval;
        long next = Math.min(config.maxPollInterval().toMillis(), Math.max(now.toMillis() + 1, (long) (now.toMillis() * 1.5)));
        w.interval = Duration.ofMillis(next);
        return now;
    }

    private void completedByWebhook(String requestId) {
        Waiter w = byRequest.get(requestId);
        if (w != null) {
            complete(w, FalStatus.completedByWebhook());
        }
    }

    private void complete(Waiter w, FalStatus s) {
        if (w.done.compareAndSet(false, true)) {
            w.emitter.complete(s);
        }
    }

    private void fail(Waiter w, Throwable e) {
        if (w.done.compareAndSet(false, true)) {
            w.emitter.fail(e);
        }
    }

    private void cancelStreamTimer(Waiter w) {
        long id = w.streamTimer.getAndSet(-1);
        if (id >= 0) {
            vertx.cancelTimer(id);
            streamTimers.decrementAndGet();
        }
    }

    /** Stream-max timers set and neither fired nor cancelled: one per streaming wait, none once every wait ended. */
    public int streamTimers() {
        return streamTimers.get();
    }

    /** The wait ended (completed, failed or cancelled): nothing of it stays. */
    private void forget(Waiter w) {
        w.done.set(true);
        byRequest.remove(w.requestId, w);
        Cancellable s = w.stream;
        if (s != null) {
            s.cancel(); // the stream's termination callbacks do not run on cancel: release its slot here
        }
        Runnable release = w.releaseStream;
        if (release != null) {
            release.run();
        }
        cancelStreamTimer(w);
        synchronized (due) {
            if (w.queued) {
                due.remove(w);
                w.queued = false;
            }
        }
    }
}
