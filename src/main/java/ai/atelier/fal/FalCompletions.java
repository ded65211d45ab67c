package ai.atelier.fal;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.quarkus.logging.Log;
import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.Cancellable;
import io.smallrye.mutiny.subscription.UniEmitter;

/**
 * "fal says request X is done", from a webhook received by any instance, to the pipeline waiting on X
 * on any instance (Redis pub/sub), so it fetches the result now instead of at its next poll.
 */
@ApplicationScoped
public class FalCompletions {

    static final String CHANNEL = "atelier:fal-done";

    private final ReactiveRedisDataSource redis;
    private final Map<String, Set<UniEmitter<? super Void>>> waiting = new ConcurrentHashMap<>();
    private Cancellable subscription;

    public FalCompletions(ReactiveRedisDataSource redis) {
        this.redis = redis;
    }

    void start(@Observes StartupEvent event) {
        subscription = redis.pubsub(String.class).subscribe(CHANNEL)
                .subscribe().with(this::wake, e -> Log.warnf("fal completion channel closed: %s", e.getMessage()));
    }

    void stop(@Observes ShutdownEvent event) {
        if (subscription != null) {
            subscription.cancel();
        }
    }

    public Uni<Void> announce(String requestId) {
        return redis.pubsub(String.class).publish(CHANNEL, requestId);
    }

    /** Completes when fal's webhook for this request arrives (on any instance); never fails. */
    public Uni<Void> await(String requestId) {
        return Uni.createFrom().emitter(emitter -> {
            waiting.computeIfAbsent(requestId, k -> ConcurrentHashMap.newKeySet()).add(emitter);
            emitter.onTermination(() -> {
                Set<UniEmitter<? super Void>> set = waiting.get(requestId);
                if (set != null) {
                    set.remove(emitter);
                    if (set.isEmpty()) {
                        waiting.remove(requestId, set);
                    }
                }
            });
        });
    }

    private final java.util.List<java.util.function.Consumer<String>> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();

    /** Calls {@code listener} with the request id of every completion announced (parked jobs are woken this way). */
    public void listen(java.util.function.Consumer<String> listener) {
        listeners.add(listener);
    }

    private void wake(String requestId) {
        listeners.forEach(l -> l.accept(requestId));
        Set<UniEmitter<? super Void>> set = waiting.remove(requestId);
        if (set != null) {
            set.forEach(e -> e.complete(null));
        }
    }
}
