package ai.atelier.it;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;

/**
 * Keys, limits and the result cache hold across replicas (two packaged instances sharing the stores): a key
 * revoked through one instance stops working on the other within 5 seconds, a tenant's request limit is
 * one bucket for both, and identical seeded requests sent to both share one fal call.
 */
class TenantsIT {

    static Instances instances;
    static Instances.Instance a;
    static Instances.Instance b;

    @BeforeAll
    static void servers() throws Exception {
        instances = new Instances();
        a = instances.start("tenants-a", Map.of());
        b = instances.start("tenants-b", Map.of());
    }

    @AfterAll
    static void stop() throws Exception {
        a.process().destroy();
        b.process().destroy();
        a.process().waitFor(30, TimeUnit.SECONDS);
        b.process().waitFor(30, TimeUnit.SECONDS);
        instances.close();
    }

    /** (tenant id, key, key id) made through instance {@code on}. */
    private static String[] tenantWithKey(Instances.Instance on) {
        String tenant = given().baseUri(on.url()).header("Authorization", "Bearer " + Instances.ADMIN_KEY).contentType(ContentType.JSON)
                .body(Map.of("name", "it-" + UUID.randomUUID())).post("/v1/admin/tenants").then().statusCode(201).extract().path("id");
        JsonPath key = given().baseUri(on.url()).header("Authorization", "Bearer " + Instances.ADMIN_KEY).contentType(ContentType.JSON)
                .body(Map.of("name", "ci", "scopes", List.of("jobs:read"))).post("/v1/admin/tenants/" + tenant + "/keys").then().statusCode(201)
                .extract().jsonPath();
        return new String[] { tenant, key.getString("key"), key.getString("id") };
    }

