package ai.atelier.webhooks;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpServer;

import ai.atelier.support.Jobs;
import ai.atelier.support.Simulator;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;

/** Webhooks to clients: signed per Standard Webhooks, retried until accepted, logged, redeliverable, SSRF-guarded. */
@QuarkusTest
class WebhookTest {

    /** The test profile's secret, as the spec's whsec_ form. */
    static final WebhookSigner SIGNER = new WebhookSigner("whsec_YXRlbGllci10ZXN0LXdlYmhvb2stc2VjcmV0");

    record Received(String id, String timestamp, String signature, String body) {
    }

    HttpServer receiver;
    final List<Received> received = new CopyOnWriteArrayList<>();
    final AtomicInteger failuresLeft = new AtomicInteger();

    @BeforeEach
    void startReceiver() throws Exception {
        Simulator.reset();
        receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        receiver.createContext("/hook", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            received.add(new Received(exchange.getRequestHeaders().getFirst("webhook-id"), exchange.getRequestHeaders().getFirst("webhook-timestamp"),
                    exchange.getRequestHeaders().getFirst("webhook-signature"), body));
            int status = failuresLeft.getAndDecrement() > 0 ? 500 : 204;
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        });
        receiver.start();
    }

    @AfterEach
    void stopReceiver() {
        receiver.stop(0);
    }

    private String hook() {
        return "http://localhost:" + receiver.getAddress().getPort() + "/hook";
    }

    private String submit(Map<String, Object> webhook) {
        return given().contentType(ContentType.JSON).body(Map.of("model", "flux-schnell", "prompt", "hooked", "webhook", webhook))
                .post("/v1/jobs").then().statusCode(202).extract().path("id");
    }

    @Test
    void signedPerStandardWebhooksAndRetriedUntilAcceptedWithEveryAttemptLogged() {
        failuresLeft.set(2);
        String id = submit(Map.of("url", hook(), "events", List.of("completed")));
        await().atMost(Duration.ofSeconds(20)).until(() -> received.size() == 3);

        Received last = received.get(2);
        assertThat(last.signature()).isEqualTo(SIGNER.sign(last.id(), Long.parseLong(last.timestamp()), last.body()));
        assertThat(Math.abs(Instant.now().getEpochSecond() - Long.parseLong(last.timestamp()))).isLessThan(60);
        assertThat(received.stream().map(Received::id).distinct()).hasSize(1); // the same message id on every retry
        JsonPath body = new JsonPath(last.body());
        assertThat(body.getString("type")).isEqualTo("job.completed");
        assertThat(body.getString("data.id")).isEqualTo(id);
        assertThat(body.getString("data.status")).isEqualTo("succeeded");
        assertThat(body.getString("data.outputs[0].key")).isEqualTo("tenants/default/jobs/" + id + "/outputs/0.png");

        await().atMost(Duration.ofSeconds(5)).until(() -> "delivered".equals(given().get("/v1/jobs/" + id + "/webhooks").then().extract()
                .path("[0].status")));
        JsonPath deliveries = given().get("/v1/jobs/" + id + "/webhooks").then().statusCode(200).extract().jsonPath();
        assertThat(deliveries.getList("")).hasSize(1);
        assertThat(deliveries.getInt("[0].attempts")).isEqualTo(3);
        assertThat(deliveries.getList("[0].attempt_log.status_code", Integer.class)).containsExactly(500, 500, 204);

        // redelivery on request: once more, same message id
        String delivery = deliveries.getString("[0].id");
        given().post("/v1/jobs/" + id + "/webhooks/" + delivery + "/redeliver").then().statusCode(200).body("status", equalTo("pending"));
        await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 4);
        assertThat(received.get(3).id()).isEqualTo(last.id());
    }

    @Test
    void sendsEveryEventOfTheJobsLife() {
        String id = submit(Map.of("url", hook()));
        Jobs.awaitTerminal(id);
        await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 3);
        List<String> types = received.stream().map(r -> new JsonPath(r.body()).getString("type")).toList();
        assertThat(types).containsExactlyInAnyOrder("job.queued", "job.started", "job.completed");
    }

    @Test
    void refusesWebhookUrlsInsideTheNetworkAndUnknownEvents() {
        given().contentType(ContentType.JSON).body(Map.of("model", "flux-schnell", "prompt", "p", "webhook", Map.of("url", "http://10.1.2.3/hook")))
                .post("/v1/jobs").then().statusCode(422).contentType("application/problem+json")
                .body("type", equalTo("/problems/forbidden-webhook-url"));
        given().contentType(ContentType.JSON).body(Map.of("model", "flux-schnell", "prompt", "p",
                "webhook", Map.of("url", hook(), "events", List.of("exploded")))).post("/v1/jobs").then().statusCode(422)
                .body("type", equalTo("/problems/invalid-webhook-event"));
    }
}
