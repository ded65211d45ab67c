package ai.atelier.webhooks;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasSize;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.standardwebhooks.Webhook;
import com.standardwebhooks.exceptions.WebhookVerificationException;
import com.sun.net.httpserver.HttpServer;

import ai.atelier.support.Db;
import ai.atelier.support.Jobs;
import ai.atelier.support.Simulator;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.specification.RequestSpecification;

/**
 * Webhooks to clients: each tenant's signed with its own secret (made, shown once and rotated through the API,
 * verified here with the Standard Webhooks reference library on the bytes and headers the receiver got), a job's
 * deliveries in order with a sequence, one tenant's dead receiver delaying nobody else, retried until accepted,
 * every attempt logged in neutral words, redeliverable, SSRF-guarded.
 */
@QuarkusTest
class WebhookTest {

    /** A tenant made for one test, with a key that may submit and read. */
    record Tenant(String id, String key) {
        RequestSpecification as() {
            return given().header("Authorization", "Bearer " + key).contentType(ContentType.JSON);
        }
    }

    /** A delivery as the test's own receiver got it. */
    record Received(Map<String, List<String>> headers, String body, int answered) {
        String type() {
            return new JsonPath(body).getString("type");
        }
    }

    HttpServer receiver;
    final List<Received> received = new CopyOnWriteArrayList<>();
    final AtomicInteger failuresLeft = new AtomicInteger();
    /** Events whose first delivery the receiver answers with a 500. */
    final Set<String> failFirst = java.util.concurrent.ConcurrentHashMap.newKeySet();

