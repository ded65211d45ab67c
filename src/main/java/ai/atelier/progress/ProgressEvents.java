package ai.atelier.progress;

import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.quarkus.logging.Log;
import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.operators.multi.processors.UnicastProcessor;
import io.smallrye.mutiny.subscription.Cancellable;

/**
 * Every instance listens on the {@code atelier:events} channel and hands each job's events to the
 * event streams open on this instance for that job, whichever instance runs the job.
 */
@ApplicationScoped
public class ProgressEvents {

    private final ReactiveRedisDataSource redis;
    private final ProgressStore store;
    private final Map<UUID, Set<UnicastProcessor<ProgressStore.Event>>> listeners = new ConcurrentHashMap<>();
    private Cancellable subscription;

    public ProgressEvents(ReactiveRedisDataSource redis, ProgressStore store) {
        this.redis = redis;
        this.store = store;
    }

    void start(@Observes StartupEvent event) {
        subscription = redis.pubsub(String.class).subscribe(ProgressStore.CHANNEL)
                .subscribe().with(this::dispatch, e -> Log.warnf("progress channel closed: %s", e.getMessage()));
    }

    void stop(@Observes ShutdownEvent event) {
        if (subscription != null) {
            subscription.cancel();
        }
        listeners.values().forEach(set -> set.forEach(UnicastProcessor::onComplete));
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
        Set<UnicastProcessor<ProgressStore.Event>> set = listeners.get(job);
        if (set == null || set.isEmpty()) {
            return;
        }
        ProgressStore.Event event = new ProgressStore.Event(parts[1], store.read(parts[2]));
        set.forEach(p -> p.onNext(event));
    }

    /**
     * A job's new events from now on. The listener is registered at once and buffers, so nothing
     * published while the caller reads the history is lost.
     */
    public Multi<ProgressStore.Event> listen(UUID job) {
        UnicastProcessor<ProgressStore.Event> processor = UnicastProcessor.create();
        listeners.computeIfAbsent(job, k -> ConcurrentHashMap.newKeySet()).add(processor);
        return processor.onTermination().invoke(() -> {
            Set<UnicastProcessor<ProgressStore.Event>> set = listeners.get(job);
            if (set != null) {
                set.remove(processor);
                if (set.isEmpty()) {
                    listeners.remove(job, set);
                }
            }
        });
    }
}
