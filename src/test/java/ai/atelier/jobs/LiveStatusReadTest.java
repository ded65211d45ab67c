package ai.atelier.jobs;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import ai.atelier.progress.ProgressStore;
import ai.atelier.support.Db;
import ai.atelier.support.Jobs;
import ai.atelier.support.Management;
import ai.atelier.support.Simulator;
import io.quarkus.redis.datasource.RedisDataSource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;

/**
 * The status read of a running job is answered by the router from the live view (ai.atelier.jobs.rest.LiveStatusRoutes):
 * the stored bytes, for the caller's own tenant and scope, on v1 and the prototypes' routes; everything else (no live
 * view, another tenant, a key without the scope, not an id) reads exactly as the REST resources answer it.
 */
@QuarkusTest
class LiveStatusReadTest {

    private static final String ADMIN = "atl_test_admin_key";
    private static final Pattern READS = Pattern.compile("atelier_status_reads_total\\{[^}]*from=\"(live|row)\"[^}]*} ([0-9.E]+)");

    @Inject
    RedisDataSource redis;

    @Test
    void aRunningJobIsReadFromItsLiveViewAsStored() {
        Simulator.reset();
        Simulator.settings(0, 3000);
        String id = given().contentType(ContentType.JSON).body(Map.of("model", "flux-schnell", "prompt", "a read from the router")).post("/v1/jobs")
                .then().statusCode(202).extract().path("id");
        String key = atFal(id);

        // the view as stored, byte for byte (asked again if fal's progress rewrote it between the reads)
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            String stored = redis.hash(String.class).hget(key, "v1");
            Response read = given().get("/v1/jobs/" + id);
            assertThat(read.statusCode()).isEqualTo(200);
            assertThat(read.contentType()).startsWith("application/json");
            assertThat(read.asString()).isEqualTo(stored).isEqualTo(redis.hash(String.class).hget(key, "v1"));
            assertThat(read.jsonPath().getString("status")).isEqualTo("running");
        });
        Map<String, Double> before = reads();
        given().get("/v1/jobs/" + id).then().statusCode(200);
        Map<String, Double> after = reads();
        assertThat(after.get("live") - before.get("live")).isEqualTo(1.0);
        assertThat(after.get("row")).isEqualTo(before.get("row"));
        // labelled with the route's template, like the resource's answers
        assertThat(Management.metrics()).containsPattern("http_server_requests_seconds_count\\{[^}]*method=\"GET\"[^}]*status=\"200\"[^}]*uri=\"/v1/jobs/\\{id}\"");

        // another tenant's key reads it as an unknown job; a key without jobs:read is refused; neither sees the view
        String[] other = tenantWithKey("reader", "jobs:read");
        given().header("Authorization", "Bearer " + other[1]).get("/v1/jobs/" + id).then().statusCode(404).contentType("application/problem+json");
        String[] writer = tenantWithKey("writer", "jobs:write");
        given().header("Authorization", "Bearer " + writer[1]).get("/v1/jobs/" + id).then().statusCode(403).contentType("application/problem+json");
        given().get("/v1/jobs/not-a-job").then().statusCode(404);

        // no live view (expired, Redis restarted): the row answers, the same job (tried again should the run write its
        // progress between the delete and the read, which puts a live view back)
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            redis.key().del(key);
            Map<String, Double> beforeRow = reads();
            given().get("/v1/jobs/" + id).then().statusCode(200).contentType(ContentType.JSON)
                    .body("id", org.hamcrest.Matchers.equalTo(id)).body("status", org.hamcrest.Matchers.equalTo("running"));
            Map<String, Double> afterRow = reads();
            assertThat(afterRow.get("row") - beforeRow.get("row")).isEqualTo(1.0);
            assertThat(afterRow.get("live")).isEqualTo(beforeRow.get("live"));
        });
        assertThat(Jobs.awaitTerminal(id).getString("status")).isEqualTo("succeeded");
    }

    @Test
    void aPrototypeStatusRouteReadsItsOwnFormatFromTheLiveView() {
        Simulator.reset();
        Simulator.settings(0, 3000);
        String session = given().contentType(ContentType.JSON).body(Map.of("prompt", "a seed read from the router")).post("/api/flux/t2i")
                .then().statusCode(200).extract().path("session_id");
        String key = atFal(session);

        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            String stored = redis.hash(String.class).hget(key, "seed001");
            Response read = given().get("/api/" + session + "/status");
            assertThat(read.statusCode()).isEqualTo(200);
            assertThat(read.asString()).isEqualTo(stored).isEqualTo(redis.hash(String.class).hget(key, "seed001"))
                    .contains("\"session_id\":\"" + session + "\"");
        });
        Map<String, Double> before = reads();
        given().get("/api/" + session + "/status").then().statusCode(200);
        assertThat(reads().get("live") - before.get("live")).isEqualTo(1.0);
        // the v1 read of the same job has no v1 live view: its row answers, in v1's format
        before = reads();
        given().get("/v1/jobs/" + session).then().statusCode(200).body("id", org.hamcrest.Matchers.equalTo(session));
        assertThat(reads().get("row") - before.get("row")).isEqualTo(1.0);
        // ended before the next test class resets the simulator: a job still at fal would fetch its picture in that test's count
        assertThat(Jobs.awaitTerminal(session).getString("status")).isEqualTo("succeeded");
    }

    /** Waits until the job is at fal (its view then stays put for a while); answers its live view's key. */
    private static String atFal(String id) {
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() -> Db.job(UUID.fromString(id)).get("fal_request_id") != null);
        return ProgressStore.key(UUID.fromString(id));
    }

    /** The status-read counters, by what answered. */
    private static Map<String, Double> reads() {
        Map<String, Double> out = new java.util.HashMap<>(Map.of("live", 0.0, "row", 0.0));
        Matcher m = READS.matcher(Management.metrics());
        while (m.find()) {
            out.put(m.group(1), Double.parseDouble(m.group(2)));
        }
        return out;
    }

    private static String[] tenantWithKey(String name, String... scopes) {
        var admin = given().header("Authorization", "Bearer " + ADMIN).contentType(ContentType.JSON);
        String tenant = admin.body(Map.of("name", name + "-" + UUID.randomUUID().toString().substring(0, 8))).post("/v1/admin/tenants")
                .then().statusCode(201).extract().path("id");
        String key = given().header("Authorization", "Bearer " + ADMIN).contentType(ContentType.JSON).body(Map.of("name", "ci", "scopes", List.of(scopes)))
                .post("/v1/admin/tenants/" + tenant + "/keys").then().statusCode(201).extract().path("key");
        return new String[] { tenant, key };
    }
}
