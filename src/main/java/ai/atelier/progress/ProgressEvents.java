package ai.atelier.progress;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.inject.Singleton;
import jakarta.enterprise.event.Observes;

import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.operators.multi.processors.UnicastProcessor;
import io.vertx.core.Vertx;

/**
 * Hands each job's progress events, published by whichever instance runs the job, to the event streams
 * open on this instance for that job. A job's events are published only while it is watched
 * ({@link ProgressStore#watch}): a listener marks its job watched before it reads the job's history, so an
 * event is either in what it reads or published after, and this instance renews the mark of every job it
 * listens to while it does. When the Redis subscription had to be renewed (or a mark could not be set), the
 * listeners concerned catch up from the job's event stream, so nothing published in between is lost.
 */
@Singleton
public class ProgressEvents {

    /** How long a job stays watched after this instance last renewed it: a listener gone leaves it this long at most. */
    static final Duration WATCH_TTL = Duration.ofSeconds(30);
    /** How often the jobs listened to here are marked watched again. */
    static final Duration WATCH_RENEWAL = Duration.ofSeconds(10);

    private final ProgressStore store;
    private final RedisRelay relay;
    private final Vertx vertx;
    private final Map<UUID, Set<Listener>> listeners = new ConcurrentHashMap<>();
    /** Jobs whose watch mark could not be set for a listener: marked and caught up at the next renewal. */
    private final Set<UUID> unmarked = ConcurrentHashMap.newKeySet();
    private long renewal = -1;

    public ProgressEvents(ProgressStore store, RedisRelay relay, Vertx vertx) {
        this.store = store;
        this.relay = relay;
        this.vertx = vertx;
    }

    /**
     * One open listener: its processor and the id of the last event it was given. While it reads the
     * job's history (at start, and after a re-subscription) it holds back live events, then gives both
     * in id order without repeats.
     */
    private final class Listener {
        final UUID job;
        final UnicastProcessor<ProgressStore.Event> processor = UnicastProcessor.create();
        final java.util.List<ProgressStore.Event> held = new java.util.ArrayList<>();
        String lastId;
        /** Reading the history: live events are held until it is read. From the start, so none goes before it. */
        boolean reading = true;

        Listener(UUID job, String after) {
            this.job = job;
            this.lastId = after;
        }

        synchronized void offer(ProgressStore.Event e) {
            if (reading) {
                held.add(e);
            } else {
                deliver(e);
            }
        }

        private void deliver(ProgressStore.Event e) {
            if (lastId == null || ProgressStore.compareIds(e.id(), lastId) > 0) {
                lastId = e.id();
                processor.onNext(e);
            }
        }

        void catchUp() {
            String after;
            synchronized (this) {
                reading = true;
                after = lastId == null ? "0" : lastId;
            }
            store.history(job, after).onFailure().invoke(e -> Log.debugf("job %s: events not caught up: %s", job, e.getMessage()))
                    .onFailure().recoverWithItem(java.util.List.of())
                    .subscribe().with(events -> {
                        synchronized (this) {
                            events.forEach(this::deliver);
                            reading = false;
                            held.forEach(this::deliver);
                            held.clear();
                        }
                    });
        }
    }

    void start(@Observes StartupEvent event) {
        relay.listen(ProgressStore.CHANNEL, this::dispatch);
        // Redis may have restarted (the marks gone with it): mark again, then catch up on what was not published
        relay.onResubscribed(() -> store.watch(List.copyOf(listeners.keySet()), WATCH_TTL)
                .onComplete(ar -> listeners.values().forEach(set -> set.forEach(Listener::catchUp))));
        renewal = vertx.setPeriodic(WATCH_RENEWAL.toMillis(), t -> renew());
    }

    void stop(@Observes ShutdownEvent event) {
        if (renewal >= 0) {
            vertx.cancelTimer(renewal);
        }
        listeners.values().forEach(set -> set.forEach(l -> l.processor.onComplete()));
    }

    private void renew() {
        unmarked.retainAll(listeners.keySet()); // a listener that left before its mark could be set leaves nothing behind
        if (listeners.isEmpty()) {
            return;
        }
        List<UUID> retry = List.copyOf(unmarked);
        store.watch(List.copyOf(listeners.keySet()), WATCH_TTL).onSuccess(v -> retry.forEach(job -> {
            unmarked.remove(job);
            Set<Listener> set = listeners.get(job);
            if (set != null) {
                set.forEach(Listener::catchUp);
            }
        })).onFailure(e -> Log.debugf("jobs listened to not marked watched: %s", e.getMessage()));
    }

    private void dispatch(String message) {
        String[] parts = message.split("\n", 3);
        if (parts.length < 3) {
            return;
        }
        UUID job;
        try {
            job = UUID.fromString(parts[0]);
        } catch (IllegalArgumentException e) {
            return;
        }
        Set<Listener> set = listeners.get(job);
        if (set == null || set.isEmpty()) {
            return;
        }
        ProgressStore.Event event = new ProgressStore.Event(parts[1], store.read(parts[2]));
        set.forEach(l -> l.offer(event));
    }

    /**
     * A job's events after {@code afterId} ("0": all of them): its history, then live ones. The listener
     * is registered before the history is read, so nothing published in between is lost; events are never
     * given twice or out of order.
     */
    public Multi<ProgressStore.Event> listen(UUID job, String afterId) {
        Listener listener = new Listener(job, afterId);
        listeners.computeIfAbsent(job, k -> ConcurrentHashMap.newKeySet()).add(listener);
        // watched first, then the history: what is written from the mark on is published, what was before is read
        store.watch(List.of(job), WATCH_TTL).onComplete(ar -> {
            if (ar.failed()) {
                unmarked.add(job);
            }
            listener.catchUp();
        });
        return listener.processor.onTermination().invoke(() -> {
            Set<Listener> set = listeners.get(job);
            if (set != null) {
                set.remove(listener);
                if (set.isEmpty()) {
                    listeners.remove(job, set);
                }
            }
        });
    }
}
