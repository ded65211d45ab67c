package ai.atelier.util;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;

import org.junit.jupiter.api.Test;

class CircuitBreakerTest {

    @Test
    void opensAfterTheThresholdThenLetsOneTrialThroughAndClosesOnSuccess() {
        CircuitBreaker breaker = new CircuitBreaker("fal", 3, Duration.ofMillis(200));
        breaker.failure();
        breaker.failure();
        assertThat(breaker.allows()).isTrue();
        breaker.failure();
        assertThat(breaker.state()).isEqualTo("open");
        assertThat(breaker.allows()).isFalse();

        await().atMost(Duration.ofSeconds(2)).until(() -> breaker.state().equals("half-open"));
        assertThat(breaker.allows()).isTrue();
        assertThat(breaker.allows()).as("only one trial while half-open").isFalse();
        breaker.failure();
        assertThat(breaker.state()).isEqualTo("open");

        await().atMost(Duration.ofSeconds(2)).until(() -> breaker.state().equals("half-open"));
        assertThat(breaker.allows()).isTrue();
        breaker.success();
        assertThat(breaker.state()).isEqualTo("closed");
        assertThat(breaker.allows()).isTrue();
    }

    @Test
    void aSuccessResetsTheCount() {
        CircuitBreaker breaker = new CircuitBreaker("s3", 2, Duration.ofSeconds(10));
        breaker.failure();
        breaker.success();
        breaker.failure();
        assertThat(breaker.state()).isEqualTo("closed");
    }
}
