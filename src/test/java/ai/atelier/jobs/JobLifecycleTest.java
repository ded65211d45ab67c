package ai.atelier.jobs;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;

import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import ai.atelier.progress.ProgressStore;
import ai.atelier.simulator.Png;
import ai.atelier.support.Db;
import ai.atelier.support.Images;
import ai.atelier.support.Jobs;
import ai.atelier.support.Simulator;
import io.quarkus.redis.datasource.RedisDataSource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import software.amazon.awssdk.services.s3.S3AsyncClient;

/** A job from submit to S3 through the real HTTP API, PostgreSQL, Redis, S3 and the fal simulator. */
@QuarkusTest
class JobLifecycleTest {

    @Inject
    S3AsyncClient s3;

    @Inject
    RedisDataSource redis;

    @BeforeEach
    void resetSimulator() {
        Simulator.reset();
        Simulator.settings(50, 150);
    }

    private byte[] s3Object(String key) {
        return ai.atelier.support.Objects.bytes(s3, key);
    }

    @Test
    void textToImageJobEndsInS3WithTheLockedParametersSentToFal() {
        String id = given().contentType(ContentType.JSON)
                .body(Map.of("model", "flux-schnell", "prompt", "a red bicycle", "params", Map.of("seed", 42, "image_size",
                        Map.of("width", 320, "height", 256))))
                .post("/v1/jobs").then().statusCode(202).body("status", equalTo("queued"))
                .extract().path("id");
        JsonPath job = Jobs.awaitTerminal(id);
        assertThat(job.getString("status")).isEqualTo("succeeded");
        assertThat(job.getInt("progress")).isEqualTo(100);
        // the times a client reads say what happened: it changed when it finished, after it was made
        java.time.Instant created = java.time.Instant.parse(job.getString("created_at"));
        java.time.Instant updated = java.time.Instant.parse(job.getString("updated_at"));
        java.time.Instant finished = java.time.Instant.parse(job.getString("finished_at"));
        assertThat(updated).isAfter(created).isEqualTo(finished);
        JsonPath fromRow = given().get("/v1/jobs/" + id).then().statusCode(200).extract().jsonPath();
        assertThat(fromRow.getString("updated_at")).isEqualTo(job.getString("updated_at"));

        // the exact body fal received
        List<Map<String, Object>> sent = Simulator.submissions("fal-ai/flux/schnell");
        assertThat(sent).hasSize(1);
        assertThat(sent.get(0)).containsEntry("prompt", "a red bicycle").containsEntry("num_inference_steps", 7)
                .containsEntry("guidance_scale", 3.5f).containsEntry("enable_safety_checker", true).containsEntry("seed", 42)
                .containsEntry("output_format", "png").containsEntry("image_size", Map.of("width", 320, "height", 256));

        // the row
        Map<String, Object> row = Db.job(UUID.fromString(id));
        assertThat(row).containsEntry("status", "succeeded").containsEntry("model", "flux-schnell").containsEntry("stage", "finish");
        assertThat((String) row.get("fal_request_id")).isNotBlank();
        // the job's one home of fal requests: the infer stage's request, completed, the same one the row mirrors
        io.vertx.core.json.JsonObject requests = new io.vertx.core.json.JsonObject(String.valueOf(row.get("fal_requests")));
        assertThat(requests.fieldNames()).containsExactly("infer/0");
        assertThat(requests.getJsonObject("infer/0").getString("request_id")).isEqualTo(row.get("fal_request_id"));
        assertThat(requests.getJsonObject("infer/0").getString("state")).isEqualTo("completed");
        assertThat(requests.getJsonObject("infer/0").getString("endpoint")).isEqualTo("fal-ai/flux/schnell");
        assertThat(job.getString("stages.infer.fal_request_id")).isEqualTo(row.get("fal_request_id"));
        String key = "tenants/default/jobs/" + id + "/outputs/0.png";
        assertThat((String) row.get("outputs")).contains(key);

        // the bytes in S3: exactly the picture fal made for seed 42 at 320×256
        assertThat(s3Object(key)).isEqualTo(Png.render(320, 256, 42));
        assertThat(job.getString("outputs[0].key")).isEqualTo(key);
        assertThat(job.getInt("outputs[0].width")).isEqualTo(320);
        assertThat(job.getString("outputs[0].url")).contains("X-Amz-Signature");
        byte[] viaUrl = given().urlEncodingEnabled(false).get(job.getString("outputs[0].url")).then().statusCode(200).extract().asByteArray();
        assertThat(viaUrl).isEqualTo(Png.render(320, 256, 42));

        // the live progress in Redis, with its TTL
        String progress = redis.hash(String.class).hget(ProgressStore.key(UUID.fromString(id)), "v1");
        assertThat(progress).contains("\"succeeded\"").contains("\"finish\"");
        long ttl = redis.key().ttl(ProgressStore.key(UUID.fromString(id)));
        assertThat(ttl).isBetween(1L, 3600L);
    }

