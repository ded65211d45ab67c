package ai.atelier.simulator;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.specification.RequestSpecification;

/** The simulator keeps fal's contract (fal-api.md): the tests of Atelier are only as good as this. */
class FalSimulatorTest {

    static FalSimulator sim;

    @BeforeAll
    static void start() {
        sim = FalSimulator.start(0);
    }

    @AfterAll
    static void stop() {
        sim.close();
    }

    @BeforeEach
    void reset() {
        api().post("/_sim/reset").then().statusCode(204);
    }

    static RequestSpecification api() {
        return given().baseUri(sim.baseUrl());
    }

    static String submit(Map<String, Object> body) {
        return api().contentType(ContentType.JSON).body(body).post("/queue/fal-ai/flux/schnell").then().statusCode(200)
                .header("x-fal-request-id", org.hamcrest.Matchers.notNullValue())
                .body("status", equalTo("IN_QUEUE")).extract().path("request_id");
    }

    @Test
    void queuedThenInProgressWithLogsThenCompletedWithARealPng() {
        api().contentType(ContentType.JSON).body(Map.of("queue_ms", 300, "latency_ms", 600, "queue_positions", 3)).put("/_sim/settings");
        String id = submit(Map.of("prompt", "p", "image_size", Map.of("width", 300, "height", 260), "seed", 9));
        String status = "/queue/fal-ai/flux/requests/" + id + "/status";
        api().get(status).then().statusCode(202).body("status", equalTo("IN_QUEUE")).body("queue_position", org.hamcrest.Matchers.lessThan(3));
        await().atMost(Duration.ofSeconds(5)).until(() -> "IN_PROGRESS".equals(api().get(status + "?logs=1").then().extract().path("status")));
        await().atMost(Duration.ofSeconds(5)).until(() -> api().get(status + "?logs=1").statusCode() == 200);
        JsonPath done = api().get(status + "?logs=1").then().body("status", equalTo("COMPLETED")).extract().jsonPath();
        assertThat(done.getList("logs.message")).contains("Loading model weights");
        assertThat(done.getDouble("metrics.inference_time")).isPositive();
        JsonPath result = api().get("/queue/fal-ai/flux/requests/" + id).then().statusCode(200).extract().jsonPath();
        assertThat(result.getInt("images[0].width")).isEqualTo(300);
        assertThat(result.getLong("seed")).isEqualTo(9);
        byte[] png = given().get(result.getString("images[0].url")).then().statusCode(200).extract().asByteArray();
        assertThat(png).isEqualTo(Png.render(300, 260, 9));
    }

    @Test
    void statusResultAndCancelLiveOnOwnerAppOnly() {
        String id = submit(Map.of("prompt", "p"));
        api().get("/queue/fal-ai/flux/schnell/requests/" + id + "/status").then().statusCode(404);
        api().get("/queue/fal-ai/other/requests/" + id + "/status").then().statusCode(404);
        api().get("/queue/fal-ai/flux/requests/" + id + "/status").then().statusCode(org.hamcrest.Matchers.anyOf(equalTo(200), equalTo(202)));
    }

    @Test
    void rejectsFieldsTheModelDoesNotAcceptWithFalsDetailList() {
        api().contentType(ContentType.JSON).body(Map.of("queue_ms", 0, "latency_ms", 10)).put("/_sim/settings");
        String id = api().contentType(ContentType.JSON).body(Map.of("prompt", "p", "image_url", "https://x/y.png", "image_strength", 0.5,
                "num_inference_steps", 99)).post("/queue/fal-ai/flux-general/image-to-image").then().statusCode(200).extract().path("request_id");
        await().atMost(Duration.ofSeconds(5)).until(() -> api().get("/queue/fal-ai/flux-general/requests/" + id + "/status").statusCode() == 200);
        api().get("/queue/fal-ai/flux-general/requests/" + id + "/status").then().body("status", equalTo("COMPLETED"));
        api().get("/queue/fal-ai/flux-general/requests/" + id).then().statusCode(422)
                .body("detail.type", hasItem("extra_forbidden")).body("detail.loc", hasItem(List.of("body", "image_strength")))
                .body("detail.find { it.type == 'less_than_equal' }.loc", equalTo(List.of("body", "num_inference_steps")));
        // the sync endpoint answers the same validation at once
        api().contentType(ContentType.JSON).body(Map.of("num_inference_steps", "seven")).post("/run/fal-ai/flux/schnell").then().statusCode(422)
                .body("detail.type", hasItem("missing")).body("detail.type", hasItem("int_type"));
    }

    @Test
    void cancelAnswersLikeFal() {
        api().contentType(ContentType.JSON).body(Map.of("queue_ms", 2000, "latency_ms", 2000)).put("/_sim/settings");
        String queued = submit(Map.of("prompt", "p"));
        api().put("/queue/fal-ai/flux/requests/" + queued + "/cancel").then().statusCode(200).body("status", equalTo("OK"));
        api().put("/queue/fal-ai/flux/requests/" + queued + "/cancel").then().statusCode(400).body("status", equalTo("ALREADY_COMPLETED"));
        api().get("/queue/fal-ai/flux/requests/" + queued).then().statusCode(499);
        api().put("/queue/fal-ai/flux/requests/nope/cancel").then().statusCode(404).body("status", equalTo("NOT_FOUND"));
    }

    @Test
    void scriptedFaultsAnswerWithRetryAfterAndErrorType() {
        api().contentType(ContentType.JSON).body(Map.of("target", "submit", "status", 503, "error_type", "runner_scheduling_failure",
                "retry_after", 2)).post("/_sim/faults").then().statusCode(204);
        api().contentType(ContentType.JSON).body(Map.of("prompt", "p")).post("/queue/fal-ai/flux/schnell").then().statusCode(503)
                .header("Retry-After", "2").header("X-Fal-Error-Type", "runner_scheduling_failure")
                .body("error_type", equalTo("runner_scheduling_failure"));
        submit(Map.of("prompt", "p")); // the fault was for one call only
        List<Map<String, Object>> journal = api().get("/_sim/requests").then().extract().jsonPath().getList("requests");
        assertThat(journal).hasSize(2);
    }

    @Test
    void neverRecordsTheKey() {
        api().header("Authorization", "Key secret-id:secret-value").contentType(ContentType.JSON).body(Map.of("prompt", "p"))
                .post("/queue/fal-ai/flux/schnell").then().statusCode(200);
        String journal = api().get("/_sim/requests").then().extract().asString();
        assertThat(journal).contains("Key ***").doesNotContain("secret-value");
    }
}
