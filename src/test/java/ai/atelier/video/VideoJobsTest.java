package ai.atelier.video;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import ai.atelier.ingest.VideoInfo;
import ai.atelier.jobs.engine.JobRunner;
import ai.atelier.support.Db;
import ai.atelier.support.Images;
import ai.atelier.support.Jobs;
import ai.atelier.support.LedgerRows;
import ai.atelier.support.Objects;
import ai.atelier.support.Rows;
import ai.atelier.support.Simulator;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import software.amazon.awssdk.services.s3.S3AsyncClient;

/**
 * A video job end to end through the real API, the simulator standing in for fal: each video model's text-to-video and
 * image-to-video payload as fal's schema takes it, the clip streamed into S3 and checked from its boxes, served as
 * video/mp4, billed from fal's units; a job a dead instance left running resumed by its request id, paid once; seed
 * 001's t2v and i2v; a cancel and a model deadline that reach fal; a spoiled
 * file that fails the job and leaves nothing behind. The models' own deadline is cut to seconds here (a video model's is
 * 20 minutes), so a slow clip passes it without a test waiting minutes.
 */
@QuarkusTest
@TestProfile(VideoJobsTest.ShortModelDeadline.class)
class VideoJobsTest {

    public static class ShortModelDeadline implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("atelier.fal.model-deadline", "6s");
        }
    }

    static final String VEO_T2V = "fal-ai/veo3.1/fast";

    @Inject
    S3AsyncClient s3;

    @Inject
    JobRunner runner;

    @BeforeEach
    void reset() {
        Simulator.reset();
        Simulator.settings(0, 50);
    }

    private static String submit(Map<String, Object> body) {
        return given().contentType(ContentType.JSON).body(body).post("/v1/jobs").then().statusCode(202).extract().path("id");
    }

    private long outputsInS3(String id) {
        return Objects.count(s3, "tenants/default/jobs/" + id + "/outputs/");
    }

    @Test
    void aTextToVideoJobStoresAnMp4OfTheAskedLengthServedAsVideoAndBilledFromFalsUnits() {
        String id = submit(Map.of("model", "veo-3.1-fast", "prompt", "a teapot turns slowly", "params", Map.of("duration", "4s")));
        JsonPath job = Jobs.awaitTerminal(id);
        assertThat(job.getString("status")).as(job.prettify()).isEqualTo("succeeded");

        // fal got exactly what Veo's text-to-video takes, its expensive defaults set cheaply, and the job echoes them
        Map<String, Object> expected = Map.of("duration", "4s", "resolution", "720p", "generate_audio", false, "auto_fix", false,
                "safety_tolerance", "4");
        List<Map<String, Object>> sent = Simulator.submissions(VEO_T2V);
        assertThat(sent).hasSize(1);
        assertThat(sent.get(0)).containsEntry("prompt", "a teapot turns slowly").containsAllEntriesOf(expected).doesNotContainKey("image_url");
        assertThat(job.getMap("params")).containsExactlyInAnyOrderEntriesOf(expected);

        // the stored bytes are an MP4 of four seconds, without sound, and the job says so
        String key = job.getString("outputs[0].key");
        assertThat(key).isEqualTo("tenants/default/jobs/" + id + "/outputs/0.mp4");
        assertThat(job.getString("outputs[0].content_type")).isEqualTo("video/mp4");
        assertThat(job.getDouble("outputs[0].duration_seconds")).isCloseTo(4.0, within(0.1));
        assertThat(job.getBoolean("outputs[0].has_audio")).isFalse();
        assertThat(job.getInt("outputs[0].width")).isEqualTo(1280);
        byte[] stored = Objects.bytes(s3, key);
        assertThat(job.getLong("outputs[0].bytes")).isEqualTo(stored.length);
        VideoInfo.Checked checked = VideoInfo.check(stored);
        assertThat(checked.ok()).as(checked.refusal()).isTrue();
        assertThat(checked.video().seconds()).isCloseTo(4.0, within(0.1));
        assertThat(checked.video().hasAudio()).isFalse();

        // served from S3 by its presigned URL, as video/mp4
        var served = given().urlEncodingEnabled(false).get(job.getString("outputs[0].url")).then().statusCode(200).extract();
        assertThat(served.contentType()).isEqualTo("video/mp4");
        assertThat(served.asByteArray()).isEqualTo(stored);

        // the ledger row: fal's billable units (2 a second at 720p without sound) times the endpoint's unit price
        Map<String, Object> row = LedgerRows.stage(UUID.fromString(id), "infer");
        assertThat(row).containsEntry("endpoint", VEO_T2V);
        assertThat(((Number) row.get("units")).doubleValue()).isCloseTo(8.0, within(0.05));
        assertThat((BigDecimal) row.get("usd")).isEqualByComparingTo(((BigDecimal) row.get("unit_price")).multiply(
                BigDecimal.valueOf(((Number) row.get("units")).doubleValue())).setScale(((BigDecimal) row.get("usd")).scale(),
                        java.math.RoundingMode.HALF_UP));
        assertThat(LedgerRows.costUsd(id)).isEqualByComparingTo((BigDecimal) row.get("usd"));
    }

    @Test
    void preferWaitAnswersAVideoAt202AtOnceForTheClientToPoll() {
        Simulator.settings(0, 3000);
        var answer = given().header("Prefer", "wait=30").contentType(ContentType.JSON)
                .body(Map.of("model", "kling-2.5-turbo-pro", "prompt", "a leaf falls")).post("/v1/jobs").then().statusCode(202)
                .header("Location", org.hamcrest.Matchers.containsString("/v1/jobs/")).header("Preference-Applied", org.hamcrest.Matchers.nullValue())
                .extract().jsonPath();
        assertThat(answer.getString("status")).isIn("queued", "running");
        assertThat(Jobs.awaitTerminal(answer.getString("id")).getString("status")).isEqualTo("succeeded");
    }

    @Test
    void everyVideoModelsTextAndImagePayloadIsOneItsFalEndpointTakes() {
        Map<String, List<String>> endpoints = Map.of(
                "kling-2.5-turbo-pro", List.of("fal-ai/kling-video/v2.5-turbo/pro/text-to-video", "fal-ai/kling-video/v2.5-turbo/pro/image-to-video"),
                "hailuo-02-standard", List.of("fal-ai/minimax/hailuo-02/standard/text-to-video", "fal-ai/minimax/hailuo-02/standard/image-to-video"),
                "veo-3.1-fast", List.of("fal-ai/veo3.1/fast", "fal-ai/veo3.1/fast/image-to-video"),
                "wan-2.5", List.of("fal-ai/wan-25-preview/text-to-video", "fal-ai/wan-25-preview/image-to-video"));
        Map<String, String> jobs = new java.util.LinkedHashMap<>();
        endpoints.forEach((model, ids) -> {
            jobs.put(model + " t2v", submit(Map.of("model", model, "prompt", "a kite over a beach")));
            jobs.put(model + " i2v", submit(Map.of("model", model, "prompt", "the kite flies off", "image_url", Images.dataUrl(Images.png(1280, 720)))));
        });
        jobs.forEach((what, id) -> {
            JsonPath job = Jobs.awaitTerminal(id);
            // the simulator checks each payload against its copy of fal's schema: a refused one fails the job fal_validation
            assertThat(job.getString("status")).as(what + ": " + job.prettify()).isEqualTo("succeeded");
            assertThat(job.getString("outputs[0].content_type")).isEqualTo("video/mp4");
            assertThat(job.getDouble("outputs[0].duration_seconds")).as(what).isGreaterThan(4.0);
        });
        endpoints.forEach((model, ids) -> {
            List<Map<String, Object>> text = Simulator.submissions(ids.get(0));
            List<Map<String, Object>> photo = Simulator.submissions(ids.get(1));
            assertThat(text).as(model).hasSize(1);
            assertThat(photo).as(model).hasSize(1);
            assertThat(text.get(0)).as(model).doesNotContainKey("image_url");
            assertThat(photo.get(0).get("image_url")).as(model).isNotNull();
        });
        // fal's dearest defaults never sent unasked: Wan at 720p without prompt rewriting, Hailuo without its optimizer
        assertThat(Simulator.submissions("fal-ai/wan-25-preview/text-to-video").get(0)).containsEntry("resolution", "720p")
                .containsEntry("enable_prompt_expansion", false);
        assertThat(Simulator.submissions("fal-ai/minimax/hailuo-02/standard/text-to-video").get(0)).containsEntry("prompt_optimizer", false);
    }

    @Test
    void seed001sTextAndImageToVideoRoutesAnswerOnItsStatusRouteWithAResultUrl() {
        String t2v = given().contentType(ContentType.JSON).body(Map.of("prompt", "waves at dusk", "duration", "10"))
                .post("/api/kling-2.5-turbo-pro/t2v").then().statusCode(200).extract().path("session_id");
        String i2v = given().multiPart("image", "shoe.png", Images.png(800, 800), "image/png").multiPart("prompt", "the shoe spins")
                .multiPart("duration", "6").multiPart("resolution", "512P").post("/api/hailuo-02-standard/i2v").then().statusCode(200)
                .extract().path("session_id");
        for (String session : List.of(t2v, i2v)) {
            JsonPath[] status = new JsonPath[1];
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> {
                status[0] = given().get("/api/" + session + "/status").then().statusCode(200).extract().jsonPath();
                return List.of("completed", "failed").contains(status[0].getString("status"));
            });
            assertThat(status[0].getString("status")).as(status[0].prettify()).isEqualTo("completed");
            var clip = given().urlEncodingEnabled(false).get(status[0].getString("result_url")).then().statusCode(200).extract();
            assertThat(clip.contentType()).isEqualTo("video/mp4");
            assertThat(VideoInfo.check(clip.asByteArray()).ok()).isTrue();
        }
        assertThat(Simulator.submissions("fal-ai/kling-video/v2.5-turbo/pro/text-to-video")).singleElement()
                .satisfies(b -> assertThat(b).containsEntry("prompt", "waves at dusk").containsEntry("duration", "10"));
        assertThat(Simulator.submissions("fal-ai/minimax/hailuo-02/standard/image-to-video")).singleElement()
                .satisfies(b -> assertThat(b).containsEntry("duration", "6").containsEntry("resolution", "512P")
                        .containsEntry("prompt", "the shoe spins"));
        assertThat(VideoInfo.check(Objects.bytes(s3, "tenants/default/jobs/" + t2v + "/outputs/0.mp4")).video().seconds()).isCloseTo(10.0,
                within(0.1));

        // a picture model is no video model on these paths; a parameter the model lacks is named
        given().contentType(ContentType.JSON).body(Map.of("prompt", "x")).post("/api/flux-schnell/t2v").then().statusCode(404)
                .contentType("application/problem+json");
        given().contentType(ContentType.JSON).body(Map.of("prompt", "x", "duration", "7")).post("/api/kling-2.5-turbo-pro/t2v").then()
                .statusCode(422).contentType("application/problem+json");
    }

    @Test
    void aVideoJobLeftRunningByADeadInstanceIsResumedByItsRecordedRequestAndPaidOnce() {
        Simulator.settings(0, 300);
        // what a worker killed while fal rendered leaves behind: fal has the request, the row has its id
        String requestId = Simulator.submitted(VEO_T2V,
                Map.of("prompt", "resumed clip", "duration", "4s", "resolution", "720p", "generate_audio", false, "safety_tolerance", "4"));
        UUID id = UUID.randomUUID();
        Rows.insertAtFal(id, "veo-3.1-fast", "resumed clip", VEO_T2V, requestId, null);
        runner.poke();

        JsonPath job = Jobs.awaitTerminal(id.toString());
        assertThat(job.getString("status")).as(job.prettify()).isEqualTo("succeeded");
        assertThat(job.getString("fal_request_id")).isEqualTo(requestId);
        assertThat(Simulator.submissions(VEO_T2V)).hasSize(1); // only the one made above
        assertThat(VideoInfo.check(Objects.bytes(s3, job.getString("outputs[0].key"))).video().seconds()).isCloseTo(4.0, within(0.1));
        assertThat(LedgerRows.of(id)).singleElement().satisfies(row -> assertThat(row).containsEntry("fal_request_id", requestId));
    }

    @Test
    void aDryRunQuotesTheSecondsAskedAtTheirTierWithSound() {
        JsonPath quote = given().contentType(ContentType.JSON).body(Map.of("model", "veo-3.1-fast", "prompt", "rain on a window", "dry_run", true,
                "params", Map.of("duration", "8s", "generate_audio", true, "resolution", "4k"))).post("/v1/jobs").then().statusCode(200)
                .extract().jsonPath();
        // 8 seconds at 4k with sound: 7 units a second at $0.05
        assertThat(quote.getDouble("calls[0].units")).isEqualTo(56.0);
        assertThat(quote.getString("calls[0].endpoint")).isEqualTo(VEO_T2V);
        assertThat(new BigDecimal(quote.getString("expected_cost_usd"))).isEqualByComparingTo("2.80");
        assertThat(Simulator.submissions(VEO_T2V)).isEmpty();

        JsonPath models = given().get("/v1/models").then().statusCode(200).extract().jsonPath();
        assertThat(models.getString("models.find { it.id == 'veo-3.1-fast' }.output")).isEqualTo("video");
        assertThat(models.getLong("models.find { it.id == 'veo-3.1-fast' }.typical_latency_seconds")).isEqualTo(90);
        assertThat(models.getLong("models.find { it.id == 'veo-3.1-fast' }.deadline_seconds")).isEqualTo(1200);
        assertThat(models.getString("models.find { it.id == 'flux-schnell' }.output")).isEqualTo("images");
    }

    @Test
    void cancellingAVideoJobCancelsItsRequestAtFalAndStoresNothing() {
        Simulator.settings(0, 60_000);
        String id = submit(Map.of("model", "wan-2.5", "prompt", "a slow sunrise"));
        await().atMost(Duration.ofSeconds(10)).until(() -> Db.job(UUID.fromString(id)).get("fal_request_id") != null);
        JsonPath job = given().post("/v1/jobs/" + id + "/cancel").then().statusCode(200).extract().jsonPath();
        assertThat(job.getString("status")).isEqualTo("cancelled");
        assertThat(job.getString("cancellation.fal_status")).isEqualTo("CANCELLATION_REQUESTED");
        String rid = (String) Db.job(UUID.fromString(id)).get("fal_request_id");
        assertThat(Simulator.requests()).anySatisfy(r -> assertThat(r.get("path"))
                .isEqualTo("/queue/fal-ai/wan-25-preview/requests/" + rid + "/cancel"));
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
                .until(() -> "cancelled".equals(Db.job(UUID.fromString(id)).get("status")) && outputsInS3(id) == 0);
    }

    @Test
    void aClipPastItsModelsDeadlineFailsTheJobAndIsCancelledAtFal() {
        Simulator.settings(0, 120_000);
        String id = submit(Map.of("model", "hailuo-02-standard", "prompt", "a very long render"));
        JsonPath job = Jobs.awaitTerminal(id);
        assertThat(job.getString("status")).isEqualTo("failed");
        assertThat(job.getString("error.code")).isEqualTo("deadline");
        assertThat(job.getString("error.message")).contains("6 s").contains("cancelled at fal");
        String rid = (String) Db.job(UUID.fromString(id)).get("fal_request_id");
        assertThat(Simulator.requests()).anySatisfy(r -> assertThat(r.get("path"))
                .isEqualTo("/queue/fal-ai/minimax/requests/" + rid + "/cancel"));
        assertThat(outputsInS3(id)).isZero();
    }

    @Test
    void aFileThatIsNoMp4OrShorterThanFalSaidFailsInvalidOutputWithNothingInTheBucket() {
        Simulator.fault(Map.of("target", "file", "not_mp4", true));
        String html = submit(Map.of("model", "kling-2.5-turbo-pro", "prompt", "a spinning top"));
        Simulator.fault(Map.of("target", "file", "short_body", 4000));
        String shortFile = submit(Map.of("model", "kling-2.5-turbo-pro", "prompt", "a spinning top, again"));
        for (String id : List.of(html, shortFile)) {
            JsonPath job = Jobs.awaitTerminal(id);
            assertThat(job.getString("status")).isEqualTo("failed");
            assertThat(job.getString("error.code")).isEqualTo("invalid_output");
            assertThat(job.getList("outputs")).isEmpty();
            assertThat(outputsInS3(id)).isZero();
        }
    }

    @Test
    void aFileExpiredAtFalBeforeTheCopyFailsInvalidOutput() {
        Simulator.fault(Map.of("target", "file", "status", 404));
        String id = submit(Map.of("model", "veo-3.1-fast", "prompt", "gone too soon", "params", Map.of("duration", "4s")));
        JsonPath job = Jobs.awaitTerminal(id);
        assertThat(job.getString("status")).isEqualTo("failed");
        assertThat(job.getString("error.code")).isEqualTo("invalid_output");
        assertThat(job.getString("error.message")).contains("404");
        assertThat(outputsInS3(id)).isZero();
    }
}
