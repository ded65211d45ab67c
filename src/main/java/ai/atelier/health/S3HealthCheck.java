package ai.atelier.health;

import java.time.Duration;

import jakarta.inject.Singleton;

import org.eclipse.microprofile.health.HealthCheckResponse;

import ai.atelier.storage.ObjectStore;
import io.smallrye.health.api.AsyncHealthCheck;
import io.smallrye.health.api.HealthGroup;
import io.smallrye.mutiny.Uni;

/**
 * Whether the bucket answers, in the {@code dependencies} group ({@code /q/health/group/dependencies}),
 * not in readiness: see {@link Dependencies} for why.
 */
@HealthGroup(Dependencies.GROUP)
@Singleton
public class S3HealthCheck implements AsyncHealthCheck {

    private final ObjectStore store;

    public S3HealthCheck(ObjectStore store) {
        this.store = store;
    }

    @Override
    public Uni<HealthCheckResponse> call() {
        return store.checkBucket()
                .ifNoItem().after(Duration.ofSeconds(5)).fail()
                .map(ok -> HealthCheckResponse.named("s3").up().withData("bucket", store.bucket()).build())
                .onFailure().recoverWithItem(e -> HealthCheckResponse.named("s3").down().withData("bucket", store.bucket())
                        .withData("error", e instanceof ObjectStore.Unavailable ? e.getMessage() : "the bucket did not answer").build());
    }
}