    @BeforeEach
    void startReceiver() throws Exception {
        Simulator.reset();
        receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        receiver.createContext("/hook", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            Map<String, List<String>> headers = new LinkedHashMap<>();
            exchange.getRequestHeaders().forEach((name, values) -> headers.put(name.toLowerCase(java.util.Locale.ROOT), values));
            String type = new JsonPath(body).getString("type");
            int status = failuresLeft.getAndDecrement() > 0 || failFirst.remove(type) ? 500 : 204;
            received.add(new Received(headers, body, status));
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

    private static RequestSpecification admin() {
        return given().header("Authorization", "Bearer atl_test_admin_key").contentType(ContentType.JSON);
    }

    private static Tenant tenant() {
        String id = admin().body(Map.of("name", "hooks-" + UUID.randomUUID().toString().substring(0, 8))).post("/v1/admin/tenants").then()
                .statusCode(201).extract().path("id");
        String key = admin().body(Map.of("name", "shop", "scopes", List.of("jobs:write", "jobs:read"))).post("/v1/admin/tenants/" + id + "/keys")
                .then().statusCode(201).extract().path("key");
        return new Tenant(id, key);
    }

    /** A tenant with a webhook secret; answers the secret, as it was shown. */
    private static String secret(Tenant t) {
        return t.as().post("/v1/webhook-secret").then().statusCode(201).extract().path("secret");
    }

    private static String submit(Tenant t, String url, List<String> events) {
        Map<String, Object> webhook = events == null ? Map.of("url", url) : Map.of("url", url, "events", events);
        return t.as().body(Map.of("model", "flux-schnell", "prompt", "hooked", "webhook", webhook)).post("/v1/jobs").then().statusCode(202)
                .extract().path("id");
    }

    /** The simulator's inbox at a path of its own: a client's service that answers 204 and journals what it got. */
    private static String inbox(String name) {
        return Simulator.url() + "/_sim/inbox/" + name + "-" + UUID.randomUUID();
    }

    /** What the inbox at {@code url} received, oldest first. */
    private static List<Map<String, Object>> inboxed(String url) {
        String path = url.substring(Simulator.url().length());
        return Simulator.requests().stream().filter(r -> path.equals(r.get("path"))).toList();
    }

    private static List<Map<String, Object>> awaitInboxed(String url, int count) {
        List<List<Map<String, Object>>> last = new ArrayList<>(List.of(List.of()));
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(() -> {
            last.set(0, inboxed(url));
            return last.get(0).size() >= count;
        });
        return last.get(0);
    }

    /** Whether the Standard Webhooks library, given {@code secret}, accepts this journalled delivery (exact bytes and headers). */
    @SuppressWarnings("unchecked")
    private static boolean verifies(String secret, Map<String, Object> journalled) {
        Map<String, List<String>> headers = new LinkedHashMap<>();
        ((Map<String, Object>) journalled.get("headers")).forEach((name, value) -> {
            if (value != null) {
                headers.put(name, List.of(value.toString()));
            }
        });
        return verifies(secret, (String) journalled.get("body_raw"), headers);
    }

    private static boolean verifies(String secret, String body, Map<String, List<String>> headers) {
        try {
            new Webhook(secret).verify(body, headers);
            return true;
        } catch (WebhookVerificationException e) {
            return false;
        } catch (com.standardwebhooks.exceptions.EmptyWebhookSecretException e) {
            throw new AssertionError("no secret to verify with", e);
        }
    }

    @SuppressWarnings("unchecked")
    private static String header(Map<String, Object> journalled, String name) {
        return (String) ((Map<String, Object>) journalled.get("headers")).get(name);
    }

    @Test
    void eachTenantsDeliveriesVerifyWithItsOwnSecretOnlyAndNameTheTenant() {
        Tenant a = tenant();
        Tenant b = tenant();
        String secretA = secret(a);
        String secretB = secret(b);
        assertThat(secretA).startsWith("whsec_").isNotEqualTo(secretB);
        assertThat(Base64.getDecoder().decode(secretA.substring(6))).hasSize(32);

        String hookA = inbox("shop-a");
        String hookB = inbox("shop-b");
        String jobA = submit(a, hookA, List.of("completed"));
        String jobB = submit(b, hookB, List.of("completed"));
        Map<String, Object> toA = awaitInboxed(hookA, 1).get(0);
        Map<String, Object> toB = awaitInboxed(hookB, 1).get(0);

        assertThat(verifies(secretA, toA)).as("A's delivery with A's secret").isTrue();
        assertThat(verifies(secretB, toA)).as("A's delivery with B's secret").isFalse();
        assertThat(verifies(secretB, toB)).as("B's delivery with B's secret").isTrue();
        assertThat(verifies(secretA, toB)).as("B's delivery with A's secret").isFalse();
        JsonPath bodyA = new JsonPath((String) toA.get("body_raw"));
        assertThat(bodyA.getString("type")).isEqualTo("job.completed");
        assertThat(bodyA.getString("data.id")).isEqualTo(jobA);
        assertThat(bodyA.getString("data.tenant")).isEqualTo(a.id());
        assertThat(bodyA.getInt("data.sequence")).isEqualTo(1);
        assertThat(new JsonPath((String) toB.get("body_raw")).getString("data.tenant")).isEqualTo(b.id());
        assertThat(new JsonPath((String) toB.get("body_raw")).getString("data.id")).isEqualTo(jobB);
    }

    /**
     * A tenant's secret row damaged (too short to hold a nonce and tag) is skipped: before, opening it threw inside the
     * transaction that claims every tenant's deliveries, which rolled back at every poll, and nobody got a webhook.
     */
    @Test
    void aDamagedSecretOfOneTenantDoesNotStopAnotherTenantsDeliveries() {
        Tenant damaged = tenant();
        Tenant other = tenant();
        secret(damaged);
        String secret = secret(other);
        Db.execute("update webhook_secrets set ciphertext = '\\x0102030405'::bytea where tenant_id = ?", damaged.id());
        String damagedJob = submit(damaged, inbox("damaged"), List.of("completed"));
        try {
            String hook = inbox("other");
            String job = submit(other, hook, List.of("completed"));

            Map<String, Object> delivered = awaitInboxed(hook, 1).get(0);
            assertThat(verifies(secret, delivered)).isTrue();
            assertThat(new JsonPath((String) delivered.get("body_raw")).getString("data.id")).isEqualTo(job);
        } finally {
            // the damaged tenant's delivery can never be signed: it must not linger for the tests after this one
            Db.execute("delete from webhook_deliveries where job_id = ?", UUID.fromString(damagedJob));
        }
    }

    @Test
    void theSecretIsShownOnceWhenMadeAndKeptOnlyEncrypted() {
        Tenant t = tenant();
        t.as().get("/v1/webhook-secret").then().statusCode(404).contentType("application/problem+json");
        var made = t.as().post("/v1/webhook-secret").then().statusCode(201).header("Cache-Control", "no-store")
                .body("tenant_id", equalTo(t.id())).body("previous", hasSize(0)).extract();
        String secret = made.path("secret");
        String id = made.path("id");
        String encoded = secret.substring("whsec_".length());

        t.as().post("/v1/webhook-secret").then().statusCode(409).body("type", equalTo("/problems/webhook-secret-exists"));
        String own = t.as().get("/v1/webhook-secret").then().statusCode(200).body("id", equalTo(id)).extract().asString();
        String operators = admin().get("/v1/admin/tenants/" + t.id() + "/webhook-secret").then().statusCode(200).body("id", equalTo(id))
                .extract().asString();
        for (String shown : List.of(own, operators)) {
            assertThat(shown).doesNotContain(encoded).doesNotContain("\"secret\"");
        }

        // at rest: a nonce, the ciphertext and its tag; the secret's bytes are not there
        byte[] raw = Base64.getDecoder().decode(encoded);
        byte[] stored = (byte[]) Db.queryOne("select ciphertext from webhook_secrets where id = ?", UUID.fromString(id)).get("ciphertext");
        assertThat(stored).hasSize(12 + 32 + 16);
        assertThat(java.util.Collections.indexOfSubList(toList(stored), toList(raw))).isEqualTo(-1);
        assertThat(new String(stored, StandardCharsets.ISO_8859_1)).doesNotContain(encoded);
    }

    private static List<Byte> toList(byte[] bytes) {
        List<Byte> out = new ArrayList<>();
        for (byte b : bytes) {
            out.add(b);
        }
        return out;
    }

    @Test
    void aRotatedOutSecretStillVerifiesDuringItsGraceAndNotAfter() {
        Tenant t = tenant();
        String old = secret(t);
        String oldId = t.as().get("/v1/webhook-secret").then().extract().path("id");
        admin().queryParam("grace_seconds", 604_801).post("/v1/admin/tenants/" + t.id() + "/webhook-secret/rotate").then().statusCode(422)
                .body("type", equalTo("/problems/invalid-grace"));
        // the operator rotates it, with a short grace
        var rotated = admin().queryParam("grace_seconds", 3).post("/v1/admin/tenants/" + t.id() + "/webhook-secret/rotate").then()
                .statusCode(201).body("previous[0].id", equalTo(oldId)).extract();
        String current = rotated.path("secret");
        assertThat(current).startsWith("whsec_").isNotEqualTo(old);

        String during = inbox("grace");
        submit(t, during, List.of("completed"));
        Map<String, Object> duringGrace = awaitInboxed(during, 1).get(0);
        assertThat(header(duringGrace, "webhook-signature").split(" ")).hasSize(2).allSatisfy(s -> assertThat(s).startsWith("v1,"));
        assertThat(verifies(current, duringGrace)).as("the new secret during the grace period").isTrue();
        assertThat(verifies(old, duringGrace)).as("the old secret during the grace period").isTrue();

        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(200))
                .until(() -> t.as().get("/v1/webhook-secret").then().statusCode(200).extract().jsonPath().getList("previous").isEmpty());
        String after = inbox("after-grace");
        submit(t, after, List.of("completed"));
        Map<String, Object> afterGrace = awaitInboxed(after, 1).get(0);
        assertThat(header(afterGrace, "webhook-signature").split(" ")).hasSize(1);
        assertThat(verifies(current, afterGrace)).as("the new secret after the grace period").isTrue();
        assertThat(verifies(old, afterGrace)).as("the old secret after the grace period").isFalse();

        // the tenant rotates its own, with the default grace (a day): the previous one is listed with its end, never its value
        String own = given().header("Authorization", "Bearer " + t.key()).post("/v1/webhook-secret/rotate").then().statusCode(201)
                .extract().path("secret"); // as a bare curl -X POST sends it
        JsonPath state = t.as().get("/v1/webhook-secret").then().statusCode(200).extract().jsonPath();
        assertThat(state.getList("previous")).hasSize(1);
        assertThat(Instant.parse(state.getString("previous[0].expires_at"))).isAfter(Instant.now().plus(Duration.ofHours(23)));
        assertThat(state.prettify()).doesNotContain(own.substring(6)).doesNotContain(current.substring(6));
        // the secret past its grace never signs again: the rotation dropped its row
        assertThat(Db.queryOne("select count(*) as n from webhook_secrets where id = ?", UUID.fromString(oldId)).get("n")).isEqualTo(0L);
        assertThat(Db.queryOne("select count(*) as n from webhook_secrets where tenant_id = ?", t.id()).get("n")).isEqualTo(2L);
    }

    @Test
    void aWebhookNeedsTheTenantsSecretFirstAndTheRefusedSubmitKeepsNothing() {
        Tenant t = tenant();
        t.as().body(Map.of("model", "flux-schnell", "prompt", "p", "webhook", Map.of("url", inbox("none")))).post("/v1/jobs").then()
                .statusCode(422).contentType("application/problem+json").body("type", equalTo("/problems/webhook-secret-required"))
                .body("detail", org.hamcrest.Matchers.containsString("POST /v1/webhook-secret"));
        assertThat(Db.count("tenant = '" + t.id() + "'")).isZero();
        // without a webhook the same tenant submits as before
        t.as().body(Map.of("model", "flux-schnell", "prompt", "p")).post("/v1/jobs").then().statusCode(202);
    }

    @Test
    void signedAndRetriedUntilAcceptedWithEveryAttemptLoggedAndNoNextAttemptOnceDelivered() {
        Tenant t = tenant();
        String secret = secret(t);
        failuresLeft.set(2);
        String id = submit(t, hook(), List.of("completed"));
        await().atMost(Duration.ofSeconds(20)).until(() -> received.size() == 3);

        Received last = received.get(2);
        assertThat(verifies(secret, last.body(), last.headers())).isTrue();
        assertThat(Math.abs(Instant.now().getEpochSecond() - Long.parseLong(last.headers().get("webhook-timestamp").get(0)))).isLessThan(60);
        assertThat(received.stream().map(r -> r.headers().get("webhook-id").get(0)).distinct()).hasSize(1); // the same message id on every retry
        JsonPath body = new JsonPath(last.body());
        assertThat(body.getString("type")).isEqualTo("job.completed");
        assertThat(body.getString("data.id")).isEqualTo(id);
        assertThat(body.getString("data.status")).isEqualTo("succeeded");
        assertThat(body.getString("data.outputs[0].key")).isEqualTo("tenants/" + t.id() + "/jobs/" + id + "/outputs/0.png");

        await().atMost(Duration.ofSeconds(5)).until(() -> "delivered".equals(t.as().get("/v1/jobs/" + id + "/webhooks").then().extract()
                .path("[0].status")));
        JsonPath deliveries = t.as().get("/v1/jobs/" + id + "/webhooks").then().statusCode(200).extract().jsonPath();
        assertThat(deliveries.getList("")).hasSize(1);
        assertThat(deliveries.getInt("[0].attempts")).isEqualTo(3);
        assertThat(deliveries.getList("[0].attempt_log.status_code", Integer.class)).containsExactly(500, 500, 204);
        assertThat(deliveries.getList("[0].attempt_log.error", String.class)).containsExactly("HTTP 500", "HTTP 500", null);
        // what a client reads says what happened: delivered, when, and no attempt to come
        assertThat(deliveries.getString("[0].next_attempt_at")).isNull();
        assertThat(Instant.parse(deliveries.getString("[0].delivered_at"))).isBeforeOrEqualTo(Instant.now());
        assertThat(Db.queryOne("select next_attempt_at from webhook_deliveries where job_id = ?", UUID.fromString(id)).get("next_attempt_at"))
                .isNull();

        // redelivery on request: once more, same message id
        String delivery = deliveries.getString("[0].id");
        t.as().post("/v1/jobs/" + id + "/webhooks/" + delivery + "/redeliver").then().statusCode(200).body("status", equalTo("pending"));
        await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 4);
        assertThat(received.get(3).headers().get("webhook-id")).isEqualTo(last.headers().get("webhook-id"));
    }

