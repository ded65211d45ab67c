package ai.atelier.health;

import java.time.Duration;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

import ai.atelier.storage.ObjectStore;
import io.smallrye.health.api.AsyncHealthCheck;
import io.smallrye.mutiny.Uni;

/** Ready only when the bucket answers; PostgreSQL and Redis have their own checks from their extensions. */
@Readiness
@ApplicationScoped
public class S3ReadinessCheck implements AsyncHealthCheck {

    private final ObjectStore store;

    public S3ReadinessCheck(ObjectStore store) {
        this.store = store;
    }

    @Override
    public Uni<HealthCheckResponse> call() {
        return store.checkBucket()
                .ifNoItem().after(Duration.ofSeconds(5)).fail()
                .map(ok -> HealthCheckResponse.named("s3").up().withData("bucket", store.bucket()).build())
                .onFailure().recoverWithItem(e -> HealthCheckResponse.named("s3").down().withData("bucket", store.bucket())
                        .withData("error", e.getClass().getSimpleName()).build());
    }
}
