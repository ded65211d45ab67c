package ai.atelier.util;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.Cancellable;

/** {@link Unis#then}: chain's meaning (item, failure, cancellation), without keeping the first Uni once it emitted. */
class UnisTest {

    @Test
    void theNextStepGetsTheItemAndItsOutcomeIsTheResult() {
        assertThat(Unis.then(Uni.createFrom().item(2), x -> Uni.createFrom().item(x * 3)).await().atMost(Duration.ofSeconds(1))).isEqualTo(6);
        assertThat(Unis.then(Uni.createFrom().item(2), x -> Uni.createFrom().failure(new IllegalStateException("second")))
                .onFailure().recoverWithItem(e -> e.getMessage()).await().atMost(Duration.ofSeconds(1))).isEqualTo("second");
    }

    @Test
    void aFailureOfTheFirstSkipsTheNextAndAThrowingOrNullStepFails() {
        AtomicBoolean called = new AtomicBoolean();
        Uni<Object> failedFirst = Unis.then(Uni.createFrom().failure(new IllegalArgumentException("first")), x -> {
            called.set(true);
            return Uni.createFrom().item(x);
        });
        assertThat(failedFirst.onFailure().recoverWithItem(e -> e.getMessage()).await().atMost(Duration.ofSeconds(1))).isEqualTo("first");
        assertThat(called).isFalse();
        assertThat(Unis.then(Uni.createFrom().item(1), x -> {
            throw new IllegalStateException("mapper");
        }).onFailure().recoverWithItem(e -> e.getMessage()).await().atMost(Duration.ofSeconds(1))).isEqualTo("mapper");
        assertThat(Unis.then(Uni.createFrom().item(1), x -> null).onFailure().recoverWithItem(e -> e.getClass().getSimpleName())
                .await().atMost(Duration.ofSeconds(1))).isEqualTo("NullPointerException");
    }

    @Test
    void cancellingCancelsWhicheverStepRuns() {
        AtomicBoolean firstCancelled = new AtomicBoolean();
        AtomicBoolean nextCalled = new AtomicBoolean();
        Cancellable whileFirst = Unis.then(Uni.createFrom().emitter(e -> {
        }).onCancellation().invoke(() -> firstCancelled.set(true)), x -> {
            nextCalled.set(true);
            return Uni.createFrom().item(x);
        }).subscribe().with(x -> {
        });
        whileFirst.cancel();
        assertThat(firstCancelled).isTrue();
        assertThat(nextCalled).isFalse();

        AtomicBoolean secondCancelled = new AtomicBoolean();
        AtomicReference<Object> result = new AtomicReference<>();
        Cancellable whileSecond = Unis.then(Uni.createFrom().item(1), x -> Uni.createFrom().emitter(e -> {
        }).onCancellation().invoke(() -> secondCancelled.set(true))).subscribe().with(result::set);
        assertThat(secondCancelled).isFalse();
        whileSecond.cancel();
        assertThat(secondCancelled).isTrue();
        assertThat(result.get()).isNull();
    }

    /** The reason it exists: chain keeps everything before it reachable while the next step waits; then does not. */
    @Test
    void whileTheNextStepWaitsTheFinishedFirstStepCanBeCollected() {
        Held chained = hold(false);
        Held detached = hold(true);
        System.gc();
        // control: with chain, the first step's operator (and what it captured) stays reachable through the subscription
        assertThat(chained.marker.get()).isNotNull();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).until(() -> {
            System.gc();
            return detached.marker.get() == null;
        });
        chained.subscription.cancel();
        detached.subscription.cancel();
    }

    private record Held(WeakReference<Object> marker, Cancellable subscription) {
    }

    private static Held hold(boolean detach) {
        Object marker = new Object();
        Uni<Object> first = Uni.createFrom().item(1).map(x -> marker.hashCode() == 0 ? marker : x);
        java.util.function.Function<Object, Uni<?>> waitForever = x -> Uni.createFrom().emitter(e -> {
        });
        Uni<?> run = detach ? Unis.then(first, waitForever::apply) : first.chain(waitForever);
        return new Held(new WeakReference<>(marker), run.subscribe().with(x -> {
        }));
    }
}