    @Test
    void aJobsDeliveriesArriveInOrderWithIncreasingSequenceEvenWhenOneIsRetried() {
        Tenant t = tenant();
        String secret = secret(t);
        // the first event's first try fails: the later events must wait for its retry, not overtake it
        failFirst.add("job.queued");
        String id = submit(t, hook(), null);
        Jobs.awaitTerminal(id, t.key());
        await().atMost(Duration.ofSeconds(15)).until(() -> received.stream().filter(r -> r.answered() == 204).count() == 3);

        assertThat(received.get(0).answered()).isEqualTo(500);
        assertThat(received.get(0).type()).isEqualTo("job.queued");
        List<Received> accepted = received.stream().filter(r -> r.answered() == 204).toList();
        assertThat(accepted).extracting(Received::type).containsExactly("job.queued", "job.started", "job.completed");
        assertThat(accepted).extracting(r -> new JsonPath(r.body()).getInt("data.sequence")).containsExactly(1, 2, 3);
        assertThat(accepted).allSatisfy(r -> assertThat(verifies(secret, r.body(), r.headers())).isTrue());
        JsonPath listed = t.as().get("/v1/jobs/" + id + "/webhooks").then().statusCode(200).extract().jsonPath();
        assertThat(listed.getList("sequence", Integer.class)).containsExactly(1, 2, 3);
        assertThat(listed.getList("event_type", String.class)).containsExactly("job.queued", "job.started", "job.completed");
    }