    @Test
    void imageToImageUploadSendsStrengthNotImageStrengthAndAPresignedUrl() {
        byte[] upload = Images.png(300, 400);
        String id = given().multiPart("model", "flux-general-i2i").multiPart("prompt", "a woman model in a red coat")
                .multiPart("image", "face.png", upload, "image/png")
                .post("/v1/jobs").then().statusCode(202).extract().path("id");
        JsonPath job = Jobs.awaitTerminal(id);
        assertThat(job.getString("status")).as(job.prettify()).isEqualTo("succeeded");

        assertThat(s3Object("tenants/default/jobs/" + id + "/inputs/0.png")).isEqualTo(upload);
        Map<String, Object> body = Simulator.submissions("fal-ai/flux-general/image-to-image").get(0);
        assertThat(body).containsEntry("strength", 0.5f).containsEntry("num_inference_steps", 7).containsEntry("guidance_scale", 3.5f)
                .doesNotContainKey("image_strength");
        assertThat((String) body.get("image_url")).contains("/atelier/tenants/default/jobs/" + id + "/inputs/0.png").contains("X-Amz-Signature");
        // the simulator fetched the presigned URL and followed the input's size
        assertThat(job.getInt("outputs[0].width")).isEqualTo(300);
        assertThat(job.getInt("outputs[0].height")).isEqualTo(400);
    }

    @Test
    void qwenEditFromADataUrlUsesSeed000Settings() {
        String id = submitJson(Map.of("model", "qwen-image-edit-plus-lora", "prompt", "put the mug on a wooden table",
                "image_urls", List.of(Images.dataUrl(Images.png(256, 256)))));
        assertThat(Jobs.awaitTerminal(id).getString("status")).isEqualTo("succeeded");
        Map<String, Object> body = Simulator.submissions("fal-ai/qwen-image-edit-plus-lora").get(0);
        assertThat(body).containsEntry("num_inference_steps", 28).containsEntry("guidance_scale", 4).containsEntry("output_format", "png")
                .containsEntry("enable_safety_checker", true).containsEntry("acceleration", "regular");
        assertThat((List<?>) body.get("image_urls")).hasSize(1);
    }

    @Test
    void multiAngleFromTextGeneratesThenTurnsTheGeneratedPicture() {
        String id = submitJson(Map.of("model", "qwen-multi-angle-t2i", "prompt", "a leather handbag",
                "params", Map.of("rotate_right_left", -30, "seed", 7)));
        JsonPath job = Jobs.awaitTerminal(id);
        assertThat(job.getString("status")).as(job.prettify()).isEqualTo("succeeded");
        assertThat(Simulator.submissions("fal-ai/flux/schnell")).hasSize(1);
        List<Map<String, Object>> turns = Simulator.submissions("fal-ai/qwen-image-edit-plus-lora-gallery/multiple-angles");
        assertThat(turns).hasSize(1);
        assertThat(turns.get(0)).containsEntry("rotate_right_left", -30.0f).containsEntry("lora_scale", 1.25f).doesNotContainKey("prompt");
        assertThat((String) ((List<?>) turns.get(0).get("image_urls")).get(0)).contains("/files/sim/");
        assertThat(job.getInt("outputs[0].width")).isEqualTo(1024); // square_hd, kept by the turn
    }

    @Test
    void flux2EditTakesSeveralPhotosAndLoras() {
        String id = submitJson(Map.of("model", "flux-2-lora-edit", "prompt", "the shoe on the model's feet",
                "image_urls", List.of(Images.dataUrl(Images.png(256, 300)), Images.dataUrl(Images.png(512, 512))),
                "params", Map.of("loras", List.of(Map.of("path", "https://example.com/style.safetensors", "scale", 0.8)))));
        assertThat(Jobs.awaitTerminal(id).getString("status")).isEqualTo("succeeded");
        Map<String, Object> body = Simulator.submissions("fal-ai/flux-2/lora/edit").get(0);
        assertThat((List<?>) body.get("image_urls")).hasSize(2);
        assertThat(body).containsEntry("output_format", "png").containsEntry("acceleration", "regular");
        assertThat(body.get("loras").toString()).contains("style.safetensors");
    }

    @Test
    void falValidationErrorFailsTheJobWithFalsMessage() {
        Simulator.fault(Map.of("target", "complete", "status", 422, "detail", "Image dimensions are too small", "error_type",
                "image_too_small"));
        String id = submitJson(Map.of("model", "flux-schnell", "prompt", "x"));
        JsonPath job = Jobs.awaitTerminal(id);
        assertThat(job.getString("status")).isEqualTo("failed");
        assertThat(job.getString("error.code")).isEqualTo("fal_validation");
        assertThat(job.getString("error.message")).contains("Image dimensions are too small");
        assertThat(Db.job(UUID.fromString(id))).containsEntry("status", "failed").containsEntry("error_code", "fal_validation");
    }

