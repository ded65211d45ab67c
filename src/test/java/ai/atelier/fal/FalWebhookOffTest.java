package ai.atelier.fal;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;

import java.time.Instant;

import org.junit.jupiter.api.Test;

import ai.atelier.support.Simulator;
import io.quarkus.test.junit.QuarkusTest;

/** With fal webhooks off (no public base URL, the test profile's default), fal's webhook route is not there at all. */
@QuarkusTest
class FalWebhookOffTest {

    @Test
    void falsWebhookRouteAnswers404AndFetchesNoKeysWhileFalWebhooksAreOff() {
        Simulator.reset();
        String body = "{\"request_id\":\"r1\",\"status\":\"OK\",\"payload\":{}}";
        for (int i = 0; i < 5; i++) {
            given().body(body).header("X-Fal-Webhook-Request-Id", "r1").header("X-Fal-Webhook-User-Id", "u")
                    .header("X-Fal-Webhook-Timestamp", String.valueOf(Instant.now().getEpochSecond()))
                    .header("X-Fal-Webhook-Signature", "ab".repeat(64)).post("/v1/fal/webhook").then().statusCode(404)
                    .contentType("application/problem+json").body("type", equalTo("/problems/not-found"));
        }
        given().post("/v1/fal/webhook").then().statusCode(404);
        assertThat(Simulator.requests()).filteredOn(r -> "/rest/.well-known/jwks.json".equals(r.get("path"))).isEmpty();
    }
}
