package ai.atelier.jobs;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import ai.atelier.support.Db;
import ai.atelier.support.Jobs;
import ai.atelier.support.Rows;
import ai.atelier.support.Simulator;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import software.amazon.awssdk.services.s3.S3AsyncClient;

/** What a client can do with a job besides submitting it: cancel it, give it a deadline, retry safely, wait for it. */
@QuarkusTest
class JobControlTest {

    @Inject
    S3AsyncClient s3;

    @BeforeEach
    void reset() {
        Simulator.reset();
    }

    private static String submit(Map<String, Object> body) {
        return given().contentType(ContentType.JSON).body(body).post("/v1/jobs").then().statusCode(202).extract().path("id");
    }

    private long outputsInS3(String id) {
        return s3.listObjectsV2(b -> b.bucket("atelier").prefix("tenants/default/jobs/" + id + "/outputs/")).join().keyCount();
    }

    @Test
    void cancellingAJobAtFalRecordsFalsAnswerAndNeverStoresItsOutputs() {
        Simulator.settings(0, 3000);
        String id = submit(Map.of("model", "flux-schnell", "prompt", "cancel me"));
        await().atMost(Duration.ofSeconds(10)).until(() -> Db.job(UUID.fromString(id)).get("fal_request_id") != null);
        int seen = given().get("/v1/jobs/" + id).then().statusCode(200).extract().jsonPath().getInt("progress");

        JsonPath job = given().post("/v1/jobs/" + id + "/cancel").then().statusCode(200).extract().jsonPath();
        assertThat(job.getString("status")).isEqualTo("cancelled");
        // progress never goes backwards, and every stage of the ended job has ended
        assertThat(job.getInt("progress")).isGreaterThanOrEqualTo(seen);
        java.util.Map<String, java.util.Map<String, Object>> stages = job.getMap("stages");
        assertThat(stages).containsKey("infer");
        assertThat(stages.get("infer")).containsEntry("status", "cancelled");
        assertThat(stages.values()).allSatisfy(st -> assertThat(st.get("status")).isIn("succeeded", "skipped", "failed", "cancelled"));
        assertThat(job.getString("cancellation.fal_status")).isEqualTo("CANCELLATION_REQUESTED");
        assertThat(job.getBoolean("cancellation.may_be_billed")).isTrue();
        assertThat(job.getString("error.code")).isEqualTo("cancelled");

        String rid = (String) Db.job(UUID.fromString(id)).get("fal_request_id");
        assertThat(Simulator.requests()).anySatisfy(r -> assertThat(r.get("path")).isEqualTo("/queue/fal-ai/flux/requests/" + rid + "/cancel"));
        // the pipeline sees fal end the request and stops: nothing lands in S3, the job stays cancelled
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
                .until(() -> "cancelled".equals(Db.job(UUID.fromString(id)).get("status")) && outputsInS3(id) == 0);
        given().post("/v1/jobs/" + id + "/cancel").then().statusCode(409).contentType("application/problem+json")
                .body("type", equalTo("/problems/job-finished")).body("status", equalTo(409)).body("job_status", equalTo("cancelled"));
    }

    @Test
    void cancellingAQueuedJobIsImmediateAndNeverReachesFal() throws Throwable {
        // a queued job whose lease another (busy) instance holds: it has not reached fal
        UUID id = UUID.randomUUID();
        Rows.insertJob(id, JobStatus.QUEUED, "never runs", job -> job.stage = "ingest", "elsewhere");
        JsonPath job = given().post("/v1/jobs/" + id + "/cancel").then().statusCode(200).extract().jsonPath();
        assertThat(job.getString("status")).isEqualTo("cancelled");
        assertThat(job.getString("cancellation.requested_at")).isNotNull();
        assertThat(job.getString("cancellation.fal_status")).isNull();
        assertThat(job.getBoolean("cancellation.may_be_billed")).isFalse();
        assertThat(Db.job(id)).containsEntry("status", "cancelled");
        // fal never saw this job (an earlier test's job may still be fetching its result from the simulator)
        assertThat(Simulator.submissions("fal-ai/flux/schnell")).noneSatisfy(body -> assertThat(body).containsEntry("prompt", "never runs"));
    }

    @Test
    void aJobPastItsDeadlineCancelsItself() {
        Simulator.settings(0, 10_000);
        String id = submit(Map.of("model", "flux-schnell", "prompt", "too slow", "deadline_seconds", 2));
        JsonPath job = Jobs.awaitTerminal(id);
        assertThat(job.getString("status")).isEqualTo("cancelled");
        assertThat(job.getString("error.code")).isEqualTo("deadline_exceeded");
        assertThat(job.getString("deadline_at")).isNotNull();
    }

    @Test
    void theSameIdempotencyKeyAndBodyAnswerTheOriginalJob() {
        Map<String, Object> body = Map.of("model", "flux-schnell", "prompt", "once only", "params", Map.of("seed", 11));
        String key = "order-" + UUID.randomUUID();
        String first = given().header("Idempotency-Key", key).contentType(ContentType.JSON).body(body).post("/v1/jobs").then().statusCode(202)
                .header("Idempotent-Replayed", nullValue()).extract().path("id");
        String again = given().header("Idempotency-Key", key).contentType(ContentType.JSON).body(body).post("/v1/jobs").then().statusCode(202)
                .header("Idempotent-Replayed", "true").header("Location", org.hamcrest.Matchers.endsWith("/v1/jobs/" + first)).extract().path("id");
        assertThat(again).isEqualTo(first);
        Jobs.awaitTerminal(first);
        assertThat(Simulator.submissions("fal-ai/flux/schnell")).hasSize(1);
        assertThat(Db.count("idempotency_key = '" + key + "'")).isEqualTo(1);

        given().header("Idempotency-Key", key).contentType(ContentType.JSON).body(Map.of("model", "flux-schnell", "prompt", "something else"))
                .post("/v1/jobs").then().statusCode(422).contentType("application/problem+json")
                .body("type", equalTo("/problems/idempotency-key-reused")).body("job_id", equalTo(first));
    }

    @Test
    void preferWaitAnswersTheFinishedJobWhenItEndsInTime() {
        Simulator.settings(0, 200);
        given().header("Prefer", "wait=10").contentType(ContentType.JSON).body(Map.of("model", "flux-schnell", "prompt", "quick"))
                .post("/v1/jobs").then().statusCode(200).header("Preference-Applied", "wait=10")
                .body("status", equalTo("succeeded")).body("outputs.size()", equalTo(1));
        Simulator.settings(0, 5000);
        given().header("Prefer", "wait=1").contentType(ContentType.JSON).body(Map.of("model", "flux-schnell", "prompt", "slow"))
                .post("/v1/jobs").then().statusCode(202).body("status", org.hamcrest.Matchers.oneOf("queued", "running"));
    }

    @Test
    void lowPriorityIsPassedToFalsQueue() {
        String id = submit(Map.of("model", "flux-schnell", "prompt", "whenever", "priority", "low"));
        Jobs.awaitTerminal(id);
        List<Map<String, Object>> posts = Simulator.requests().stream().filter(r -> "/queue/fal-ai/flux/schnell".equals(r.get("path"))).toList();
        assertThat(((Map<?, ?>) posts.get(0).get("headers")).get("x-fal-queue-priority")).isEqualTo("low");
        given().get("/v1/jobs/" + id).then().body("priority", equalTo("low"));
        given().contentType(ContentType.JSON).body(Map.of("model", "flux-schnell", "prompt", "p", "priority", "urgent")).post("/v1/jobs").then()
                .statusCode(422).body("type", equalTo("/problems/invalid-priority"));
    }
}
