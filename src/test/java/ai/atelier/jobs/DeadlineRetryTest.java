package ai.atelier.jobs;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import ai.atelier.support.Db;
import ai.atelier.support.Jobs;
import ai.atelier.support.Simulator;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;

/**
 * A job that gave up waiting on fal (its request deadline) fails with fal_deadline; fal may still finish
 * that request, so a retry waits for the same request instead of paying for a second one.
 */
@QuarkusTest
@TestProfile(DeadlineRetryTest.ShortDeadline.class)
class DeadlineRetryTest {

    public static class ShortDeadline implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("atelier.fal.request-deadline", "1s");
        }
    }

    @Test
    void retryAfterADeadlineWaitsForTheSameRequest() {
        Simulator.reset();
        Simulator.settings(0, 1800);
        String id = given().contentType("application/json").body(Map.of("model", "flux-schnell", "prompt", "patience"))
                .post("/v1/jobs").then().statusCode(202).extract().path("id");
        JsonPath failed = Jobs.awaitTerminal(id);
        assertThat(failed.getString("status")).isEqualTo("failed");
        assertThat(failed.getString("error.code")).isEqualTo("fal_deadline");
        String requestId = (String) Db.job(UUID.fromString(id)).get("fal_request_id");

        Simulator.settings(0, 50);
        given().post("/v1/jobs/" + id + "/retry").then().statusCode(202);
        JsonPath done = Jobs.awaitTerminal(id);
        assertThat(done.getString("status")).isEqualTo("succeeded");
        assertThat(Db.job(UUID.fromString(id)).get("fal_request_id")).isEqualTo(requestId);
        assertThat(Simulator.submissions("fal-ai/flux/schnell")).hasSize(1);
    }
}
