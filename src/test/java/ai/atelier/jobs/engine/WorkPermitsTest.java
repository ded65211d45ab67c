package ai.atelier.jobs.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.smallrye.mutiny.subscription.Cancellable;

/** Work permits are never lost: not when a waiter gives up, not when it gives up as a permit is handed to it. */
class WorkPermitsTest {

    @Test
    void higherPriorityWaitersAreServedFirstAndAGivenUpWaiterLeavesTheQueue() {
        WorkPermits permits = new WorkPermits(1);
        List<String> order = new ArrayList<>();
        WorkPermits.Holder first = new WorkPermits.Holder(), low = new WorkPermits.Holder(), quitter = new WorkPermits.Holder(),
                high = new WorkPermits.Holder();
        permits.acquire(first, (short) 1).subscribe().with(v -> order.add("first"));
        permits.acquire(low, (short) 2).subscribe().with(v -> order.add("low"));
        Cancellable gaveUp = permits.acquire(quitter, (short) 0).subscribe().with(v -> order.add("high, gave up"));
        permits.acquire(high, (short) 0).subscribe().with(v -> order.add("high"));
        gaveUp.cancel();
        assertThat(permits.free()).isEqualTo(-2); // one held, two waiting
        permits.release(first);
        assertThat(permits.holds(high)).isTrue();
        permits.release(high);
        permits.release(quitter); // holds nothing: gives nothing back
        assertThat(permits.inUse()).isEqualTo(1);
        permits.release(low);
        assertThat(order).containsExactly("first", "high", "low");
        assertThat(permits.free()).isEqualTo(1);
        assertThat(permits.inUse()).isZero();
    }

    @Test
    void aHolderThatAsksAgainKeepsItsOnePermit() {
        WorkPermits permits = new WorkPermits(2);
        WorkPermits.Holder run = new WorkPermits.Holder();
        List<String> got = new ArrayList<>();
        permits.acquire(run, (short) 1).subscribe().with(v -> got.add("once"));
        permits.acquire(run, (short) 1).subscribe().with(v -> got.add("again"));
        assertThat(got).containsExactly("once", "again");
        assertThat(permits.inUse()).isEqualTo(1);
        permits.release(run);
        permits.release(run);
        assertThat(permits.inUse()).isZero();
    }

    @Test
    void runsStoppedWhilePermitsAreHandedOnNeverLeakAPermit() throws Exception {
        int max = 2;
        WorkPermits permits = new WorkPermits(max);
        // Mutiny initialises its context propagation on first use, and not safely from four threads at once
        WorkPermits.Holder warm = new WorkPermits.Holder();
        permits.acquire(warm, (short) 0).subscribe().with(v -> permits.release(warm));
        Queue<Throwable> failed = new ConcurrentLinkedQueue<>();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        CountDownLatch done = new CountDownLatch(4);
        for (int t = 0; t < 4; t++) {
            pool.execute(() -> {
                try {
                    for (int i = 0; i < 5_000; i++) {
                        // a run that gets its permit works and gives it back; a run may be stopped at any moment, also
                        // as the permit reaches it, and then gives back whatever its holder holds, as a run's end does
                        WorkPermits.Holder run = new WorkPermits.Holder();
                        Cancellable c = permits.acquire(run, (short) ThreadLocalRandom.current().nextInt(3))
                                .subscribe().with(v -> permits.release(run), failed::add);
                        if (ThreadLocalRandom.current().nextBoolean()) {
                            c.cancel();
                            permits.release(run);
                        }
                    }
                } finally {
                    done.countDown();
                }
            });
        }
        assertThat(done.await(60, TimeUnit.SECONDS)).isTrue();
        pool.shutdown();
        assertThat(failed).isEmpty();
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() -> permits.inUse() == 0);
        assertThat(permits.free()).isEqualTo(max);
    }
}
