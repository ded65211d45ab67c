package ai.atelier.progress;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * A progress event written field by field is what the API's mapper writes for it, byte for byte, and reads back the same,
 * control characters in fal's log lines included (the API's mapper refuses them in requests).
 */
@QuarkusTest
class ProgressJsonTest {

    @Inject
    ProgressStore store;
    @Inject
    ObjectMapper json;
    @Inject
    ReactiveRedisDataSource redis;

    @Test
    void theEventsJsonIsTheMappersAndReadsBack() throws Exception {
        List<String> withNull = new ArrayList<>();
        withNull.add("a line");
        withNull.add("quotes \" and \\ backslashes, a tab\t, é, 🚲, \u0001");
        withNull.add("\u001b[32m100%|██████████| 7/7\u001b[0m\r");
        List<Progress> events = List.of(
                new Progress("running", "infer", 40, "Waiting in fal's queue (position 3)", 3, List.of("Loading model weights", "step 2/7"),
                        Instant.parse("2026-12-07T03:58:13.123456789Z")),
                new Progress("queued", null, 0, null, null, List.of(), Instant.parse("2026-12-07T03:58:13Z")),
                new Progress("succeeded", "finish", 100, "Done", null, withNull, Instant.ofEpochSecond(0, 1000)),
                new Progress("failed", "store", 90, "x", 0, null, null));
        for (Progress p : events) {
            String written = store.write(p);
            assertThat(written).as("%s", p).isEqualTo(json.writeValueAsString(p));
            if (p.logs() != null && p.updatedAt() != null) {
                assertThat(store.read(written)).isEqualTo(p);
            }
        }
    }

    /** An event this version cannot read (a damaged entry, say) is left out of a job's history, not the events around it. */
    @Test
    void anUnreadableEventLeavesTheRestOfTheHistory() {
        java.util.UUID job = java.util.UUID.randomUUID();
        String key = ProgressStore.streamKey(job);
        Progress first = new Progress("running", "infer", 40, null, null, List.of(), Instant.parse("2026-12-07T09:40:00Z"));
        Progress last = new Progress("succeeded", "finish", 100, null, null, List.of(), Instant.parse("2026-12-07T09:40:01Z"));
        redis.stream(String.class).xadd(key, java.util.Map.of("data", store.write(first))).await().indefinitely();
        redis.stream(String.class).xadd(key, java.util.Map.of("data", "{\"status\": [not json")).await().indefinitely();
        redis.stream(String.class).xadd(key, java.util.Map.of("data", store.write(last))).await().indefinitely();

        List<ProgressStore.Event> history = store.history(job, "0").await().indefinitely();

        assertThat(history).extracting(ProgressStore.Event::progress).containsExactly(first, last);
    }

    /** A Redis that has not seen the write's script (flushed, restarted) gets it with the write, which lands all the same. */
    @Test
    void aWriteLandsOnARedisThatLostItsScripts() {
        java.util.UUID job = java.util.UUID.randomUUID();
        Progress event = new Progress("running", "infer", 40, "Generating", null, List.of("step 1/4"), Instant.parse("2026-12-07T13:50:00Z"));
        redis.execute("SCRIPT", "FLUSH").await().indefinitely();

        store.put(job, "tenant-a", 0, java.util.Map.of("v1", "{\"status\":\"running\"}"), List.of(event)).await().indefinitely();

        assertThat(redis.hash(String.class).hget(ProgressStore.key(job), "v1").await().indefinitely()).isEqualTo("{\"status\":\"running\"}");
        assertThat(redis.hash(String.class).hget(ProgressStore.key(job), "tenant").await().indefinitely()).isEqualTo("tenant-a");
        assertThat(store.history(job, "0").await().indefinitely()).extracting(ProgressStore.Event::progress).containsExactly(event);
        // and the script is cached again: the next write goes by its SHA-1 alone
        assertThat(redis.execute("SCRIPT", "EXISTS", ProgressStore.WRITE_SHA).await().indefinitely().get(0).toInteger()).isEqualTo(1);
    }
}