    @Test
    void aKeyRevokedOnOneInstanceStopsWorkingOnTheOtherWithinFiveSeconds() {
        String[] t = tenantWithKey(a);
        given().baseUri(b.url()).header("Authorization", "Bearer " + t[1]).get("/v1/models").then().statusCode(200); // b has it cached now
        long t0 = System.nanoTime();
        given().baseUri(a.url()).header("Authorization", "Bearer " + Instances.ADMIN_KEY).delete("/v1/admin/keys/" + t[2]).then().statusCode(204);
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100))
                .until(() -> given().baseUri(b.url()).header("Authorization", "Bearer " + t[1]).get("/v1/models").statusCode() == 401);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
    }

    @Test
    void aRequestLimitIsOneBucketForEveryInstance() {
        String[] t = tenantWithKey(a);
        // the limit is set before the key is first used: neither instance has read the tenant yet
        given().baseUri(a.url()).header("Authorization", "Bearer " + Instances.ADMIN_KEY).contentType(ContentType.JSON)
                .body(Map.of("requests_per_minute", 10)).patch("/v1/admin/tenants/" + t[0]).then().statusCode(200);
        int ok = 0;
        int limited = 0;
        for (int i = 0; i < 16; i++) {
            int status = given().baseUri((i % 2 == 0 ? a : b).url()).header("Authorization", "Bearer " + t[1]).get("/v1/models").statusCode();
            if (status == 200) {
                ok++;
            } else if (status == 429) {
                limited++;
            }
        }
        // one bucket of 10 for both (it refills one request every 6 s, far slower than these 16)
        assertThat(ok).isEqualTo(10);
        assertThat(limited).isEqualTo(16 - ok);
    }

    @Test
    void productionLogsAreJsonLinesAndARunsLinesCarryItsJobId() throws Exception {
        given().baseUri(instances.simulator()).contentType(ContentType.JSON).body(Map.of("queue_ms", 0, "latency_ms", 100))
                .put("/_sim/settings").then().statusCode(200);
        String id = given().baseUri(a.url()).contentType(ContentType.JSON).body(Map.of("model", "flux-schnell", "prompt", "logged"))
                .post("/v1/jobs").then().statusCode(202).extract().path("id");
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        java.nio.file.Path log = java.nio.file.Path.of("target", "it-logs", a.name() + ".log");
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> java.nio.file.Files.readString(log)
                .contains("job " + id + ": succeeded"));
        List<com.fasterxml.jackson.databind.JsonNode> lines = new java.util.ArrayList<>();
        for (String line : java.nio.file.Files.readAllLines(log)) {
            if (line.startsWith("{")) {
                lines.add(json.readTree(line)); // every line the application logs parses as JSON
            }
        }
        com.fasterxml.jackson.databind.JsonNode succeeded = lines.stream()
                .filter(l -> l.path("message").asText().equals("job " + id + ": succeeded with 1 output(s)")).findFirst().orElseThrow();
        assertThat(succeeded.path("level").asText()).isEqualTo("INFO");
        assertThat(succeeded.path("mdc").path("jobId").asText()).isEqualTo(id);
        assertThat(lines.stream().filter(l -> l.path("message").asText().startsWith("job " + id + ": running")).findFirst().orElseThrow()
                .path("mdc").path("jobId").asText()).isEqualTo(id);
    }

    @Test
    void identicalSeededRequestsOnTwoInstancesShareOneFalCall() throws Exception {
        String tenant = given().baseUri(a.url()).header("Authorization", "Bearer " + Instances.ADMIN_KEY).contentType(ContentType.JSON)
                .body(Map.of("name", "it-" + UUID.randomUUID())).post("/v1/admin/tenants").then().statusCode(201)
                .extract().path("id");
        given().baseUri(a.url()).header("Authorization", "Bearer " + Instances.ADMIN_KEY).contentType(ContentType.JSON)
                .body(Map.of("cache_enabled", true)).patch("/v1/admin/tenants/" + tenant).then().statusCode(200);
        String key = given().baseUri(a.url()).header("Authorization", "Bearer " + Instances.ADMIN_KEY).contentType(ContentType.JSON)
                .body(Map.of("name", "ci")).post("/v1/admin/tenants/" + tenant + "/keys").then().statusCode(201).extract().path("key");
        // fal slow enough that every request arrives while the first call is still in flight
        given().baseUri(instances.simulator()).post("/_sim/reset").then().statusCode(204);
        given().baseUri(instances.simulator()).contentType(ContentType.JSON).body(Map.of("queue_ms", 0, "latency_ms", 3_000))
                .put("/_sim/settings").then().statusCode(200);
        String prompt = "one call for both replicas " + UUID.randomUUID();
        Map<String, Object> body = Map.of("model", "flux-schnell", "prompt", prompt, "params",
                Map.of("seed", 1234, "image_size", Map.of("width", 256, "height", 256)));
        List<String> ids = new java.util.ArrayList<>();
        for (int i = 0; i < 6; i++) {
            ids.add(given().baseUri((i % 2 == 0 ? a : b).url()).header("Authorization", "Bearer " + key).contentType(ContentType.JSON).body(body)
                    .post("/v1/jobs").then().statusCode(202).extract().path("id"));
        }
        List<JsonPath> jobs = new java.util.ArrayList<>();
        for (String id : ids) {
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                    .until(() -> !List.of("queued", "running").contains(given().baseUri(b.url()).header("Authorization", "Bearer " + key)
                            .get("/v1/jobs/" + id).then().statusCode(200).extract().path("status")));
            jobs.add(given().baseUri(a.url()).header("Authorization", "Bearer " + key).get("/v1/jobs/" + id).then().statusCode(200).extract().jsonPath());
        }
        assertThat(jobs).extracting(j -> j.getString("status")).containsOnly("succeeded");
        // one fal call: one job missed and called fal, the five others waited for it and were served from its result
        List<Map<String, Object>> requests = given().baseUri(instances.simulator()).get("/_sim/requests").then().extract().jsonPath()
                .getList("requests");
        assertThat(requests.stream().filter(r -> "POST".equals(r.get("method")) && "/queue/fal-ai/flux/schnell".equals(r.get("path"))
                && prompt.equals(((Map<?, ?>) r.get("body")).get("prompt")))).hasSize(1);
        assertThat(jobs).extracting(j -> j.getString("cache")).containsExactlyInAnyOrder("miss", "hit", "hit", "hit", "hit", "hit");
    }
}