    @Test
    void aFailedJobsEventCarriesTheErrorAndFollowsItsStartedOne() {
        Tenant t = tenant();
        String secret = secret(t);
        Simulator.fault(Map.of("target", "complete", "status", 422, "detail", "Image dimensions are too small", "error_type",
                "image_too_small"));
        String hook = inbox("failed");
        String id = submit(t, hook, List.of("started", "failed"));
        List<Map<String, Object>> got = awaitInboxed(hook, 2);
        List<JsonPath> bodies = got.stream().map(r -> new JsonPath((String) r.get("body_raw"))).toList();
        assertThat(bodies).extracting(b -> b.getString("type")).containsExactly("job.started", "job.failed");
        assertThat(bodies).extracting(b -> b.getInt("data.sequence")).containsExactly(1, 2);
        assertThat(bodies.get(1).getString("data.id")).isEqualTo(id);
        assertThat(bodies.get(1).getString("data.status")).isEqualTo("failed");
        assertThat(bodies.get(1).getString("data.error.code")).isEqualTo("fal_validation");
        assertThat(got).allSatisfy(r -> assertThat(verifies(secret, r)).isTrue());
        // the rows the transitions queued in their own statements: one per event asked for, none for the rest
        assertThat(Db.queryOne("select count(*) as n from webhook_deliveries where job_id = ?", UUID.fromString(id)).get("n")).isEqualTo(2L);
    }

