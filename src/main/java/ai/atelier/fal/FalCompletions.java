package ai.atelier.fal;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import jakarta.inject.Singleton;
import jakarta.enterprise.event.Observes;

import ai.atelier.progress.RedisRelay;
import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;

/**
 * "fal says request X is done", from a webhook received by any instance, to the wait on X on any
 * instance (Redis pub/sub through the {@link RedisRelay}), so it ends now instead of at its next poll.
 * Completions are remembered for a while: a webhook can beat the wait it is meant for (fal answered
 * faster than the submit's bookkeeping).
 */
@Singleton
public class FalCompletions {

    static final String CHANNEL = "atelier:fal-done";
    private static final int REMEMBERED = 10_000;

    private final ReactiveRedisDataSource redis;
    private final RedisRelay relay;
    private final List<Consumer<String>> listeners = new CopyOnWriteArrayList<>();
    private final Map<String, Boolean> recent = Collections.synchronizedMap(new LinkedHashMap<>(256, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > REMEMBERED;
        }
    });

    public FalCompletions(ReactiveRedisDataSource redis, RedisRelay relay) {
        this.redis = redis;
        this.relay = relay;
    }

    void start(@Observes StartupEvent event) {
        relay.listen(CHANNEL, this::completed);
    }

    public Uni<Void> announce(String requestId) {
        return redis.pubsub(String.class).publish(CHANNEL, requestId);
    }

    /** Calls {@code listener} with the request id of every completion announced. */
    public void listen(Consumer<String> listener) {
        listeners.add(listener);
    }

    /** Whether a completion of this request was announced lately. */
    public boolean recentlyCompleted(String requestId) {
        return recent.containsKey(requestId);
    }

    private void completed(String requestId) {
        recent.put(requestId, Boolean.TRUE);
        listeners.forEach(l -> l.accept(requestId));
    }
}
