package ai.atelier.jobs.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

import ai.atelier.config.AtelierConfig;
import ai.atelier.jobs.Job;
import ai.atelier.jobs.JobStatus;
import ai.atelier.jobs.JobViews;
import ai.atelier.progress.Progress;
import ai.atelier.progress.ProgressStore;
import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.quarkus.test.junit.QuarkusTest;
import io.smallrye.common.vertx.VertxContext;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Context;
import io.vertx.core.Vertx;

/**
 * When a run's live state is written, as the writes a store receives: the run's first write at once, unless the job's
 * accepted view was written just before (then the run's updates wait out the interval and land together), and the end
 * at once whatever the interval says.
 */
@QuarkusTest
class LiveStateTest {

    @Inject
    ReactiveRedisDataSource redis;
    @Inject
    ObjectMapper json;
    @Inject
    AtelierConfig config;
    @Inject
    JobViews views;
    @Inject
    Vertx vertx;

    /** The store's writes, each the list of events it carried; nothing reaches Redis. */
    static final class RecordingStore extends ProgressStore {
        final List<List<String>> writes = new CopyOnWriteArrayList<>();

        RecordingStore(ReactiveRedisDataSource redis, ObjectMapper json, AtelierConfig config) {
            super(redis, json, config);
        }

        @Override
        public Uni<Void> put(UUID jobId, String tenant, int generation, Map<String, String> views, List<Progress> events) {
            writes.add(events.stream().map(e -> e.status() + ":" + e.stage()).toList());
            return Uni.createFrom().voidItem();
        }
    }

    @Test
    void aRunStartedRightAfterItsAcceptedViewWasWrittenWaitsOutTheIntervalThenWritesItsUpdatesTogether() {
        RecordingStore store = new RecordingStore(redis, json, config);
        LiveState live = new LiveState(job(), store, views, context(), true);
        long start = System.nanoTime();
        live.update(running("prompt"));
        live.update(running("infer"));
        // the accept was the first write: nothing more is due before half a second has passed since
        await().pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(20)).during(Duration.ofMillis(200)).atMost(Duration.ofMillis(450)).until(() -> store.writes.isEmpty());
        await().atMost(Duration.ofSeconds(5)).until(() -> store.writes.size() == 1);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(500));
        assertThat(store.writes.get(0)).containsExactly("running:prompt", "running:infer");
        // the end does not wait for the interval
        live.update(running("store"));
        live.update(new Progress("succeeded", "finish", 100, null, null, List.of(), Instant.now()));
        await().atMost(Duration.ofMillis(400)).until(() -> store.writes.size() == 2);
        assertThat(store.writes.get(1)).containsExactly("running:store", "succeeded:finish");
        live.flushed().await().atMost(Duration.ofSeconds(1));
    }

    @Test
    void aRunWhoseViewWasNotJustWrittenWritesAtOnce() {
        RecordingStore store = new RecordingStore(redis, json, config);
        LiveState live = new LiveState(job(), store, views, context(), false);
        live.update(running("prompt"));
        await().atMost(Duration.ofMillis(400)).until(() -> store.writes.size() == 1);
        assertThat(store.writes.get(0)).containsExactly("running:prompt");
        // the next waits out the interval since that write
        live.update(running("infer"));
        await().pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(20)).during(Duration.ofMillis(200)).atMost(Duration.ofMillis(450)).until(() -> store.writes.size() == 1);
        await().atMost(Duration.ofSeconds(5)).until(() -> store.writes.size() == 2);
        assertThat(store.writes.get(1)).containsExactly("running:infer");
    }

    /**
     * A view that cannot be rendered (here a row without a status) drops the job's live view, so status reads go to
     * the row, and the run's end goes on: before, the write never ended, and a run waiting for its writes waited for good.
     */
    @Test
    void aViewThatCannotBeRenderedDropsTheLiveViewAndDoesNotHoldTheRunUp() {
        Job job = job();
        String key = ProgressStore.key(job.id);
        redis.hash(String.class).hset(key, Map.of("tenant", job.tenant, "v1", "{\"status\":\"running\"}")).await().indefinitely();
        job.status = null;
        RecordingStore store = new RecordingStore(redis, json, config);
        LiveState live = new LiveState(job, store, views, context(), false);
        live.update(running("prompt"));
        live.update(new Progress("succeeded", "finish", 100, null, null, List.of(), Instant.now()));

        live.flushed().await().atMost(Duration.ofSeconds(5));
        assertThat(store.writes).isEmpty();
        await().atMost(Duration.ofSeconds(5)).until(() -> redis.key().exists(key).await().indefinitely() == Boolean.FALSE);
    }

    private Context context() {
        return VertxContext.createNewDuplicatedContext(vertx.getOrCreateContext());
    }

    private static Job job() {
        Job job = new Job();
        job.id = UUID.randomUUID();
        job.tenant = "live-state-test";
        job.model = "flux-schnell";
        job.status = JobStatus.RUNNING;
        job.stage = "prompt";
        job.createdAt = Instant.now();
        job.updatedAt = job.createdAt;
        return job;
    }

    private static Progress running(String stage) {
        return new Progress("running", stage, 50, null, null, List.of(), Instant.now());
    }
}
