package ai.atelier.jobs.engine;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import ai.atelier.jobs.Job;
import ai.atelier.jobs.JobView;
import ai.atelier.jobs.JobViews;
import ai.atelier.progress.Progress;
import ai.atelier.progress.ProgressStore;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Context;

/**
 * A running job's live state in Redis, written one update at a time, the latest winning: a burst of
 * updates (fal's log lines, a shoot's styles finishing together) becomes one write of the newest view,
 * with every log line kept in its event, and updates never land out of order (which a pool of Redis
 * connections would otherwise allow). A write that failed (Redis down) is tried again until it lands:
 * the job's end must reach the live store, or reads would show it running until the key expired.
 */
final class LiveState {

    private static final Duration FIRST_RETRY = Duration.ofMillis(250);
    private static final Duration MAX_RETRY = Duration.ofSeconds(10);

    private final Job job;
    private final ProgressStore store;
    private final JobViews views;
    private final Context context;
    private List<JobView.FileView> inputs;
    private Progress pending;
    private boolean writing;
    private Duration retry = FIRST_RETRY;
    private final List<Runnable> drained = new ArrayList<>();

    LiveState(Job job, ProgressStore store, JobViews views, Context context) {
        this.job = job;
        this.store = store;
        this.views = views;
        this.context = context;
    }

    /** Queues the job's view with this progress; log lines of updates not yet written are kept. */
    synchronized void update(Progress p) {
        if (pending != null && !pending.logs().isEmpty()) {
            List<String> logs = new ArrayList<>(pending.logs());
            logs.addAll(p.logs());
            p = new Progress(p.status(), p.stage(), p.percent(), p.message(), p.queuePosition(), logs, p.updatedAt());
        }
        pending = p;
        if (!writing) {
            writing = true;
            context.runOnContext(v -> writeNext());
        }
    }

    /** Completes once every update queued so far has been written. */
    Uni<Void> flushed() {
        return Uni.createFrom().emitter(emitter -> {
            synchronized (this) {
                if (!writing && pending == null) {
                    emitter.complete(null);
                    return;
                }
                drained.add(() -> emitter.complete(null));
            }
        });
    }

    private void writeNext() {
        Progress p;
        synchronized (this) {
            p = pending;
            pending = null;
            if (p == null) {
                writing = false;
                List<Runnable> waiting = new ArrayList<>(drained);
                drained.clear();
                waiting.forEach(Runnable::run);
                return;
            }
        }
        if (inputs == null) {
            inputs = views.files(job.inputs.items()); // presigned once for all of the run's updates
        }
        Progress written = p;
        JobView view = views.of(job, terminal(p) ? null : p, inputs);
        store.put(job.id, job.tenant, job.retries, views.formats(view), p).subscribe().with(ok -> {
            retry = FIRST_RETRY;
            writeNext();
        }, e -> {
            Log.debugf("job %s: live state not written (%s); again in %s", job.id, e.getMessage(), retry);
            synchronized (this) {
                if (pending == null) {
                    pending = written; // nothing newer: this one is still the latest
                }
            }
            Duration wait = retry;
            retry = wait.multipliedBy(2).compareTo(MAX_RETRY) > 0 ? MAX_RETRY : wait.multipliedBy(2);
            context.owner().setTimer(wait.toMillis(), t -> context.runOnContext(v -> writeNext()));
        });
    }

    private static boolean terminal(Progress p) {
        return "succeeded".equals(p.status()) || "failed".equals(p.status()) || "cancelled".equals(p.status());
    }
}
