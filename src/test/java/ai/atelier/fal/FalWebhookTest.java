package ai.atelier.fal;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import ai.atelier.support.Db;
import ai.atelier.support.Simulator;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;

/**
 * With a public base URL, fal calls Atelier back (signed with Ed25519) and the waiting job finishes
 * at once; polling, slowed to 10 s here, only reconciles webhooks that never came.
 */
@QuarkusTest
@TestProfile(FalWebhookTest.Webhooks.class)
class FalWebhookTest {

    public static class Webhooks implements QuarkusTestProfile {
        static final int PORT = freePort();
        static final int MANAGEMENT_PORT = freePort();

        @Override
        public Map<String, String> getConfigOverrides() {
            // fal must be told the port before the app starts, so it is fixed; the management interface then needs a fixed
            // port too (Quarkus 3.34 never finishes starting it on a random one beside a fixed HTTP test port)
            return Map.of("quarkus.http.test-port", String.valueOf(PORT), "quarkus.management.test-port", String.valueOf(MANAGEMENT_PORT),
                    "atelier.fal.public-base-url", "http://localhost:" + PORT, "atelier.fal.webhook-poll-interval", "10s");
        }

        static int freePort() {
            try (ServerSocket s = new ServerSocket(0)) {
                return s.getLocalPort();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    @BeforeEach
    void reset() {
        Simulator.reset();
    }

    private static String submit(String prompt) {
        return given().contentType(ContentType.JSON).body(Map.of("model", "flux-schnell", "prompt", prompt)).post("/v1/jobs").then()
                .statusCode(202).extract().path("id");
    }

    /** The webhooks the simulator sent for a request, with Atelier's answers. */
    private static List<Map<String, Object>> outbound(String requestId) {
        return Simulator.requests().stream().filter(r -> "out".equals(r.get("direction")) && requestId.equals(r.get("request_id"))).toList();
    }

    private static long statusPolls(String requestId) {
        return Simulator.requests().stream().filter(r -> String.valueOf(r.get("path")).endsWith(requestId + "/status")).count();
    }

    @Test
    void falsSignedWebhookFinishesTheJobWithoutWaitingForTheNextPoll() {
        Simulator.settings(0, 1500);
        Simulator.fault(Map.of("target", "stream", "status", 503)); // no status stream: only a poll or the webhook can end the wait
        String id = submit("called back");
        // the next poll would come 10 s after the first: finishing well before proves the webhook woke the job
        await().atMost(Duration.ofSeconds(7)).until(() -> "succeeded".equals(Db.job(UUID.fromString(id)).get("status")));
        String rid = (String) Db.job(UUID.fromString(id)).get("fal_request_id");
        assertThat(statusPolls(rid)).isEqualTo(1);
        Map<String, Object> submitCall = Simulator.requests().stream().filter(r -> "/queue/fal-ai/flux/schnell".equals(r.get("path"))).findFirst()
                .orElseThrow();
        assertThat((String) submitCall.get("query")).contains("fal_webhook=http");
    }

    @Test
    void aMissedWebhookIsReconciledByPolling() {
        Simulator.settings(0, 300);
        Simulator.fault(Map.of("target", "webhook"));
        String id = submit("never called back");
        await().atMost(Duration.ofSeconds(20)).until(() -> "succeeded".equals(Db.job(UUID.fromString(id)).get("status")));
    }

    private static long jwksFetches() {
        return Simulator.requests().stream().filter(r -> "/rest/.well-known/jwks.json".equals(r.get("path"))).count();
    }

    @Test
    void forgedWebhooksDoNotMakeAtelierFetchFalsKeysForEachOfThem() {
        String body = "{\"request_id\":\"r2\",\"status\":\"OK\",\"payload\":{}}";
        for (int i = 0; i < 10; i++) {
            // fresh, well-formed, and signed by nobody: a key Atelier does not know, as a rotated-in fal key would look
            given().body(body).header("X-Fal-Webhook-Request-Id", "r2").header("X-Fal-Webhook-User-Id", "u")
                    .header("X-Fal-Webhook-Timestamp", String.valueOf(Instant.now().getEpochSecond()))
                    .header("X-Fal-Webhook-Signature", String.format("%0128x", i)).post("/v1/fal/webhook").then().statusCode(401)
                    .body("type", equalTo("/problems/invalid-fal-signature"));
        }
        // at most one look at fal's keys for all of them (none when they were read lately), never one each
        assertThat(jwksFetches()).isLessThanOrEqualTo(1);
        // and fal's own webhooks still verify with the keys kept
        Simulator.settings(0, 100);
        String id = submit("after forgeries");
        await().atMost(Duration.ofSeconds(7)).until(() -> "succeeded".equals(Db.job(UUID.fromString(id)).get("status")));
        String rid = (String) Db.job(UUID.fromString(id)).get("fal_request_id");
        await().atMost(Duration.ofSeconds(5)).until(() -> outbound(rid).size() == 1);
        assertThat(outbound(rid).get(0)).containsEntry("status", 200);
        assertThat(jwksFetches()).isLessThanOrEqualTo(1);
    }

    @Test
    void refusesForgedStaleAndRepeatedWebhooks() throws Exception {
        String body = "{\"request_id\":\"r1\",\"status\":\"OK\",\"payload\":{}}";
        String now = String.valueOf(Instant.now().getEpochSecond());
        // forged: a signature not made with fal's key
        given().body(body).header("X-Fal-Webhook-Request-Id", "r1").header("X-Fal-Webhook-User-Id", "u").header("X-Fal-Webhook-Timestamp", now)
                .header("X-Fal-Webhook-Signature", "ab".repeat(64)).post("/v1/fal/webhook").then().statusCode(401)
                .contentType("application/problem+json").body("type", equalTo("/problems/invalid-fal-signature"));
        // stale: more than 300 s old
        given().body(body).header("X-Fal-Webhook-Request-Id", "r1").header("X-Fal-Webhook-User-Id", "u")
                .header("X-Fal-Webhook-Timestamp", String.valueOf(Instant.now().getEpochSecond() - 301))
                .header("X-Fal-Webhook-Signature", "ab".repeat(64)).post("/v1/fal/webhook").then().statusCode(401)
                .body("detail", org.hamcrest.Matchers.containsString("300 s"));
        // missing headers
        given().body(body).post("/v1/fal/webhook").then().statusCode(401);

        // a genuine webhook delivered twice: the simulator signs, the second is acknowledged as a duplicate
        Simulator.settings(0, 100);
        String id = submit("twice");
        await().atMost(Duration.ofSeconds(7)).until(() -> "succeeded".equals(Db.job(UUID.fromString(id)).get("status")));
        String rid = (String) Db.job(UUID.fromString(id)).get("fal_request_id");
        await().atMost(Duration.ofSeconds(5)).until(() -> outbound(rid).size() == 1);
        assertThat(outbound(rid).get(0)).containsEntry("status", 200);
        assertThat((String) outbound(rid).get(0).get("response")).contains("\"duplicate\":false");

        given().baseUri(Simulator.url()).post("/_sim/requests/" + rid + "/webhook").then().statusCode(202);
        await().atMost(Duration.ofSeconds(5)).until(() -> outbound(rid).size() == 2);
        assertThat(outbound(rid).get(1)).containsEntry("status", 200);
        assertThat((String) outbound(rid).get(1).get("response")).contains("\"duplicate\":true");
        assertThat(Db.job(UUID.fromString(id))).containsEntry("status", "succeeded");
    }
}
