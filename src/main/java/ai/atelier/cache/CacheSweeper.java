package ai.atelier.cache;

import java.util.concurrent.atomic.AtomicBoolean;

import jakarta.inject.Singleton;
import jakarta.enterprise.event.Observes;

import ai.atelier.config.AtelierConfig;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.Vertx;

/**
 * Deletes result cache entries past {@code atelier.cache.retention}, and their files, from any instance every
 * {@code atelier.cache.sweep-interval}: stored results are only worth keeping while a request may still be served
 * from them, and nothing else ever deletes them (a job's own files are apart and untouched). A round deletes
 * batches of {@value #BATCH} entries until none is left, so one pass never holds a long transaction.
 */
@Singleton
public class CacheSweeper {

    static final int BATCH = 500;

    private final CacheEntries entries;
    private final ResultCache cache;
    private final Vertx vertx;
    private final AtelierConfig.Cache config;
    private final AtomicBoolean running = new AtomicBoolean();
    private long timer = -1;

    public CacheSweeper(CacheEntries entries, ResultCache cache, Vertx vertx, AtelierConfig config) {
        this.entries = entries;
        this.cache = cache;
        this.vertx = vertx;
        this.config = config.cache();
    }

    void start(@Observes StartupEvent event) {
        timer = vertx.setPeriodic(config.sweepInterval().toMillis(), t -> sweep().subscribe().with(n -> {
        }, e -> {
        }));
    }

    void stop(@Observes ShutdownEvent event) {
        vertx.cancelTimer(timer);
    }

    /** One pass (skipped while the previous one runs): how many entries it deleted. */
    public Uni<Integer> sweep() {
        if (!running.compareAndSet(false, true)) {
            return Uni.createFrom().item(0);
        }
        return next(0)
                .invoke(n -> {
                    if (n > 0) {
                        Log.infof("result cache: %d entr%s past the retention of %s deleted", n, n == 1 ? "y" : "ies", config.retention());
                    }
                })
                .onFailure().invoke(e -> Log.warnf("result cache sweep failed: %s", e.getMessage()))
                .onFailure().recoverWithItem(0)
                .eventually(() -> running.set(false));
    }

    private Uni<Integer> next(int sofar) {
        return entries.sweep(config.retention(), BATCH)
                .call(d -> cache.deleteFiles(d.keys()))
                .chain(d -> d.entries() < BATCH ? Uni.createFrom().item(sofar + d.entries()) : next(sofar + d.entries()));
    }
}
