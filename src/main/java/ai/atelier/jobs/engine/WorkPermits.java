package ai.atelier.jobs.engine;

import java.util.ArrayDeque;

import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.UniEmitter;

/**
 * The cap on work one instance does at once (submitting to fal, fetching, downloading, storing,
 * finishing), separate from the jobs it holds: a job gives its permit up while it waits on fal or
 * backs off, and takes one again to carry on. Waiters are served high before normal before low
 * priority, first come first served within each; nothing blocks a thread.
 */
final class WorkPermits {

    private final int max;
    private int inUse;
    @SuppressWarnings("unchecked")
    private final ArrayDeque<UniEmitter<? super Void>>[] waiting = new ArrayDeque[] { new ArrayDeque<>(), new ArrayDeque<>(), new ArrayDeque<>() };

    WorkPermits(int max) {
        this.max = Math.max(1, max);
    }

    /** Completes when the caller holds a permit (it must {@link #release} it). */
    Uni<Void> acquire(short priority) {
        return Uni.createFrom().emitter(emitter -> {
            synchronized (this) {
                if (inUse < max) {
                    inUse++;
                } else {
                    ArrayDeque<UniEmitter<? super Void>> q = waiting[Math.max(0, Math.min(2, priority))];
                    q.add(emitter);
                    emitter.onTermination(() -> {
                        synchronized (WorkPermits.this) {
                            q.remove(emitter);
                        }
                    });
                    return;
                }
            }
            emitter.complete(null);
        });
    }

    void release() {
        UniEmitter<? super Void> next = null;
        synchronized (this) {
            for (ArrayDeque<UniEmitter<? super Void>> q : waiting) {
                next = q.poll();
                if (next != null) {
                    break; // the permit passes on: inUse stays as it is
                }
            }
            if (next == null) {
                inUse--;
            }
        }
        if (next != null) {
            next.complete(null);
        }
    }

    /** Permits nobody holds or waits for: how many more jobs could start working now. */
    synchronized int free() {
        int queued = waiting[0].size() + waiting[1].size() + waiting[2].size();
        return max - inUse - queued;
    }

    synchronized int inUse() {
        return inUse;
    }
}
