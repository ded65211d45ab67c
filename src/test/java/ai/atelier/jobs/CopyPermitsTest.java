package ai.atelier.jobs;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import ai.atelier.support.Jobs;
import ai.atelier.support.Simulator;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;

/**
 * Pictures copied through memory have their own cap, apart from the jobs working at once: with one copy permit, three
 * jobs that fal finishes together fetch their outputs one after another, each only once the one before is stored.
 */
@QuarkusTest
@TestProfile(CopyPermitsTest.OneCopy.class)
class CopyPermitsTest {

    private static final long FILE_DELAY_MS = 700;

    public static class OneCopy implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("atelier.jobs.max-copying", "1");
        }
    }

    @Test
    void picturesAreCopiedOneAtATimeWhileTheJobsWorkTogether() {
        Simulator.reset();
        Simulator.settings(0, 50);
        Simulator.fault(Map.of("target", "file", "delay_ms", FILE_DELAY_MS, "times", 3));
        List<String> ids = List.of("first", "second", "third").stream()
                .map(p -> given().contentType(ContentType.JSON).body(Map.of("model", "flux-schnell", "prompt", "copied " + p)).post("/v1/jobs")
                        .then().statusCode(202).extract().<String>path("id"))
                .toList();
        for (String id : ids) {
            var job = Jobs.awaitTerminal(id);
            assertThat(job.getString("status")).as(id).isEqualTo("succeeded");
            assertThat(job.getList("outputs")).as(id).hasSize(1);
        }
        List<Instant> fetches = Simulator.requests().stream()
                .filter(r -> "GET".equals(r.get("method")) && String.valueOf(r.get("path")).startsWith("/files/sim/"))
                .map(r -> Instant.parse(String.valueOf(r.get("at")))).sorted().toList();
        assertThat(fetches).as("output fetches").hasSize(3);
        // every job was at fal within the same few milliseconds; each fetch waited for the one before (answered after
        // FILE_DELAY_MS, then stored) to give its permit back
        for (int i = 1; i < fetches.size(); i++) {
            assertThat(Duration.between(fetches.get(i - 1), fetches.get(i))).as("fetch %d after fetch %d", i + 1, i)
                    .isGreaterThanOrEqualTo(Duration.ofMillis(FILE_DELAY_MS - 50));
        }
    }
}
