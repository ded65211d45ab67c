package ai.atelier.batches;

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
 * Keeps batches moving, from any instance, every {@code atelier.batches.feed-interval}: batches past their deadline turn
 * cancelling; cancelling batches have their unfinished items cancelled; held items are released into their tenants'
 * batch shares (the claim never sees a held item, so interactive jobs are never queued behind a batch); batches whose
 * items all ended end, each once, with its batch.completed queued in the statement that ends it.
 */
@Singleton
public class BatchFeeder {

    private final BatchRepository batches;
    private final BatchCancellation cancellation;
    private final Vertx vertx;
    private final AtelierConfig.Batches config;
    private final AtomicBoolean running = new AtomicBoolean();
    private long timer = -1;

    public BatchFeeder(BatchRepository batches, BatchCancellation cancellation, Vertx vertx, AtelierConfig config) {
        this.batches = batches;
        this.cancellation = cancellation;
        this.vertx = vertx;
        this.config = config.batches();
    }

    void start(@Observes StartupEvent event) {
        timer = vertx.setPeriodic(config.feedInterval().toMillis(), t -> round());
    }

    void stop(@Observes ShutdownEvent event) {
        vertx.cancelTimer(timer);
    }

    /** One round; skipped while the previous one runs. */
    void round() {
        if (!running.compareAndSet(false, true)) {
            return;
        }
        batches.anyOpen()
                .chain(open -> !open ? Uni.createFrom().voidItem() : work())
                .onFailure().invoke(e -> Log.warnf("batch feeder round failed: %s", e.getMessage()))
                .onFailure().recoverWithNull()
                .eventually(() -> running.set(false))
                .subscribe().with(x -> { }, e -> running.set(false));
    }

    private Uni<Void> work() {
        return batches.expire()
                .chain(() -> batches.cancelling()).invoke(list -> list.forEach(b -> cancellation.carryOn(b.id(), b.tenantId(), b.endStatus())))
                .chain(() -> batches.release(config.maxRunning()))
                .invoke(n -> {
                    if (n > 0) {
                        Log.debugf("batches: %d item(s) released", n);
                    }
                })
                .chain(() -> batches.finish())
                .invoke(ended -> ended.forEach(b -> Log.infof("batch %s: %s", b.id(), b.status())))
                .replaceWithVoid();
    }
}
