package ai.atelier.compat;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import ai.atelier.support.Db;
import ai.atelier.support.Images;
import ai.atelier.support.Simulator;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;

/** The prototypes' routes, driven exactly as their READMEs' curl examples do. */
@QuarkusTest
class SeedCompatibilityTest {

    @jakarta.inject.Inject
    io.quarkus.redis.datasource.RedisDataSource redis;

    @BeforeEach
    void reset() {
        Simulator.reset();
        Simulator.settings(50, 150);
    }

    private static JsonPath awaitSeed001(String sessionId) {
        JsonPath[] last = new JsonPath[1];
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> {
            last[0] = given().get("/api/" + sessionId + "/status").then().statusCode(200).extract().jsonPath();
            return List.of("completed", "failed").contains(last[0].getString("status"));
        });
        return last[0];
    }

    @Test
    void seed001TextToImageCurlExampleWorksAsWritten() {
        // seed 001's README, verbatim body: its sampler settings are ignored in favour of the locked ones
        String body = """
                {
                    "prompt": "A serene lake with mountains at sunset",
                    "width": 1024,
                    "height": 768,
                    "guidance_scale": 7.5,
                    "num_inference_steps": 50
                  }""";
        JsonPath submitted = given().contentType(ContentType.JSON).body(body).post("/api/flux/t2i").then().statusCode(200)
                .body("status", equalTo("pending"))
                .body("message", equalTo("Task submitted. Use /api/{session_id}/status to check progress.")).extract().jsonPath();
        String session = submitted.getString("session_id");
        JsonPath status = awaitSeed001(session);
        assertThat(status.getString("status")).isEqualTo("completed");
        assertThat(status.getInt("progress")).isEqualTo(100);
        assertThat(status.getString("result_url")).contains("X-Amz-Signature");
        assertThat(status.getString("session_id")).isEqualTo(session);
        assertThat(status.getMap("")).containsKeys("message", "error");
        Map<String, Object> sent = Simulator.submissions("fal-ai/flux/schnell").get(0);
        assertThat(sent).containsEntry("num_inference_steps", 7).containsEntry("guidance_scale", 3.5f)
                .containsEntry("image_size", Map.of("width", 1024, "height", 768));
        assertThat(Db.job(UUID.fromString(session))).containsEntry("source", "seed-001");
    }

    /**
     * The live store keeps a job's view in the format of the API it came through, and only that one; a
     * read through another API (v1 of a seed job, while it runs and after) answers from the row.
     */
    @Test
    void aSeedJobIsKeptLiveInItsOwnFormatAndStillReadsThroughV1() {
        Simulator.settings(0, 1500);
        String session = given().contentType(ContentType.JSON).body(Map.of("prompt", "a lighthouse at dusk")).post("/api/flux/t2i")
                .then().statusCode(200).extract().path("session_id");
        String key = ai.atelier.progress.ProgressStore.key(UUID.fromString(session));
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                .until(() -> Db.job(UUID.fromString(session)).get("fal_request_id") != null && redis.hash(String.class).hget(key, "seed001") != null);
        assertThat(redis.hash(String.class).hgetall(key)).containsKeys("tenant", "seed001").doesNotContainKeys("v1", "seed000");
        assertThat(redis.hash(String.class).hget(key, "seed001")).contains("\"session_id\":\"" + session + "\"");
        // v1 of the running seed job: from its row
        given().get("/v1/jobs/" + session).then().statusCode(200).body("id", equalTo(session)).body("status", equalTo("running"));
        assertThat(awaitSeed001(session).getString("status")).isEqualTo("completed");
        given().get("/v1/jobs/" + session).then().statusCode(200).body("status", equalTo("succeeded")).body("outputs[0].url", notNullValue());

        // and a v1 job's live state is v1 alone
        String id = given().contentType(ContentType.JSON).body(Map.of("model", "flux-schnell", "prompt", "a lighthouse at dawn")).post("/v1/jobs")
                .then().statusCode(202).extract().path("id");
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                .until(() -> redis.hash(String.class).hget(ai.atelier.progress.ProgressStore.key(UUID.fromString(id)), "v1") != null);
        assertThat(redis.hash(String.class).hgetall(ai.atelier.progress.ProgressStore.key(UUID.fromString(id)))).containsKeys("tenant", "v1")
                .doesNotContainKeys("seed001", "seed000");
        // seed 001's status route reads it from the row
        given().get("/api/" + id + "/status").then().statusCode(200).body("session_id", equalTo(id));
    }

    @Test
    void seed001ImageToImageMultipartWorksAsWritten() {
        String session = given().multiPart("image", "input.jpg", Images.png(512, 512), "image/jpeg")
                .multiPart("prompt", "Transform into a watercolor painting").multiPart("strength", "0.8").multiPart("guidance_scale", "7.5")
                .post("/api/flux/i2i").then().statusCode(200).body("status", equalTo("pending")).extract().path("session_id");
        assertThat(awaitSeed001(session).getString("status")).isEqualTo("completed");
        assertThat(Simulator.submissions("fal-ai/flux-general/image-to-image").get(0)).containsEntry("strength", 0.5f)
                .containsEntry("prompt", "Transform into a watercolor painting");
    }

    @Test
    void seed001MultiAngleRoutesWork() {
        String t2i = given().contentType(ContentType.JSON).body(Map.of("prompt", "a ceramic vase", "width", 512, "height", 512))
                .post("/api/qwen-multi-angle/t2i").then().statusCode(200).extract().path("session_id");
        String i2i = given().multiPart("image", "vase.png", Images.png(400, 400), "image/png").post("/api/qwen-multi-angle/i2i")
                .then().statusCode(200).extract().path("session_id");
        assertThat(awaitSeed001(t2i).getString("status")).isEqualTo("completed");
        assertThat(awaitSeed001(i2i).getString("status")).isEqualTo("completed");
        assertThat(Simulator.submissions("fal-ai/qwen-image-edit-plus-lora-gallery/multiple-angles")).hasSize(2);
    }

    @Test
    void seed001ReportsFailureInItsOwnWords() {
        Simulator.fault(Map.of("target", "complete", "status", 422, "detail", "GPU out of memory", "error_type", "runner_server_error"));
        String session = given().contentType(ContentType.JSON).body(Map.of("prompt", "x")).post("/api/flux/t2i").then().statusCode(200)
                .extract().path("session_id");
        JsonPath status = awaitSeed001(session);
        assertThat(status.getString("status")).isEqualTo("failed");
        assertThat(status.getString("error")).contains("GPU out of memory");
        assertThat(status.getString("result_url")).isNull();
    }

    @Test
    void seed001HealthAnswersAtTheRoot() {
        given().get("/").then().statusCode(200).body("status", equalTo("healthy")).body("redis", equalTo("connected"));
    }

    @Test
    void seed000JobsRoutesWork() {
        String jobId = given().multiPart("image", "mug.png", Images.png(256, 256), "image/png").multiPart("prompt", "make it blue")
                .post("/api/jobs").then().statusCode(200).body("status", equalTo("pending")).extract().path("job_id");
        await().atMost(Duration.ofSeconds(30)).until(() -> "completed".equals(given().get("/api/jobs/" + jobId).then().statusCode(200)
                .extract().path("status")));
        given().get("/api/jobs/" + jobId).then().body("prompt", equalTo("make it blue")).body("result_url", notNullValue());
        List<String> ids = given().get("/api/jobs").then().statusCode(200).extract().jsonPath().getList("job_id");
        assertThat(ids).contains(jobId);
        assertThat(Simulator.submissions("fal-ai/qwen-image-edit-plus-lora").get(0)).containsEntry("num_inference_steps", 28);
    }

    @Test
    void seed001RoutesRefuseFieldsTheyDoNotKnowNamingThem() {
        long before = ai.atelier.support.Db.count();
        // camelCase is not seed 001's spelling (negative_prompt is): refused, never silently ignored
        given().contentType(ContentType.JSON).body(Map.of("prompt", "x", "negativePrompt", "blurry")).post("/api/flux/t2i").then()
                .statusCode(422).contentType("application/problem+json").body("type", equalTo("/problems/unknown-field"))
                .body("field", equalTo("negativePrompt")).body("detail", org.hamcrest.Matchers.containsString("negative_prompt"));
        given().multiPart("image", "input.png", Images.png(512, 512), "image/png").multiPart("guidanceScale", "7.5")
                .post("/api/flux/i2i").then().statusCode(422).body("type", equalTo("/problems/unknown-field"))
                .body("field", equalTo("guidanceScale"));
        org.assertj.core.api.Assertions.assertThat(ai.atelier.support.Db.count()).isEqualTo(before);
    }
}
