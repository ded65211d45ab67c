package ai.atelier.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.Test;

import ai.atelier.support.Jobs;
import ai.atelier.support.Simulator;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;

/** A fal call that answers too slowly is abandoned at its timeout and tried again; one that never succeeds fails the job with a reason. */
@QuarkusTest
@TestProfile(SlowFalTest.ShortTimeouts.class)
class SlowFalTest {

    public static class ShortTimeouts implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("atelier.fal.call-timeout", "400ms", "atelier.fal.max-attempts", "3");
        }
    }

    @Test
    void aSlowStatusAnswerTimesOutAndIsRetried() {
        Simulator.reset();
        Simulator.settings(0, 100);
        Simulator.fault(Map.of("target", "stream", "status", 503, "times", 1)); // no status stream: the wait polls
        Simulator.fault(Map.of("target", "status", "delay_ms", 1500, "times", 1)); // slow but correct
        String id = io.restassured.RestAssured.given().contentType("application/json").body(Map.of("model", "flux-schnell", "prompt", "slow"))
                .post("/v1/jobs").then().statusCode(202).extract().path("id");
        assertThat(Jobs.awaitTerminal(id).getString("status")).isEqualTo("succeeded");
        long statusCalls = Simulator.requests().stream().filter(r -> String.valueOf(r.get("path")).endsWith("/status")).count();
        assertThat(statusCalls).isGreaterThanOrEqualTo(2);
    }

    @Test
    void aSubmitLostAfterSendingIsNotSentAgainBecauseFalMayHaveIt() {
        Simulator.reset();
        Simulator.fault(Map.of("target", "submit", "drop", true, "times", 3));
        String id = io.restassured.RestAssured.given().contentType("application/json").body(Map.of("model", "flux-schnell", "prompt", "gone"))
                .post("/v1/jobs").then().statusCode(202).extract().path("id");
        JsonPath job = Jobs.awaitTerminal(id);
        assertThat(job.getString("status")).isEqualTo("failed");
        assertThat(job.getString("error.code")).isEqualTo("fal_unreachable");
        // the connection dropped after the request went out: a second submit could make fal run (and bill) it twice
        assertThat(Simulator.submissions("fal-ai/flux/schnell")).hasSize(1);
    }

    @Test
    void aSubmitFalRefusesIsSentAgainUntilTheAttemptsRunOut() {
        Simulator.reset();
        Simulator.fault(Map.of("target", "submit", "status", 503, "error_type", "runner_scaling_error", "times", 3));
        String id = io.restassured.RestAssured.given().contentType("application/json").body(Map.of("model", "flux-schnell", "prompt", "busy"))
                .post("/v1/jobs").then().statusCode(202).extract().path("id");
        JsonPath job = Jobs.awaitTerminal(id);
        assertThat(job.getString("status")).isEqualTo("failed");
        assertThat(job.getString("error.code")).isEqualTo("fal_runner_scaling_error");
        assertThat(Simulator.submissions("fal-ai/flux/schnell")).hasSize(3);
    }
}
