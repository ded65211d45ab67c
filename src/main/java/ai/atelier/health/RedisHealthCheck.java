package ai.atelier.health;

import java.time.Duration;

import jakarta.inject.Singleton;

import org.eclipse.microprofile.health.HealthCheckResponse;

import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.smallrye.health.api.AsyncHealthCheck;
import io.smallrye.health.api.HealthGroup;
import io.smallrye.mutiny.Uni;

/** Whether Redis answers a PING, in the {@code dependencies} group (Quarkus's own check, in readiness, is off: see {@link Dependencies}). */
@HealthGroup(Dependencies.GROUP)
@Singleton
public class RedisHealthCheck implements AsyncHealthCheck {

    private final ReactiveRedisDataSource redis;

    public RedisHealthCheck(ReactiveRedisDataSource redis) {
        this.redis = redis;
    }

    @Override
    public Uni<HealthCheckResponse> call() {
        return redis.execute("PING").ifNoItem().after(Duration.ofSeconds(3)).fail()
                .map(r -> HealthCheckResponse.named("redis").up().build())
                .onFailure().recoverWithItem(e -> HealthCheckResponse.named("redis").down().withData("error", "Redis did not answer").build());
    }
}