    @Test
    void rateLimitedSubmitIsRetriedAfterRetryAfter() {
        Simulator.fault(Map.of("target", "submit", "status", 429, "retry_after", 1, "times", 2));
        String id = submitJson(Map.of("model", "flux-schnell", "prompt", "retry me"));
        assertThat(Jobs.awaitTerminal(id).getString("status")).isEqualTo("succeeded");
        List<Map<String, Object>> posts = Simulator.requests().stream().filter(r -> "/queue/fal-ai/flux/schnell".equals(r.get("path"))).toList();
        assertThat(posts).hasSize(3);
        // Retry-After: 1 s was honoured between the tries, though the configured backoff is 100 ms
        java.time.Instant first = java.time.Instant.parse((String) posts.get(0).get("at"));
        java.time.Instant second = java.time.Instant.parse((String) posts.get(1).get("at"));
        assertThat(java.time.Duration.between(first, second).toMillis()).isGreaterThanOrEqualTo(950);
    }

    @Test
    void unavailableStatusAndDroppedResultAreRetried() {
        Simulator.fault(Map.of("target", "status", "status", 503, "error_type", "runner_scheduling_failure", "times", 2));
        Simulator.fault(Map.of("target", "result", "drop", true, "times", 1));
        String id = submitJson(Map.of("model", "flux-schnell", "prompt", "flaky"));
        assertThat(Jobs.awaitTerminal(id).getString("status")).isEqualTo("succeeded");
        assertThat(Simulator.submissions("fal-ai/flux/schnell")).hasSize(1);
    }

    @Test
    void userTimeoutIsNotRetried() {
        Simulator.fault(Map.of("target", "submit", "status", 504, "timeout_type", "user", "error_type", "request_timeout"));
        String id = submitJson(Map.of("model", "flux-schnell", "prompt", "too late"));
        JsonPath job = Jobs.awaitTerminal(id);
        assertThat(job.getString("status")).isEqualTo("failed");
        assertThat(job.getString("error.code")).isEqualTo("fal_request_timeout");
        assertThat(Simulator.requests().stream().filter(r -> "/queue/fal-ai/flux/schnell".equals(r.get("path"))).count()).isEqualTo(1);
    }

    @Test
    void jobStaysReadableAfterItsRedisKeyExpires() {
        String id = submitJson(Map.of("model", "flux-schnell", "prompt", "durable"));
        Jobs.awaitTerminal(id);
        redis.key().del(ProgressStore.key(UUID.fromString(id)));
        given().get("/v1/jobs/" + id).then().statusCode(200).body("status", equalTo("succeeded"))
                .body("outputs[0].key", equalTo("tenants/default/jobs/" + id + "/outputs/0.png"));
    }

    @Test
    void listingFiltersByStatusAndModelAndPagesWithACursor() {
        String a = submitJson(Map.of("model", "flux-schnell", "prompt", "one"));
        String b = submitJson(Map.of("model", "flux-schnell", "prompt", "two"));
        String c = submitJson(Map.of("model", "flux-schnell", "prompt", "three"));
        Jobs.awaitTerminal(a);
        Jobs.awaitTerminal(b);
        Jobs.awaitTerminal(c);
        JsonPath first = given().queryParam("model", "flux-schnell").queryParam("status", "succeeded").queryParam("limit", 2)
                .get("/v1/jobs").then().statusCode(200).extract().jsonPath();
        assertThat(first.getList("items.id")).containsExactly(c, b);
        JsonPath second = given().queryParam("model", "flux-schnell").queryParam("status", "succeeded").queryParam("limit", 2)
                .queryParam("cursor", first.getString("next_cursor")).get("/v1/jobs").then().statusCode(200).extract().jsonPath();
        assertThat(second.getList("items.id")).first().isEqualTo(a);
        assertThat(given().queryParam("status", "failed").queryParam("model", "flux-schnell").get("/v1/jobs").then().statusCode(200)
                .extract().jsonPath().getList("items.id")).doesNotContain(a, b, c);
    }

    private static String submitJson(Map<String, Object> body) {
        return given().contentType(ContentType.JSON).body(body).post("/v1/jobs").then().statusCode(202).extract().path("id");
    }

    @Test
    void theReadmeSamplePicturesAreServedAndWorkAsAnImageUrl() throws Exception {
        byte[] sample = given().get("/samples/product.png").then().statusCode(200).contentType("image/png").extract().asByteArray();
        try (var in = Thread.currentThread().getContextClassLoader().getResourceAsStream("META-INF/resources/samples/product.png")) {
            assertThat(sample).isEqualTo(in.readAllBytes());
        }
        javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(sample)); // a real PNG
        String url = io.restassured.RestAssured.baseURI + ":" + io.restassured.RestAssured.port + "/samples/product.png";
        String id = submitJson(Map.of("model", "flux-general-i2i", "prompt", "the mug in matte black", "image_url", url));
        assertThat(Jobs.awaitTerminal(id).getString("status")).isEqualTo("succeeded");
        assertThat(s3Object("tenants/default/jobs/" + id + "/inputs/0.png")).isEqualTo(sample);
    }
}
