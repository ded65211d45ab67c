package ai.atelier.jobs;

import java.util.List;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import ai.atelier.config.AtelierConfig;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.logging.Log;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.vertx.VertxContextSupport;
import io.quarkus.vertx.core.runtime.context.VertxContextSafetyToggle;
import io.smallrye.common.vertx.VertxContext;
import io.vertx.core.Context;
import io.vertx.core.Vertx;

/**
 * Runs job pipelines in the background, each on its own Vert.x duplicated context (its own Hibernate
 * Reactive session), at most {@code atelier.jobs.max-concurrent} at once; the rest wait their turn.
 * At start it picks up every unfinished job from PostgreSQL, so a restart loses nothing.
 */
@ApplicationScoped
public class JobRunner {

    private final Vertx vertx;
    private final JobPipeline pipeline;
    private final int maxConcurrent;
    private final Queue<UUID> waiting = new ConcurrentLinkedQueue<>();
    private final AtomicInteger running = new AtomicInteger();

    public JobRunner(Vertx vertx, JobPipeline pipeline, AtelierConfig config) {
        this.vertx = vertx;
        this.pipeline = pipeline;
        this.maxConcurrent = config.jobs().maxConcurrent();
    }

    void resumeUnfinished(@Observes StartupEvent start) throws Throwable {
        List<UUID> unfinished = VertxContextSupport.subscribeAndAwait(() -> Panache.withSession(() -> Job.<Job>find(
                "status in ?1 order by createdAt", List.of(JobStatus.QUEUED, JobStatus.RUNNING)).list())
                .map(jobs -> jobs.stream().map(j -> j.id).toList()));
        if (!unfinished.isEmpty()) {
            Log.infof("Resuming %d unfinished job(s)", unfinished.size());
            unfinished.forEach(this::launch);
        }
    }

    public void launch(UUID id) {
        waiting.add(id);
        drain();
    }

    public int running() {
        return running.get();
    }

    private void drain() {
        while (true) {
            int now = running.get();
            if (now >= maxConcurrent || waiting.isEmpty()) {
                return;
            }
            if (!running.compareAndSet(now, now + 1)) {
                continue;
            }
            UUID id = waiting.poll();
            if (id == null) {
                running.decrementAndGet();
                return;
            }
            Context context = VertxContext.createNewDuplicatedContext(vertx.getOrCreateContext());
            VertxContextSafetyToggle.setContextSafe(context, true);
            context.runOnContext(v -> pipeline.run(id)
                    .onTermination().invoke(() -> {
                        running.decrementAndGet();
                        drain();
                    })
                    .subscribe().with(ok -> {
                    }, e -> Log.errorf(e, "job %s: pipeline ended abnormally", id)));
        }
    }
}