    @Test
    void aCancelledJobsEventFollowsItsQueuedOneInSequence() {
        Tenant t = tenant();
        String secret = secret(t);
        Simulator.settings(0, 3000);
        String hook = inbox("cancelled");
        String id = submit(t, hook, List.of("queued", "cancelled"));
        t.as().post("/v1/jobs/" + id + "/cancel").then().statusCode(200);
        List<Map<String, Object>> got = awaitInboxed(hook, 2);
        assertThat(got).extracting(r -> new JsonPath((String) r.get("body_raw")).getString("type")).containsExactly("job.queued", "job.cancelled");
        assertThat(got).extracting(r -> new JsonPath((String) r.get("body_raw")).getInt("data.sequence")).containsExactly(1, 2);
        assertThat(got).allSatisfy(r -> assertThat(verifies(secret, r)).isTrue());
    }

    @Test
    void aDeadReceiverOfOneTenantDoesNotDelayAnotherTenantsDelivery() {
        Tenant slow = tenant();
        Tenant other = tenant();
        secret(slow);
        String otherSecret = secret(other);
        String dead = Simulator.url() + "/_sim/inbox/silent/dead-" + UUID.randomUUID();
        for (int i = 0; i < 20; i++) {
            submit(slow, dead, List.of("completed"));
        }
        // the dead receiver holds its tenant's attempts (each waits for its 10 s timeout)
        await().atMost(Duration.ofSeconds(20)).until(() -> inboxed(dead).size() >= 8);

        String hook = inbox("alive");
        submit(other, hook, List.of("completed"));
        Map<String, Object> delivered = awaitInboxed(hook, 1).get(0);
        // delivered while every attempt to the dead receiver was still waiting: none of them had ended
        long endedAttempts = (long) Db.queryOne("""
                select count(*) as n from webhook_attempts a join webhook_deliveries d on d.id = a.delivery_id join jobs j on j.id = d.job_id
                where j.tenant = ?""", slow.id()).get("n");
        assertThat(endedAttempts).as("attempts to the dead receiver that had ended when the other tenant's delivery came").isZero();
        // and the dead receiver never held more than its tenant's share
        assertThat(inboxed(dead)).hasSizeLessThanOrEqualTo(8);
        assertThat(verifies(otherSecret, delivered)).isTrue();

        // the dead receiver's attempts end as timeouts, in those words
        await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(250)).until(() -> (long) Db.queryOne("""
                select count(*) as n from webhook_attempts a join webhook_deliveries d on d.id = a.delivery_id join jobs j on j.id = d.job_id
                where j.tenant = ?""", slow.id()).get("n") >= 1);
        String errors = (String) Db.queryOne("""
                select string_agg(distinct coalesce(a.error, '(none)'), ',') as e from webhook_attempts a
                join webhook_deliveries d on d.id = a.delivery_id join jobs j on j.id = d.job_id where j.tenant = ?""", slow.id()).get("e");
        assertThat(errors).isEqualTo(DeliveryErrors.TIMEOUT);

