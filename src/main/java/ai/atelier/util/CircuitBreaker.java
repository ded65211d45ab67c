package ai.atelier.util;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Stops calling a dependency that keeps failing: after {@code threshold} failures in a row the circuit
 * opens and calls fail at once for {@code openFor}; then one trial call is let through (half-open) and
 * its outcome closes or re-opens the circuit. Lock-free; one instance per dependency.
 *
 * <p>Written by hand: SmallRye Fault Tolerance's Quarkus extension does not resolve for this platform
 * version on the project's Maven mirror, and the retry policy (Retry-After, user timeouts) is Mutiny code
 * already, so the breaker sits beside it.
 */
public final class CircuitBreaker {

    private final String name;
    private final int threshold;
    private final long openForNanos;
    private final AtomicInteger failures = new AtomicInteger();
    private final AtomicLong openedAt = new AtomicLong(-1);
    private final AtomicInteger trials = new AtomicInteger();

    public CircuitBreaker(String name, int threshold, Duration openFor) {
        this.name = name;
        this.threshold = threshold;
        this.openForNanos = openFor.toNanos();
    }

    /** Whether a call may go out now. */
    public boolean allows() {
        long opened = openedAt.get();
        if (opened < 0) {
            return true;
        }
        if (System.nanoTime() - opened < openForNanos) {
            return false;
        }
        return trials.compareAndSet(0, 1); // half-open: exactly one trial call
    }

    public void success() {
        failures.set(0);
        openedAt.set(-1);
        trials.set(0);
    }

    public void failure() {
        if (openedAt.get() >= 0) {
            openedAt.set(System.nanoTime()); // the trial failed: open again
            trials.set(0);
            return;
        }
        if (failures.incrementAndGet() >= threshold) {
            openedAt.compareAndSet(-1, System.nanoTime());
        }
    }

    public String state() {
        long opened = openedAt.get();
        return opened < 0 ? "closed" : System.nanoTime() - opened < openForNanos ? "open" : "half-open";
    }

    public String name() {
        return name;
    }
}
