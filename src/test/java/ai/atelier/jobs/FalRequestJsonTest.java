package ai.atelier.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

import io.vertx.core.json.JsonObject;

/** A fal request built field by field for its column is what Jackson writes for the record, and reads back as the same request. */
class FalRequestJsonTest {

    private static final ObjectMapper JACKSON = new ObjectMapper().registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);

    @Test
    void theColumnsJsonIsJacksonsAndReadsBack() {
        List<FalRequest> requests = List.of(
                new FalRequest("infer", null, 0, "fal-ai/flux/schnell", "req-1", FalRequest.State.SUBMITTED, Instant.parse("2026-12-07T03:24:39.123456Z")),
                new FalRequest("shoot", 2, 1, "fal-ai/flux/dev/image-to-image", "req-2", FalRequest.State.COMPLETED, Instant.parse("2026-12-07T03:24:40Z")),
                new FalRequest("categorise", null, 3, null, null, FalRequest.State.DROPPED, null),
                new FalRequest(null, null, 0, "e", "r", null, Instant.ofEpochSecond(1, 5)));
        for (FalRequest r : requests) {
            @SuppressWarnings("unchecked")
            JsonObject jackson = new JsonObject(JACKSON.convertValue(r, Map.class));
            assertThat(r.json().encode()).as("%s", r).isEqualTo(jackson.encode());
        }
        List<FalRequest> stored = requests.subList(0, 3);
        FalRequests read = FalRequests.parse(new JsonObject(FalRequests.json(stored).encode()));
        assertThat(read.select(r -> true)).containsExactlyInAnyOrderElementsOf(stored);
    }
}
