package ai.atelier.util;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import io.smallrye.mutiny.Uni;

class RowCacheTest {

    /** The database as the cache sees it: each read is answered when the test says so. */
    static final class Rows {
        final List<CompletableFuture<String>> reads = new ArrayList<>();

        Uni<String> read(String key) {
            CompletableFuture<String> read = new CompletableFuture<>();
            reads.add(read);
            return Uni.createFrom().completionStage(read);
        }

        void answer(int read, String value) {
            reads.get(read).complete(value);
        }
    }

    final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    final Rows rows = new Rows();
    final RowCache<String, String> cache = new RowCache<>(Duration.ofSeconds(3), 100, rows::read, nanos::get);

    void advance(Duration d) {
        nanos.addAndGet(d.toNanos());
    }

    /** "v1" read, then asked for 2.1 s later (past two thirds of fresh, so a read starts behind the answer): what that ask got. */
    String askedPastTheRefreshPoint() {
        cache.get("tenant-a").subscribeAsCompletionStage();
        rows.answer(0, "v1");
        advance(Duration.ofMillis(2_100));
        return cache.now("tenant-a");
    }

    @Test
    void callersThatMissTogetherShareOneRead() {
        List<CompletableFuture<String>> answers = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            answers.add(cache.get("tenant-a").subscribeAsCompletionStage());
        }
        assertThat(rows.reads).hasSize(1);
        assertThat(answers).noneMatch(CompletableFuture::isDone);
        assertThat(cache.now("tenant-a")).isNull();

        rows.answer(0, "limits v1");
        assertThat(answers).allSatisfy(a -> assertThat(a).isCompletedWithValue("limits v1"));
        assertThat(cache.now("tenant-a")).isEqualTo("limits v1");
        assertThat(rows.reads).hasSize(1);
    }

    @Test
    void aRowInUseIsReadAgainInTheBackgroundAndNeverServedOlderThanFresh() {
        cache.get("tenant-a").subscribeAsCompletionStage();
        rows.answer(0, "v1");

        advance(Duration.ofMillis(1_900)); // before two thirds of fresh: nothing is read
        assertThat(cache.now("tenant-a")).isEqualTo("v1");
        assertThat(rows.reads).hasSize(1);

        advance(Duration.ofMillis(200)); // past two thirds: the request goes on with v1, one read starts behind it
        assertThat(cache.now("tenant-a")).isEqualTo("v1");
        assertThat(cache.now("tenant-a")).isEqualTo("v1");
        assertThat(rows.reads).hasSize(2);
        rows.answer(1, "v2");
        assertThat(cache.now("tenant-a")).isEqualTo("v2");

        // a row nobody asked for through its whole freshness is not served: the next caller waits for a read
        advance(Duration.ofMillis(3_100));
        assertThat(cache.now("tenant-a")).isNull();
        CompletableFuture<String> waiting = cache.get("tenant-a").subscribeAsCompletionStage();
        assertThat(waiting).isNotDone();
        rows.answer(rows.reads.size() - 1, "v3");
        assertThat(waiting).isCompletedWithValue("v3");
    }

    @Test
    void aCallerThatGoesAwayDoesNotTakeTheSharedReadWithIt() {
        var leaving = cache.get("tenant-a").subscribe().with(v -> { }, e -> { });
        CompletableFuture<String> staying = cache.get("tenant-a").subscribeAsCompletionStage();
        leaving.cancel(); // a client that hung up while its request waited
        assertThat(rows.reads).hasSize(1);
        rows.answer(0, "v1");
        assertThat(staying).isCompletedWithValue("v1");
        assertThat(cache.now("tenant-a")).isEqualTo("v1");
    }

    @Test
    void aFailedBackgroundReadKeepsTheValueOnlyUntilItExpires() {
        assertThat(askedPastTheRefreshPoint()).isEqualTo("v1");
        rows.reads.get(1).completeExceptionally(new IllegalStateException("database down"));
        assertThat(cache.now("tenant-a")).as("still within 3 s of its read").isEqualTo("v1");
        advance(Duration.ofMillis(1_000));
        assertThat(cache.now("tenant-a")).as("3.1 s after its read").isNull();
    }

    @Test
    void aBackgroundReadThatHangsDoesNotKeepTheValuePastFresh() {
        assertThat(askedPastTheRefreshPoint()).isEqualTo("v1");
        assertThat(rows.reads).hasSize(2); // the refresh, never answered
        advance(Duration.ofMillis(1_000));
        assertThat(cache.now("tenant-a")).isNull();
    }

    @Test
    void aRowThatIsGoneWhenReadAgainIsDropped() {
        askedPastTheRefreshPoint();
        rows.answer(1, null); // the tenant was deleted
        assertThat(cache.now("tenant-a")).isNull();
    }

    @Test
    void aFailedReadIsNotKept() {
        CompletableFuture<String> first = cache.get("tenant-a").subscribeAsCompletionStage();
        rows.reads.get(0).completeExceptionally(new IllegalStateException("database down"));
        assertThatThrownBy(first::join).hasRootCauseMessage("database down");
        assertThat(cache.now("tenant-a")).isNull();

        CompletableFuture<String> second = cache.get("tenant-a").subscribeAsCompletionStage();
        assertThat(rows.reads).hasSize(2);
        rows.answer(1, "v1");
        assertThat(second).isCompletedWithValue("v1");
    }

    @Test
    void aMissingRowIsNotKept() {
        CompletableFuture<String> first = cache.get("no-such-tenant").subscribeAsCompletionStage();
        rows.answer(0, null);
        assertThat(first).isCompletedWithValue(null);

        cache.get("no-such-tenant").subscribeAsCompletionStage();
        assertThat(rows.reads).as("a tenant made a moment later is found at once").hasSize(2);
    }

    @Test
    void invalidatedRowsAreReadAgain() {
        cache.get("tenant-a").subscribeAsCompletionStage();
        rows.answer(0, "v1");
        cache.invalidate("tenant-a");
        assertThat(cache.now("tenant-a")).isNull();
        cache.get("tenant-a").subscribeAsCompletionStage();
        assertThat(rows.reads).hasSize(2);
    }
}
