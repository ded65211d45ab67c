package ai.atelier.jobs.engine;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import ai.atelier.jobs.Job;
import ai.atelier.jobs.JobView;
import ai.atelier.jobs.JobViews;
import ai.atelier.progress.Progress;
import ai.atelier.progress.ProgressStore;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Context;

/**
 * A running job's live state in Redis, written in order (a pool of Redis connections would otherwise let a
 * later write land first): when the run starts, at most every 500 ms after that, and at once when it ends (a
 * client told the job ended must find it ended), so what a client reads is never more than half a second old
 * and a one-second job costs a few writes instead of one per step and log line. A run that starts right after
 * its job's accepted view was written counts that write as its first: its own first write waits out the
 * interval (the view says queued meanwhile), and a one-second job costs three writes (accepted, one in
 * between, the end) instead of five. Each write carries every event since the last one (all reach the job's
 * event stream, in order, so a replay misses none) and the view as of the latest; updates within one step
 * (fal's log lines, progress) are merged into one event, their log lines kept. A write that failed (Redis
 * down) is tried again until it lands: the job's end must reach the live store, or reads would show it
 * running until the key expired.
 */
final class LiveState {

    private static final Duration FIRST_RETRY = Duration.ofMillis(250);
    private static final Duration MAX_RETRY = Duration.ofSeconds(10);
    private static final long WRITE_EVERY_NANOS = Duration.ofMillis(500).toNanos();

    private final Job job;
    private final ProgressStore store;
    private final JobViews views;
    private final Context context;
    private List<JobView.FileView> inputs;
    /** Updates not yet written, oldest first; guarded by this. */
    private final ArrayDeque<Progress> queue = new ArrayDeque<>();
    private final List<Runnable> drained = new ArrayList<>();
    /** When the last write started; null before the first (which is then due at once). */
    private Long lastWriteNanos;
    private boolean writing;
    private boolean timerSet;
    private long timer;
    private Duration retry = FIRST_RETRY;

    /** {@code viewJustWritten}: the job's view was written a moment ago (its accept), so the first write of the run is not due at once. */
    LiveState(Job job, ProgressStore store, JobViews views, Context context, boolean viewJustWritten) {
        this.job = job;
        this.store = store;
        this.views = views;
        this.context = context;
        this.lastWriteNanos = viewJustWritten ? System.nanoTime() : null;
    }

    /** Queues the job's view with this progress. */
    synchronized void update(Progress p) {
        Progress last = queue.peekLast();
        if (last != null && sameStep(last, p)) {
            queue.pollLast();
            p = merged(last, p);
        }
        queue.addLast(p);
        schedule();
    }

    /** Completes once every update queued so far has been written. */
    Uni<Void> flushed() {
        return Uni.createFrom().emitter(emitter -> {
            synchronized (this) {
                if (!writing && !timerSet && queue.isEmpty()) {
                    emitter.complete(null);
                    return;
                }
                drained.add(() -> emitter.complete(null));
            }
        });
    }

    private static boolean sameStep(Progress a, Progress b) {
        return a != null && Objects.equals(a.stage(), b.stage()) && Objects.equals(a.status(), b.status()) && Objects.equals(a.message(), b.message());
    }

    private static Progress merged(Progress older, Progress newer) {
        if (older.logs().isEmpty()) {
            return newer;
        }
        List<String> logs = new ArrayList<>(older.logs());
        logs.addAll(newer.logs());
        return new Progress(newer.status(), newer.stage(), newer.percent(), newer.message(), newer.queuePosition(), logs, newer.updatedAt());
    }

    /** Starts the next write now (the job ended, or the last write was long enough ago), or sets a timer for it. Holds the lock. */
    private void schedule() {
        if (timerSet && terminal(queue.peekLast()) && context.owner().cancelTimer(timer)) {
            timerSet = false; // the end does not wait out the interval
        }
        if (writing || timerSet) {
            return;
        }
        if (queue.isEmpty()) {
            drain();
            return;
        }
        long wait = terminal(queue.peekLast()) || lastWriteNanos == null ? 0 : lastWriteNanos + WRITE_EVERY_NANOS - System.nanoTime();
        if (wait > 0) {
            timerSet = true;
            timer = context.owner().setTimer(Math.max(1, wait / 1_000_000), t -> {
                synchronized (this) {
                    timerSet = false;
                    schedule();
                }
            });
            return;
        }
        writing = true;
        List<Progress> batch = List.copyOf(queue);
        queue.clear();
        lastWriteNanos = System.nanoTime();
        context.runOnContext(v -> write(batch));
    }

    private void write(List<Progress> events) {
        Uni<Void> put;
        try {
            if (inputs == null) {
                inputs = views.files(job.inputs.items()); // presigned once for all of the run's updates
            }
            Progress latest = events.get(events.size() - 1);
            JobView view = views.of(job, terminal(latest) ? null : latest, inputs);
            put = store.put(job.id, job.tenant, job.retries, views.forLiveStore(job, view), events);
        } catch (RuntimeException e) {
            // a view that cannot be rendered (a bug, or data this version does not know) must not hold the run up: its end
            // waits for its writes, and a write that never ended kept the run, its slot and its permit for good. The
            // live view is dropped instead, so status reads fall back to the row; these events are lost.
            Log.errorf(e, "Job %s: live view not rendered, dropped", job.id);
            forget();
            return;
        }
        put.subscribe().with(ok -> written(), e -> {
            Log.debugf("job %s: live state not written (%s); again in %s", job.id, e.getMessage(), retry);
            later(() -> write(events));
        });
    }

    /** Deletes the job's live view, as often as it takes: a view left behind would show an ended job running. */
    private void forget() {
        store.forget(job.id).subscribe().with(ok -> written(), e -> {
            Log.debugf("job %s: live view not dropped (%s); again in %s", job.id, e.getMessage(), retry);
            later(this::forget);
        });
    }

    /** Runs {@code again} on the job's context after the current backoff, doubled for the next time. */
    private void later(Runnable again) {
        Duration wait = retry;
        retry = wait.multipliedBy(2).compareTo(MAX_RETRY) > 0 ? MAX_RETRY : wait.multipliedBy(2);
        context.owner().setTimer(wait.toMillis(), t -> context.runOnContext(v -> again.run()));
    }

    private void written() {
        retry = FIRST_RETRY;
        synchronized (this) {
            writing = false;
            schedule();
        }
    }

    /** Nothing pending or in flight: whoever waits for the writes to land may go on. Holds the lock. */
    private void drain() {
        if (!drained.isEmpty()) {
            List<Runnable> waiting = new ArrayList<>(drained);
            drained.clear();
            waiting.forEach(Runnable::run);
        }
    }

    private static boolean terminal(Progress p) {
        return p != null && ("succeeded".equals(p.status()) || "failed".equals(p.status()) || "cancelled".equals(p.status()));
    }
}
