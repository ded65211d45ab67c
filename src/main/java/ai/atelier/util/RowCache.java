package ai.atelier.util;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;

import io.smallrye.mutiny.Uni;

/**
 * Rows every request reads (an API key, a tenant's limits), kept for a few seconds so a change reaches every
 * instance within {@code fresh}. Caffeine does the two things a map with timestamps got wrong under load:
 * <ul>
 * <li>callers that miss at the same time share one read (a hand-made cache sent every request of the miss window
 * to PostgreSQL: at 1,000 jobs in flight, thousands of reads of the same row each time it expired, queued behind
 * the jobs' statements, which lengthened the window further);</li>
 * <li>a row in use is read again in the background after two thirds of {@code fresh}, while requests go on with
 * the value at hand, so a hot row never expires in front of its requests.</li>
 * </ul>
 * A value is trusted for at most {@code fresh} after its read answered. Loads run on the caller's thread (no executor hop: the load only sends a
 * query); a failed load is not kept, so the next read tries again. A load that answers null keeps nothing either.
 */
public final class RowCache<K, V> {

    static final Duration READ_TIMEOUT = Duration.ofSeconds(10);

    private final AsyncLoadingCache<K, V> cache;

    public RowCache(Duration fresh, long maxEntries, Function<K, Uni<V>> load) {
        this(fresh, maxEntries, load, com.github.benmanes.caffeine.cache.Ticker.systemTicker());
    }

    /** With a clock of the test's. */
    RowCache(Duration fresh, long maxEntries, Function<K, Uni<V>> load, com.github.benmanes.caffeine.cache.Ticker ticker) {
        this.cache = Caffeine.newBuilder().maximumSize(maxEntries).ticker(ticker)
                .expireAfterWrite(fresh)
                .refreshAfterWrite(fresh.multipliedBy(2).dividedBy(3))
                .executor(Runnable::run)
                // a read that never answers would hold the key's refresh forever: it fails instead, and the next one tries again
                .buildAsync((key, executor) -> load.apply(key).ifNoItem().after(READ_TIMEOUT).fail().subscribeAsCompletionStage());
    }

    /** The value if it is at hand now, else null (not read yet, being read, failed, or read as null). */
    public V now(K key) {
        CompletableFuture<V> f = cache.getIfPresent(key);
        return f != null && f.isDone() && !f.isCompletedExceptionally() ? f.getNow(null) : null;
    }

    /**
     * The value, read when it is not at hand (once for every caller missing it meanwhile). Call on the caller's
     * Vert.x context: a shared read completes on the context of whoever started it, so the answer is brought back.
     */
    public Uni<V> get(K key) {
        CompletableFuture<V> f = cache.get(key);
        if (f.isDone() && !f.isCompletedExceptionally()) {
            return Uni.createFrom().item(f.getNow(null));
        }
        // a copy per caller: the shared read goes on for everyone else when one of them hangs up
        return Contexts.awaitCopy(f);
    }

    /** Forgets the value: this instance's next read goes to the database (the others' within {@code fresh}). */
    public void invalidate(K key) {
        cache.synchronous().invalidate(key);
    }
}
