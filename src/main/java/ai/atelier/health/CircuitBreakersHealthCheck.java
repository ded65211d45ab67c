package ai.atelier.health;

import java.util.Locale;

import jakarta.inject.Singleton;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;

import ai.atelier.fal.FalClient;
import ai.atelier.storage.ObjectStore;
import io.smallrye.faulttolerance.api.CircuitBreakerMaintenance;
import io.smallrye.faulttolerance.api.CircuitBreakerState;
import io.smallrye.health.api.HealthGroup;

/**
 * The circuit breakers in front of fal and S3, in the {@code dependencies} group: down while one is open
 * (calls fail at once instead of waiting out timeouts), with each breaker's state as data. Not readiness:
 * an open breaker is a dependency's outage, and taking every replica out of the Service would not end it.
 */
@HealthGroup(Dependencies.GROUP)
@Singleton
public class CircuitBreakersHealthCheck implements HealthCheck {

    static final String[] NAMES = { FalClient.BREAKER, ObjectStore.BREAKER };

    @Override
    public HealthCheckResponse call() {
        HealthCheckResponseBuilder response = HealthCheckResponse.named("circuit-breakers").up();
        for (String name : NAMES) {
            String state = state(name);
            response.withData(name, state);
            if (state.equals("open")) {
                response.down();
            }
        }
        return response.build();
    }

    /** A breaker's state in words: closed, half_open or open; closed before its first call creates it. */
    public static String state(String name) {
        try {
            CircuitBreakerState state = CircuitBreakerMaintenance.get().currentState(name);
            return state.name().toLowerCase(Locale.ROOT);
        } catch (RuntimeException notCreatedYet) {
            return "closed";
        }
    }
}
