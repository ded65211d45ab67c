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
 * A running job's live state in Redis, written one update at a time and in order (a pool of Redis
 * connections would otherwise let a later write land first). Every step a client should see (a new
 * stage, status or message: "2 of 3 styles done") is written; updates that only move within a step
 * (fal's log lines, progress) are merged, their log lines kept, and written at most every 250 ms: a
 * client polling every 200 ms sees the same, and a job costs a handful of Redis writes instead of one
 * per log line. A write that failed (Redis down) is tried again until it lands: the job's end must
 * reach the live store, or reads would show it running until the key expired.
 */
final class LiveState {

    private static final Duration FIRST_RETRY = Duration.ofMillis(250);
    private static final Duration MAX_RETRY = Duration.ofSeconds(10);
    private static final long WITHIN_STEP_EVERY_NANOS = Duration.ofMillis(250).toNanos();

    private final Job job;
    private final ProgressStore store;
    private final JobViews views;
    private final Context context;
    private List<JobView.FileView> inputs;
    /** Updates not yet written, oldest first; guarded by this. */
    private final ArrayDeque<Progress> queue = new ArrayDeque<>();
    private final List<Runnable> drained = new ArrayList<>();
    private Progress lastWritten;
    private long lastWriteNanos;
    private boolean writing;
    private boolean timerSet;
    private Duration retry = FIRST_RETRY;

    LiveState(Job job, ProgressStore store, JobViews views, Context context) {
        this.job = job;
        this.store = store;
        this.views = views;
        this.context = context;
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

    /** Starts the next write now, or when the within-step interval has passed. Holds the lock. */
    private void schedule() {
        if (writing || timerSet) {
            return;
        }
        Progress next = queue.peekFirst();
        if (next == null) {
            drain();
            return;
        }
        // something more behind it: no waiting, the head goes now
        long wait = queue.size() == 1 && sameStep(lastWritten, next) ? lastWriteNanos + WITHIN_STEP_EVERY_NANOS - System.nanoTime() : 0;
        if (wait > 0) {
            timerSet = true;
            context.owner().setTimer(Math.max(1, wait / 1_000_000), t -> {
                synchronized (this) {
                    timerSet = false;
                    schedule();
                }
            });
            return;
        }
        writing = true;
        Progress p = queue.pollFirst();
        lastWritten = p;
        lastWriteNanos = System.nanoTime();
        context.runOnContext(v -> write(p));
    }

    private void write(Progress p) {
        if (inputs == null) {
            inputs = views.files(job.inputs.items()); // presigned once for all of the run's updates
        }
        JobView view = views.of(job, terminal(p) ? null : p, inputs);
        store.put(job.id, job.tenant, job.retries, views.forLiveStore(job, view), p).subscribe().with(ok -> {
            retry = FIRST_RETRY;
            synchronized (this) {
                writing = false;
                schedule();
            }
        }, e -> {
            Log.debugf("job %s: live state not written (%s); again in %s", job.id, e.getMessage(), retry);
            Duration wait = retry;
            retry = wait.multipliedBy(2).compareTo(MAX_RETRY) > 0 ? MAX_RETRY : wait.multipliedBy(2);
            context.owner().setTimer(wait.toMillis(), t -> context.runOnContext(v -> write(p)));
        });
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
        return "succeeded".equals(p.status()) || "failed".equals(p.status()) || "cancelled".equals(p.status());
    }
}
