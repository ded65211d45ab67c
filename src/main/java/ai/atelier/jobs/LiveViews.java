package ai.atelier.jobs;

import java.time.Instant;
import java.util.List;

import jakarta.inject.Singleton;

import ai.atelier.progress.Progress;
import ai.atelier.progress.ProgressStore;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;

/**
 * Writes (and reads back) a job's state in the live store outside a run (accepted, cancelled, queued again for a retry):
 * its view (in its API's format) and the event. Never fails the caller: the row is the truth, and a read
 * that finds no live view reads the row.
 */
@Singleton
public class LiveViews {

    private final ProgressStore store;
    private final JobViews views;

    public LiveViews(ProgressStore store, JobViews views) {
        this.store = store;
        this.views = views;
    }

    /** The job's live view as stored (in its API's format), or null when Redis has none. */
    public Uni<String> stored(Job job) {
        return store.view(job.id, job.tenant, views.liveFormat(job));
    }

    /** Takes back what {@link #write} wrote for a job that was not accepted after all. Never fails: the keys expire anyway. */
    public Uni<Void> discard(Job job) {
        return store.discard(job.id).onFailure().invoke(e -> Log.debugf("job %s: live state not discarded: %s", job.id, e.getMessage()))
                .onFailure().recoverWithNull();
    }

    /** Writes the job as it is, with {@code message} in its event; answers the view written. */
    public Uni<JobView> write(Job job, String message) {
        JobView view = views.of(job);
        Progress event = new Progress(job.status.wire(), job.stage, job.progress, message, null, List.of(), Instant.now());
        return store.put(job.id, job.tenant, job.retries, views.forLiveStore(job, view), List.of(event))
                .onFailure().invoke(e -> Log.warnf("job %s: live state not written: %s", job.id, e.getMessage()))
                .onFailure().recoverWithNull()
                .replaceWith(view);
    }
}
