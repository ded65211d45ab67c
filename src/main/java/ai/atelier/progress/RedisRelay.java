package ai.atelier.progress;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import jakarta.inject.Singleton;
import jakarta.enterprise.event.Observes;

import io.quarkus.logging.Log;
import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.quarkus.redis.datasource.pubsub.ReactivePubSubCommands;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.vertx.mutiny.core.Vertx;

/**
 * This instance's one subscription to Redis pub/sub, shared by every channel Atelier listens on (job
 * progress, fal completions, cancellations). Pub/sub forgets a subscriber whose connection dropped: when
 * Redis restarts or fails over, the relay subscribes again (with backoff until Redis answers) and tells
 * {@link #onResubscribed} listeners, which catch up on what they may have missed from the streams and
 * rows that outlive a connection.
 */
@Singleton
public class RedisRelay {

    private static final Duration FIRST_RETRY = Duration.ofMillis(200);
    private static final Duration MAX_RETRY = Duration.ofSeconds(5);

    private final ReactiveRedisDataSource redis;
    private final Vertx vertx;
    private final Map<String, List<Consumer<String>>> handlers = new ConcurrentHashMap<>();
    private final List<Runnable> resubscribed = new CopyOnWriteArrayList<>();
    private final AtomicBoolean connected = new AtomicBoolean();
    private volatile boolean stopped;
    private volatile ReactivePubSubCommands.ReactiveRedisSubscriber subscriber;

    public RedisRelay(ReactiveRedisDataSource redis, Vertx vertx) {
        this.redis = redis;
        this.vertx = vertx;
    }

    /** Calls {@code handler} with every message on {@code channel}; register at start-up, before {@link #start}. */
    public void listen(String channel, Consumer<String> handler) {
        handlers.computeIfAbsent(channel, k -> new CopyOnWriteArrayList<>()).add(handler);
    }

    /** Called after every re-subscription (not the first): messages sent while disconnected are gone. */
    public void onResubscribed(Runnable listener) {
        resubscribed.add(listener);
    }

    /** Whether the subscription is up now. */
    public boolean connected() {
        return connected.get();
    }

    /** Starts after the other start-up observers (default priority) registered their channels. */
    void start(@Observes @jakarta.annotation.Priority(jakarta.interceptor.Interceptor.Priority.LIBRARY_AFTER + 500) StartupEvent event) {
        subscribe(false, FIRST_RETRY);
    }

    void stop(@Observes ShutdownEvent event) {
        stopped = true;
        ReactivePubSubCommands.ReactiveRedisSubscriber s = subscriber;
        if (s != null) {
            s.unsubscribe().subscribe().with(ok -> { }, e -> { });
        }
    }

    private void subscribe(boolean again, Duration nextDelay) {
        if (stopped || handlers.isEmpty()) {
            return;
        }
        AtomicBoolean ended = new AtomicBoolean();
        Runnable lost = () -> {
            if (ended.compareAndSet(false, true) && !stopped) {
                connected.set(false);
                Log.warn("Redis pub/sub connection lost; subscribing again");
                retry(FIRST_RETRY);
            }
        };
        redis.pubsub(String.class).subscribe(List.copyOf(handlers.keySet()), this::dispatch, lost, e -> lost.run())
                .subscribe().with(s -> {
                    subscriber = s;
                    connected.set(true);
                    if (again) {
                        Log.info("Redis pub/sub subscribed again");
                        resubscribed.forEach(Runnable::run);
                    }
                }, e -> {
                    if (!stopped) {
                        Log.debugf("Redis pub/sub subscription failed (%s); again in %s", e.getMessage(), nextDelay);
                        retry(nextDelay);
                    }
                });
    }

    private void retry(Duration delay) {
        Duration next = delay.multipliedBy(2).compareTo(MAX_RETRY) > 0 ? MAX_RETRY : delay.multipliedBy(2);
        vertx.setTimer(delay.toMillis(), t -> subscribe(true, next));
    }

    private void dispatch(String channel, String message) {
        List<Consumer<String>> list = handlers.get(channel);
        if (list != null) {
            for (Consumer<String> h : list) {
                try {
                    h.accept(message);
                } catch (RuntimeException e) {
                    Log.warnf("handler of %s failed: %s", channel, e.getMessage());
                }
            }
        }
    }
}
