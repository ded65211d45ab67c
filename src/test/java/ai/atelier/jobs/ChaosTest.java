package ai.atelier.jobs;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import ai.atelier.support.Db;
import ai.atelier.support.Simulator;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;

/** fal misbehaving in every way the simulator knows, at once: every job still ends, succeeded or failed with a reason. */
@QuarkusTest
class ChaosTest {

    @Test
    void everyJobEndsSucceededOrFailedWithAReason() {
        Simulator.reset();
        Simulator.settings(50, 300);
        Simulator.fault(Map.of("target", "submit", "status", 503, "error_type", "runner_scheduling_failure", "times", 4));
        Simulator.fault(Map.of("target", "status", "status", 429, "retry_after", 1, "times", 6));
        Simulator.fault(Map.of("target", "status", "delay_ms", 6000, "times", 2)); // slower than the 5 s call timeout
        Simulator.fault(Map.of("target", "result", "drop", true, "times", 3));
        Simulator.fault(Map.of("target", "file", "status", 502, "times", 2));
        Simulator.fault(Map.of("target", "complete", "status", 422, "detail", "NSFW content detected", "error_type",
                "content_policy_violation", "times", 3));
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            ids.add(given().contentType(ContentType.JSON).body(Map.of("model", "flux-schnell", "prompt", "chaos " + i)).post("/v1/jobs")
                    .then().statusCode(202).extract().path("id"));
        }
        String in = "id in ('" + String.join("','", ids) + "')";
        await().atMost(Duration.ofSeconds(90)).until(() -> Db.count(in + " and status in ('succeeded', 'failed')") == 20);

        assertThat(Db.count(in + " and status = 'failed' and error_code = 'fal_validation' and error_message like '%NSFW%'")).isEqualTo(3);
        assertThat(Db.count(in + " and status = 'succeeded' and outputs::text like '%outputs/0.png%'")).isEqualTo(17);
        assertThat(Db.count(in + " and status = 'failed' and (error_code is null or error_message is null)")).isZero();
        // one paid submission per job, whatever was retried around it
        List<Object> prompts = Simulator.submissions("fal-ai/flux/schnell").stream().map(b -> b.get("prompt")).toList();
        assertThat(new HashSet<>(prompts)).hasSize(20);
        assertThat(prompts).hasSize(24); // the 4 refused with 503 were tried again
    }
}
