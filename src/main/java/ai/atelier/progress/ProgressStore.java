package ai.atelier.progress;

import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;

import ai.atelier.config.AtelierConfig;
import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.quarkus.redis.datasource.value.ReactiveValueCommands;
import io.smallrye.mutiny.Uni;

/** Live progress in Redis under {@code atelier:job:<id>:progress}, with a TTL; PostgreSQL stays the truth. */
@ApplicationScoped
public class ProgressStore {

    private final ReactiveValueCommands<String, Progress> values;
    private final long ttlSeconds;

    public ProgressStore(ReactiveRedisDataSource redis, AtelierConfig config) {
        this.values = redis.value(Progress.class);
        this.ttlSeconds = config.jobs().progressTtl().toSeconds();
    }

    public static String key(UUID jobId) {
        return "atelier:job:" + jobId + ":progress";
    }

    public Uni<Void> put(UUID jobId, Progress progress) {
        return values.setex(key(jobId), ttlSeconds, progress);
    }

    /** The live progress, or null when the key expired or Redis does not answer (the row still tells the state). */
    public Uni<Progress> get(UUID jobId) {
        return values.get(key(jobId)).onFailure().recoverWithNull();
    }
}