        // leave nothing hanging for the tests after this one: the rest fail fast and are given up
        Db.execute("update jobs set webhook_url = 'http://localhost:9/gone' where tenant = ?", slow.id());
        Db.execute("update webhook_deliveries set status = 'failed', next_attempt_at = null where status = 'pending' and job_id in "
                + "(select id from jobs where tenant = ?)", slow.id());
    }

    @Test
    void attemptLogsSayWhatHappenedInNeutralWordsWithoutExceptionsOrAddresses() {
        Tenant t = tenant();
        secret(t);
        // nothing listens on port 9: connection refused
        String refused = submit(t, "http://localhost:9/hook", List.of("completed"));
        // a URL that passed at submit but leads inside the network by the time of delivery (DNS rebinding, as seen by the guard)
        Simulator.settings(0, 1500);
        String rebound = submit(t, inbox("rebound"), List.of("completed"));
        Db.execute("update jobs set webhook_url = 'http://169.254.169.254/latest/meta-data' where id = ?", UUID.fromString(rebound));

        Map<String, String> expected = Map.of(refused, DeliveryErrors.CONNECTION_REFUSED, rebound, DeliveryErrors.ADDRESS_POLICY);
        expected.forEach((job, reason) -> {
            await().atMost(Duration.ofSeconds(20)).until(() -> {
                List<Object> log = t.as().get("/v1/jobs/" + job + "/webhooks").then().statusCode(200).extract().jsonPath().getList("[0].attempt_log");
                return log != null && !log.isEmpty();
            });
            String shown = t.as().get("/v1/jobs/" + job + "/webhooks").then().statusCode(200).extract().asString();
            JsonPath listed = new JsonPath(shown);
            assertThat(listed.getString("[0].attempt_log[0].error")).isEqualTo(reason);
            assertThat(listed.getString("[0].last_error")).isEqualTo(reason);
            assertThat(listed.getString("[0].attempt_log[0].status_code")).isNull();
            assertThat(shown).doesNotContainPattern("[A-Za-z]+(Exception|Error)\\b").doesNotContain("127.0.0.1").doesNotContain("169.254")
                    .doesNotContain("localhost/");
        });
        // what is stored is as neutral as what is shown
        assertThat(Db.queryOne("select string_agg(a.error, ',') as e from webhook_attempts a join webhook_deliveries d on d.id = a.delivery_id "
                + "where d.job_id in (?, ?)", UUID.fromString(refused), UUID.fromString(rebound)).get("e").toString().split(","))
                .allSatisfy(e -> assertThat(DeliveryErrors.REASONS).contains(e));
    }

    @Test
    void refusesWebhookUrlsInsideTheNetworkAndUnknownEvents() {
        Tenant t = tenant();
        secret(t);
        t.as().body(Map.of("model", "flux-schnell", "prompt", "p", "webhook", Map.of("url", "http://10.1.2.3/hook"))).post("/v1/jobs").then()
                .statusCode(422).contentType("application/problem+json").body("type", equalTo("/problems/forbidden-webhook-url"));
        t.as().body(Map.of("model", "flux-schnell", "prompt", "p", "webhook", Map.of("url", hook(), "events", List.of("exploded"))))
                .post("/v1/jobs").then().statusCode(422).body("type", equalTo("/problems/invalid-webhook-event"));
    }
}
