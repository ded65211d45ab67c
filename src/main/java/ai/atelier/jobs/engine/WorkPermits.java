package ai.atelier.jobs.engine;

import java.util.ArrayDeque;

import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.UniEmitter;

/**
 * The cap on work one instance does at once (submitting to fal, fetching, downloading, storing,
 * finishing), separate from the jobs it holds: a job gives its permit up while it waits on fal or
 * backs off, and takes one again to carry on. Waiters are served high before normal before low
 * priority, and batch items after all of them, first come first served within each; nothing blocks a thread.
 * <p>
 * A permit belongs to a {@link Holder} (a run), marked under this object's lock at the moment it is
 * granted, not when the grant reaches the caller: a run stopped while a permit is handed to it may
 * never see the item (Mutiny drops an item that races a cancel), and a permit only its waiter knew about
 * would then be held by nobody for the life of the instance. The run gives back what its holder holds
 * when it ends, whatever it saw.
 */
final class WorkPermits {

    /** Who holds a permit: one per run. Its state is guarded by the permits' lock. */
    static final class Holder {
        private boolean holds;
        private Waiter waiting;
    }

    /** A holder waiting in a queue, and whom to tell once it holds a permit. */
    private record Waiter(Holder holder, UniEmitter<? super Void> emitter, int queue) {
    }

    private final int max;
    private int inUse;
    @SuppressWarnings("unchecked")
    private final ArrayDeque<Waiter>[] waiting = new ArrayDeque[] { new ArrayDeque<>(), new ArrayDeque<>(), new ArrayDeque<>(), new ArrayDeque<>() };

    WorkPermits(int max) {
        this.max = Math.max(1, max);
    }

    /** Completes when {@code holder} holds a permit (at once if it does); {@link #release} gives it back. */
    Uni<Void> acquire(Holder holder, short priority) {
        return Uni.createFrom().emitter(emitter -> {
            synchronized (this) {
                if (!holder.holds) {
                    if (inUse < max) {
                        inUse++;
                        holder.holds = true;
                    } else {
                        if (holder.waiting != null) {
                            waiting[holder.waiting.queue].remove(holder.waiting); // a holder waits in one place only
                        }
                        Waiter w = new Waiter(holder, emitter, Math.max(0, Math.min(waiting.length - 1, priority)));
                        holder.waiting = w;
                        waiting[w.queue].add(w);
                        emitter.onTermination(() -> gaveUp(w));
                        return;
                    }
                }
            }
            emitter.complete(null);
        });
    }

    /** A waiter stopped waiting before a permit was granted to it: it leaves its queue (a granted one it keeps). */
    private synchronized void gaveUp(Waiter w) {
        if (w.holder.waiting == w) {
            w.holder.waiting = null;
            waiting[w.queue].remove(w);
        }
    }

    /** Gives back the permit {@code holder} holds, if it holds one: it passes to the first waiter. */
    void release(Holder holder) {
        Waiter next = null;
        synchronized (this) {
            if (!holder.holds) {
                return;
            }
            holder.holds = false;
            for (ArrayDeque<Waiter> q : waiting) {
                next = q.poll();
                if (next != null) {
                    next.holder.waiting = null;
                    next.holder.holds = true; // the permit passes on: inUse stays as it is
                    break;
                }
            }
            if (next == null) {
                inUse--;
            }
        }
        if (next != null) {
            next.emitter.complete(null);
        }
    }

    synchronized boolean holds(Holder holder) {
        return holder.holds;
    }

    /** Permits nobody holds or waits for: how many more jobs could start working now. */
    synchronized int free() {
        int queued = 0;
        for (ArrayDeque<Waiter> q : waiting) {
            queued += q.size();
        }
        return max - inUse - queued;
    }

    synchronized int inUse() {
        return inUse;
    }
}
