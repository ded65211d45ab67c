package ai.atelier.auth;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.endsWith;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.startsWith;

import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import ai.atelier.support.Db;
import ai.atelier.support.LedgerRows;
import ai.atelier.support.Management;
import ai.atelier.support.Simulator;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;

/**
 * Who calls and what it costs, through the HTTP API: keys and scopes, two tenants that cannot see or
 * touch anything of each other's on any route, limits, budgets, a quote, and a ledger that adds up.
 */
@QuarkusTest
@TestProfile(TenantsTest.KeysOnly.class)
class TenantsTest {

    static final String ADMIN = "atl_test_admin_key";

    /** No anonymous tenant: every route but the open ones needs a key. */
    public static class KeysOnly implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("atelier.auth.anonymous-tenant", "", "atelier.auth.failures-per-minute", "5", "atelier.fal.pricing-refresh", "1s",
                    "atelier.http.trusted-proxies", "127.0.0.9");
        }
    }

    @TestHTTPResource("/")
    URI base;

    @jakarta.inject.Inject
    io.quarkus.redis.datasource.RedisDataSource redis;

    /** The ids of the jobs whose live view Redis holds for this tenant. */
    private List<String> liveViews(String tenant) {
        return redis.key().keys("atelier:job:{*}").stream().filter(k -> k.endsWith("}"))
                .filter(k -> tenant.equals(redis.hash(String.class).hget(k, "tenant")))
                .map(k -> k.substring(k.indexOf('{') + 1, k.length() - 1)).toList();
    }

    static RequestSpecification admin() {
        return given().header("Authorization", "Bearer " + ADMIN).contentType(ContentType.JSON);
    }

    static RequestSpecification as(String key) {
        return given().header("Authorization", "Bearer " + key);
    }

    /** A new tenant and a key for it with these scopes: (tenant id, key). */
    static String[] tenantWithKey(String name, String... scopes) {
        String tenant = admin().body(Map.of("name", name + "-" + UUID.randomUUID().toString().substring(0, 8))).post("/v1/admin/tenants")
                .then().statusCode(201).body("id", notNullValue()).extract().path("id");
        JsonPath key = admin().body(Map.of("name", "ci", "scopes", List.of(scopes))).post("/v1/admin/tenants/" + tenant + "/keys")
                .then().statusCode(201).extract().jsonPath();
        assertThat(key.getString("key")).startsWith("atl_").hasSizeGreaterThanOrEqualTo(4 + 22); // at least 128 random bits
        assertThat(key.getString("key")).startsWith(key.getString("prefix"));
        return new String[] { tenant, key.getString("key"), key.getString("id") };
    }

    private static String submit(String key, Map<String, Object> body) {
        return as(key).contentType(ContentType.JSON).body(body).post("/v1/jobs").then().statusCode(202).extract().path("id");
    }

    private static JsonPath awaitEnd(String key, String id) {
        JsonPath[] last = { null };
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            last[0] = as(key).get("/v1/jobs/" + id).then().statusCode(200).extract().jsonPath();
            return List.of("succeeded", "failed", "cancelled").contains(last[0].getString("status"));
        });
        return last[0];
    }

    @Test
    void everyRouteButTheOpenOnesNeedsAKey() {
        given().get("/v1/jobs").then().statusCode(401).contentType("application/problem+json").header("WWW-Authenticate", startsWith("Bearer"))
                .body("type", endsWith("/missing-api-key"));
        given().header("Authorization", "Bearer atl_not_a_key").get("/v1/models").then().statusCode(401)
                .header("WWW-Authenticate", containsString("invalid_token")).body("type", endsWith("/invalid-api-key"))
                .body("detail", org.hamcrest.Matchers.not(containsString("atl_not_a_key")));
        given().get("/api/" + UUID.randomUUID() + "/status").then().statusCode(401);
        given().contentType(ContentType.JSON).body(Map.of("prompt", "x")).post("/api/flux/t2i").then().statusCode(401);
        // the API document stays open; health and metrics are on the management port, open there (never exposed)
        given().get("/q/openapi").then().statusCode(200);
        Management.given().get("/q/health/live").then().statusCode(200);
        Management.given().get("/q/metrics").then().statusCode(200);
        // X-API-Key works like the bearer token
        String[] a = tenantWithKey("header", Scopes.JOBS_READ);
        given().header("X-API-Key", a[1]).get("/v1/models").then().statusCode(200);
    }

    @Test
    void scopesAreChecked() {
        String[] reader = tenantWithKey("reader", Scopes.JOBS_READ);
        as(reader[1]).contentType(ContentType.JSON).body(Map.of("model", "flux-schnell", "prompt", "no")).post("/v1/jobs").then()
                .statusCode(403).body("type", endsWith("/missing-scope")).body("scope", equalTo("jobs:write"));
        as(reader[1]).get("/v1/admin/tenants").then().statusCode(403);
        // the operator's key administers; it does not submit jobs for a tenant
        admin().get("/v1/jobs").then().statusCode(403);
        admin().get("/v1/admin/tenants").then().statusCode(200);
    }

    @Test
    void twoTenantsCannotSeeOrTouchAnythingOfEachOthers() {
        Simulator.reset();
        Simulator.settings(0, 300);
        String[] a = tenantWithKey("a", Scopes.JOBS_WRITE, Scopes.JOBS_READ);
        String[] b = tenantWithKey("b", Scopes.JOBS_WRITE, Scopes.JOBS_READ);
        String idempotency = "order-" + UUID.randomUUID();
        as(a[1]).post("/v1/webhook-secret").then().statusCode(201); // a webhook needs the tenant's signing secret
        String job = as(a[1]).header("Idempotency-Key", idempotency).contentType(ContentType.JSON)
                .body(Map.of("model", "flux-schnell", "prompt", "tenant a's", "webhook", Map.of("url", "http://localhost:9/hook")))
                .post("/v1/jobs").then().statusCode(202).extract().path("id");
        String session = as(a[1]).contentType(ContentType.JSON).body(Map.of("prompt", "a seed client")).post("/api/flux/t2i").then()
                .statusCode(200).extract().path("session_id");
        awaitEnd(a[1], job);

        // another tenant's job answers exactly what an unknown one does
        String unknown = UUID.randomUUID().toString();
        for (String path : List.of("/v1/jobs/%s", "/v1/jobs/%s/webhooks", "/api/%s/status", "/api/jobs/%s")) {
            Response theirs = as(b[1]).get(path.formatted(job));
            Response none = as(b[1]).get(path.formatted(unknown));
            assertThat(theirs.statusCode()).as(path).isEqualTo(404);
            assertThat(none.statusCode()).as(path).isEqualTo(404);
            assertThat(theirs.jsonPath().getString("type")).as(path).isEqualTo(none.jsonPath().getString("type"));
        }
        as(b[1]).get("/api/" + session + "/status").then().statusCode(404);
        as(b[1]).accept("text/event-stream").get("/v1/jobs/" + job + "/events").then().statusCode(404);
        as(b[1]).post("/v1/jobs/" + job + "/cancel").then().statusCode(404);
        as(b[1]).post("/v1/jobs/" + job + "/retry").then().statusCode(404);
        as(b[1]).post("/v1/jobs/" + job + "/webhooks/" + UUID.randomUUID() + "/redeliver").then().statusCode(404);
        assertThat(as(b[1]).get("/v1/jobs?limit=100").then().statusCode(200).extract().jsonPath().getList("items.id")).doesNotContain(job, session);
        assertThat(as(b[1]).get("/api/jobs").then().statusCode(200).extract().jsonPath().getList("job_id")).doesNotContain(job, session);
        // the same Idempotency-Key is another tenant's own: a new job, not a replay of a's
        String bJob = as(b[1]).header("Idempotency-Key", idempotency).contentType(ContentType.JSON)
                .body(Map.of("model", "flux-schnell", "prompt", "tenant b's")).post("/v1/jobs").then().statusCode(202)
                .header("Idempotent-Replayed", org.hamcrest.Matchers.nullValue()).extract().path("id");
        assertThat(bJob).isNotEqualTo(job);
        awaitEnd(b[1], bJob);
        // usage is each tenant's own
        List<Map<String, Object>> bUsage = as(b[1]).get("/v1/usage?group_by=model").then().statusCode(200).extract().jsonPath().getList("$");
        assertThat(bUsage).singleElement().satisfies(u -> assertThat(((Number) u.get("calls")).intValue()).isEqualTo(1));
        // and a's job is still there for a, its files under a's prefix
        as(a[1]).get("/v1/jobs/" + job).then().statusCode(200).body("status", equalTo("succeeded"))
                .body("outputs[0].key", startsWith("tenants/" + a[0] + "/jobs/" + job + "/"));
        assertThat(Db.job(UUID.fromString(job))).containsEntry("tenant", a[0]).containsEntry("api_key_id", UUID.fromString(a[2]));
    }

    /**
     * One connection, as a proxy that pools its upstream connections sends many clients' requests: each request is its own
     * key's, though the server keeps the last key's hash on the connection.
     */
    @Test
    void everyRequestOnAConnectionIsItsOwnKeysWhateverKeyCameBefore() throws Exception {
        Simulator.settings(0, 3000);
        String[] a = tenantWithKey("conn-a", Scopes.JOBS_WRITE, Scopes.JOBS_READ);
        String[] b = tenantWithKey("conn-b", Scopes.JOBS_READ);
        String job = submit(a[1], Map.of("model", "flux-schnell", "prompt", "one connection"));
        // as long as a's key, one character off
        String forged = a[1].substring(0, a[1].length() - 1) + (a[1].endsWith("x") ? "y" : "x");
        // from the profile's trusted proxy (127.0.0.9), for a client of its own: the forged key's refusals count against that client only
        try (java.net.Socket socket = new java.net.Socket(base.getHost(), base.getPort(), java.net.InetAddress.getByName("127.0.0.9"), 0)) {
            socket.setSoTimeout(10_000);
            var in = new java.io.BufferedInputStream(socket.getInputStream());
            var out = socket.getOutputStream();
            java.util.function.BiFunction<String, String, Integer> get = (header, key) -> {
                try {
                    out.write(("GET /v1/jobs/" + job + " HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 192.0.2.44\r\n" + header + ": " + key
                            + "\r\n\r\n")
                            .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    out.flush();
                    return status(in);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            };
            assertThat(get.apply("Authorization", "Bearer " + a[1])).isEqualTo(200);
            assertThat(get.apply("Authorization", "Bearer " + b[1])).isEqualTo(404);
            assertThat(get.apply("Authorization", "Bearer " + forged)).isEqualTo(401);
            assertThat(get.apply("Authorization", "Bearer " + a[1])).isEqualTo(200);
            assertThat(get.apply("Authorization", "Bearer " + a[1])).isEqualTo(200);
            assertThat(get.apply("X-API-Key", forged)).isEqualTo(401);
            assertThat(get.apply("X-API-Key", b[1])).isEqualTo(404);
            assertThat(get.apply("X-API-Key", a[1])).isEqualTo(200);
        }
    }

    /**
     * A client that hangs up while its submit waits for the database: the job it sent was committed all the same (the
     * client cannot know it was not), so it must run at once, on the instance that took it, not after its lease ran out.
     */
    @Test
    void aJobWhoseClientHungUpDuringItsSubmitStillRunsAtOnce() throws Exception {
        Simulator.reset();
        Simulator.settings(0, 200);
        String[] a = tenantWithKey("hung-up", Scopes.JOBS_WRITE, Scopes.JOBS_READ);
        // a tenant with a limit: its submit locks the tenant's row before it inserts the job
        admin().body(Map.of("max_jobs_in_flight", 10)).patch("/v1/admin/tenants/" + a[0]).then().statusCode(200);
        String prompt = "hung up " + UUID.randomUUID();
        String body = "{\"model\": \"flux-schnell\", \"prompt\": \"" + prompt + "\"}";
        long released;
        try (AutoCloseable tenantRow = Db.holdingLocks("select id from tenants where id = ? for update", a[0])) {
            try (java.net.Socket socket = new java.net.Socket(base.getHost(), base.getPort())) {
                socket.getOutputStream().write(("POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + a[1]
                        + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body)
                        .getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
                // the submit waits for the row this test holds
                await().atMost(Duration.ofSeconds(10)).until(() -> ((Number) Db.queryOne(
                        "select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%from tenants where id%'")
                        .get("n")).intValue() == 1);
            }
            Thread.sleep(300); // the hang-up reaches the server (no event to wait for: nothing answers it)
            released = System.nanoTime();
        }
        // the lease is 5 s here: a job left to it would not have ended within 4 s of the lock's release
        await().atMost(Duration.ofSeconds(4)).until(() -> {
            Map<String, Object> row = Db.queryOne("select status from jobs where prompt = ?", prompt);
            return row != null && "succeeded".equals(row.get("status"));
        });
        assertThat(System.nanoTime() - released).isLessThan(Duration.ofSeconds(4).toNanos());
        assertThat(Simulator.requests().stream().filter(r -> "POST".equals(r.get("method")) && "/queue/fal-ai/flux/schnell".equals(r.get("path"))))
                .hasSize(1);
    }

    /** Reads one HTTP/1.1 answer with a Content-Length body; answers its status. */
    private static int status(java.io.InputStream in) throws java.io.IOException {
        String statusLine = line(in);
        int length = 0;
        for (String header = line(in); !header.isEmpty(); header = line(in)) {
            if (header.regionMatches(true, 0, "Content-Length:", 0, 15)) {
                length = Integer.parseInt(header.substring(15).trim());
            }
        }
        assertThat(in.readNBytes(length)).hasSize(length);
        return Integer.parseInt(statusLine.split(" ")[1]);
    }

    private static String line(java.io.InputStream in) throws java.io.IOException {
        StringBuilder line = new StringBuilder();
        for (int c = in.read(); c != '\n'; c = in.read()) {
            if (c < 0) {
                throw new java.io.EOFException("the server closed the connection");
            }
            if (c != '\r') {
                line.append((char) c);
            }
        }
        return line.toString();
    }

    @Test
    void aRevokedKeyStopsWorkingWithinSeconds() {
        String[] a = tenantWithKey("revoked", Scopes.JOBS_READ);
        as(a[1]).get("/v1/models").then().statusCode(200);
        List<String> listed = admin().get("/v1/admin/tenants/" + a[0] + "/keys").then().statusCode(200).extract().jsonPath().getList("id");
        assertThat(listed).contains(a[2]);
        assertThat(admin().get("/v1/admin/tenants/" + a[0] + "/keys").asString()).doesNotContain(a[1]);
        long t0 = System.nanoTime();
        admin().delete("/v1/admin/keys/" + a[2]).then().statusCode(204);
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100)).until(() -> refused(as(a[1]).get("/v1/models")));
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
        assertThat(admin().get("/v1/admin/tenants/" + a[0] + "/keys").then().extract().jsonPath().getString("[0].revoked_at")).isNotNull();
    }

    @Test
    void aTenantsRequestLimitAnswers429WithRateLimitHeaders() {
        String[] a = tenantWithKey("limited", Scopes.JOBS_READ);
        admin().body(Map.of("requests_per_minute", 5)).patch("/v1/admin/tenants/" + a[0]).then().statusCode(200)
                .body("requests_per_minute", equalTo(5));
        await().atMost(Duration.ofSeconds(5)).until(() -> as(a[1]).get("/v1/models").getHeader("RateLimit-Policy") != null);
        int allowed = 0;
        Response last = null;
        for (int i = 0; i < 8; i++) {
            last = as(a[1]).get("/v1/models");
            if (last.statusCode() == 200) {
                allowed++;
                assertThat(last.getHeader("RateLimit-Policy")).isEqualTo("\"tenant\";q=5;w=60");
                assertThat(last.getHeader("RateLimit")).startsWith("\"tenant\";r=");
            }
        }
        assertThat(allowed).isLessThanOrEqualTo(5);
        assertThat(last.statusCode()).isEqualTo(429);
        assertThat(last.contentType()).startsWith("application/problem+json");
        assertThat(last.jsonPath().getString("type")).endsWith("/rate-limited");
        assertThat(Integer.parseInt(last.getHeader("Retry-After"))).isBetween(1, 60);
        assertThat(metric("atelier_rate_limited_requests_total", a[0], null)).isEqualTo(8.0 - allowed);
        // null removes the limit
        admin().body(java.util.Collections.singletonMap("requests_per_minute", null)).patch("/v1/admin/tenants/" + a[0]).then().statusCode(200);
        await().atMost(Duration.ofSeconds(5)).until(() -> as(a[1]).get("/v1/models").statusCode() == 200);
    }

    @Test
    void jobsInFlightAreLimited() {
        Simulator.reset();
        Simulator.settings(0, 3000);
        String[] a = tenantWithKey("in-flight", Scopes.JOBS_WRITE, Scopes.JOBS_READ);
        admin().body(Map.of("max_jobs_in_flight", 1)).patch("/v1/admin/tenants/" + a[0]).then().statusCode(200);
        long before = Db.count();
        String first = submit(a[1], Map.of("model", "flux-schnell", "prompt", "one at a time"));
        await().atMost(Duration.ofSeconds(5)).until(() -> {
            Response r = as(a[1]).contentType(ContentType.JSON).body(Map.of("model", "flux-schnell", "prompt", "two")).post("/v1/jobs");
            return r.statusCode() == 429 && r.jsonPath().getString("type").endsWith("/too-many-jobs-in-flight");
        });
        assertThat(Db.count()).isEqualTo(before + 1);
        awaitEnd(a[1], first);
        submit(a[1], Map.of("model", "flux-schnell", "prompt", "now there is room"));
    }

    @Test
    void aBudgetStopsTheSubmitThatWouldCrossItAndADryRunQuotesWithoutSubmitting() {
        Simulator.reset();
        Simulator.settings(0, 200);
        String[] a = tenantWithKey("budget", Scopes.JOBS_WRITE, Scopes.JOBS_READ);
        Map<String, Object> oneMegapixel = Map.of("model", "flux-schnell", "prompt", "a cheap picture", "params",
                Map.of("image_size", Map.of("width", 512, "height", 512)));
        // a quote: fal's price for schnell (simulated: $0.003 per megapixel) for one megapixel; nothing submitted
        long jobsBefore = Db.count();
        Map<String, Object> dry = new java.util.HashMap<>(oneMegapixel);
        dry.put("dry_run", true);
        JsonPath quote = as(a[1]).contentType(ContentType.JSON).body(dry).post("/v1/jobs").then().statusCode(200).extract().jsonPath();
        assertThat(quote.getBoolean("dry_run")).isTrue();
        assertThat(quote.getDouble("expected_cost_usd")).isEqualTo(0.003);
        assertThat(quote.getDouble("calls[0].units")).isEqualTo(1.0);
        assertThat(Db.count()).isEqualTo(jobsBefore);
        assertThat(Simulator.submissions("fal-ai/flux/schnell")).isEmpty();

        admin().body(Map.of("budget_usd_per_day", 0.005)).patch("/v1/admin/tenants/" + a[0]).then().statusCode(200);
        await().atMost(Duration.ofSeconds(5)).until(() -> as(a[1]).contentType(ContentType.JSON).body(dry).post("/v1/jobs").jsonPath()
                .getMap("budgets") != null && !as(a[1]).contentType(ContentType.JSON).body(dry).post("/v1/jobs").jsonPath().getMap("budgets").isEmpty());
        String first = submit(a[1], oneMegapixel);
        // the first job's expected cost is reserved until it ends: a second would cross $0.005
        Response refused = as(a[1]).contentType(ContentType.JSON).body(oneMegapixel).post("/v1/jobs");
        assertThat(refused.statusCode()).isEqualTo(402);
        assertThat(refused.jsonPath().getString("type")).endsWith("budget-exceeded");
        assertThat(refused.jsonPath().getString("budget")).isEqualTo("day");
        assertThat(refused.jsonPath().getString("resets_at")).endsWith("T00:00:00Z");
        // the refused job's live view, written while its row was tried, is gone with the refusal
        assertThat(liveViews(a[0])).containsExactly(first);
        JsonPath done = awaitEnd(a[1], first);
        // spent now, not reserved: still over
        as(a[1]).contentType(ContentType.JSON).body(oneMegapixel).post("/v1/jobs").then().statusCode(402);
        // what it cost is fal's price times fal's billable units, and the ledger adds up to it
        assertThat(LedgerRows.costUsd(first, a[1])).isEqualByComparingTo("0.003").isEqualByComparingTo(LedgerRows.total(UUID.fromString(first)));
        Map<String, Object> row = LedgerRows.stage(UUID.fromString(first), "infer");
        assertThat((BigDecimal) row.get("units")).isEqualByComparingTo("1");
        assertThat((BigDecimal) row.get("unit_price")).isEqualByComparingTo("0.003");
        assertThat(row.get("fal_request_id")).isEqualTo(done.getString("fal_request_id"));
        List<Map<String, Object>> usage = as(a[1]).get("/v1/usage?group_by=day").then().statusCode(200).extract().jsonPath().getList("$");
        assertThat(usage).singleElement().satisfies(u -> assertThat(((Number) u.get("usd")).doubleValue()).isCloseTo(0.003,
                org.assertj.core.data.Offset.offset(1e-9)));
        List<Map<String, Object>> byTenant = admin().get("/v1/admin/usage?group_by=tenant").then().statusCode(200).extract().jsonPath().getList("$");
        assertThat(byTenant).anySatisfy(u -> {
            assertThat(u.get("group")).isEqualTo(a[0]);
            assertThat(((Number) u.get("usd")).doubleValue()).isCloseTo(0.003, org.assertj.core.data.Offset.offset(1e-9));
        });
        // and Prometheus sees the same books: spent today, and what is left of the day's budget
        await().atMost(Duration.ofSeconds(5)).until(() -> Double.valueOf(0.003).equals(metric("atelier_tenant_spent_usd", a[0], "day")));
        assertThat(metric("atelier_tenant_spent_usd", a[0], "month")).isEqualTo(0.003);
        assertThat(metric("atelier_tenant_budget_remaining_usd", a[0], "day")).isCloseTo(0.002, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(metric("atelier_tenant_budget_remaining_usd", a[0], "month")).as("no monthly budget, no series").isNull();
    }

    @Test
    void aTenantsSpendIsSpreadOverRowsThatAddUpToItsLedgerAndItsBudgetReadsTheSum() {
        Simulator.reset();
        Simulator.settings(0, 50);
        String[] a = tenantWithKey("spread", Scopes.JOBS_WRITE, Scopes.JOBS_READ);
        admin().body(Map.of("budget_usd_per_day", 1)).patch("/v1/admin/tenants/" + a[0]).then().statusCode(200);
        Map<String, Object> oneMegapixel = Map.of("model", "flux-schnell", "prompt", "spread spend", "params",
                Map.of("image_size", Map.of("width", 512, "height", 512)));
        List<String> ids = new java.util.ArrayList<>();
        for (int i = 0; i < 12; i++) {
            ids.add(submit(a[1], oneMegapixel));
        }
        BigDecimal ledger = BigDecimal.ZERO;
        for (String id : ids) {
            assertThat(awaitEnd(a[1], id).getString("status")).isEqualTo("succeeded");
            ledger = ledger.add(LedgerRows.total(UUID.fromString(id)));
        }
        assertThat(ledger).isEqualByComparingTo("0.036"); // fal's $0.003 a megapixel, twelve times
        // each job's end added to one of the day's rows, picked at random: twelve ends all on one of 16 rows would be a
        // one-in-17-trillion draw, so more than one row means the ends were spread
        List<Map<String, Object>> day = Db.queryAll("select shard, spent_usd from tenant_spend where tenant_id = ? and period like 'day:%'", a[0]);
        assertThat(day).hasSizeGreaterThan(1);
        assertThat(day.stream().map(r -> (BigDecimal) r.get("spent_usd")).reduce(BigDecimal.ZERO, BigDecimal::add)).isEqualByComparingTo(ledger);
        assertThat(Db.queryAll("select spent_usd from tenant_spend where tenant_id = ? and period like 'month:%'", a[0]).stream()
                .map(r -> (BigDecimal) r.get("spent_usd")).reduce(BigDecimal.ZERO, BigDecimal::add)).isEqualByComparingTo(ledger);
        // what the budget, the metrics and the books read is the sum of the rows
        await().atMost(Duration.ofSeconds(5)).until(() -> Double.valueOf(0.036).equals(metric("atelier_tenant_spent_usd", a[0], "day")));
        admin().body(Map.of("budget_usd_per_day", 0.038)).patch("/v1/admin/tenants/" + a[0]).then().statusCode(200);
        await().atMost(Duration.ofSeconds(5)).until(() -> as(a[1]).contentType(ContentType.JSON).body(oneMegapixel).post("/v1/jobs").statusCode() == 402);
        Response refused = as(a[1]).contentType(ContentType.JSON).body(oneMegapixel).post("/v1/jobs");
        assertThat(refused.jsonPath().getString("budget")).isEqualTo("day"); // $0.036 spent + $0.003 more would cross $0.038
    }

    @Test
    void aRetryIsAdmittedLikeASubmit() {
        Simulator.reset();
        Simulator.settings(0, 200);
        String[] a = tenantWithKey("retry", Scopes.JOBS_WRITE, Scopes.JOBS_READ);
        Simulator.fault(Map.of("target", "complete", "status", 422, "detail", "Image too dark", "times", 1));
        String failed = submit(a[1], Map.of("model", "flux-schnell", "prompt", "a failure to retry"));
        assertThat(awaitEnd(a[1], failed).getString("status")).isEqualTo("failed");
        assertThat(Simulator.submissions("fal-ai/flux/schnell")).hasSize(1);

        // a full house: the retry is refused like a submit would be, with Retry-After, and nothing moves or is paid
        admin().body(Map.of("max_jobs_in_flight", 1)).patch("/v1/admin/tenants/" + a[0]).then().statusCode(200);
        Simulator.settings(0, 3000);
        String busy = submit(a[1], Map.of("model", "flux-schnell", "prompt", "holding the only place"));
        Response full = as(a[1]).post("/v1/jobs/" + failed + "/retry");
        assertThat(full.statusCode()).isEqualTo(429);
        assertThat(full.jsonPath().getString("type")).endsWith("/too-many-jobs-in-flight");
        assertThat(full.getHeader("Retry-After")).isEqualTo("5");
        assertThat(Db.job(UUID.fromString(failed))).containsEntry("status", "failed").containsEntry("retries", 0);
        awaitEnd(a[1], busy);

        // no money left: a 402 naming the budget, and the job stays failed
        admin().body(Map.of("budget_usd_per_day", 0)).patch("/v1/admin/tenants/" + a[0]).then().statusCode(200);
        Response broke = as(a[1]).post("/v1/jobs/" + failed + "/retry");
        assertThat(broke.statusCode()).isEqualTo(402);
        assertThat(broke.jsonPath().getString("type")).endsWith("/budget-exceeded");
        assertThat(broke.jsonPath().getString("budget")).isEqualTo("day");
        assertThat(Db.job(UUID.fromString(failed))).containsEntry("status", "failed").containsEntry("retries", 0);
        assertThat(Simulator.submissions("fal-ai/flux/schnell")).hasSize(2);

        // room and money again: six retries at once make one retry, and fal is paid once more, not six times
        admin().body(java.util.Collections.singletonMap("budget_usd_per_day", null)).patch("/v1/admin/tenants/" + a[0]).then().statusCode(200);
        Simulator.settings(0, 200);
        List<Integer> statuses = parallel(6, i -> as(a[1]).post("/v1/jobs/" + failed + "/retry").statusCode());
        assertThat(statuses).filteredOn(c -> c == 202).hasSize(1);
        assertThat(statuses).filteredOn(c -> c != 202).allSatisfy(c -> assertThat(c).isIn(409, 429));
        assertThat(awaitEnd(a[1], failed).getString("status")).isEqualTo("succeeded");
        assertThat(Simulator.submissions("fal-ai/flux/schnell")).hasSize(3);
        assertThat(Db.job(UUID.fromString(failed))).containsEntry("retries", 1);
    }

    @Test
    void llmCallsHoldTheirExpectedCostSoParallelOnesCannotCrossABudget() {
        Simulator.reset();
        Simulator.settings(0, 3000); // every call arrives while the first one is still running
        String[] a = tenantWithKey("llm-budget", Scopes.JOBS_WRITE, Scopes.JOBS_READ);
        // fal's estimate of a typical router call here is $0.0002: room for one call, not two
        admin().body(Map.of("budget_usd_per_day", 0.0003)).patch("/v1/admin/tenants/" + a[0]).then().statusCode(200);
        List<Integer> completions = parallel(20, i -> as(a[1]).contentType(ContentType.JSON).body(Map.of("prompt", "say hello " + i))
                .post("/v1/llm/completions").statusCode());
        assertThat(completions).filteredOn(c -> c == 200).hasSize(1);
        assertThat(completions).filteredOn(c -> c == 402).hasSize(19);
        assertThat(Simulator.requests().stream().filter(r -> "/run/openrouter/router".equals(r.get("path"))).count()).isEqualTo(1);
        // its real cost, from fal's figures, is in the ledger; its hold is gone
        Map<String, Object> row = Db.queryOne("select * from ledger where tenant_id = ? and stage = 'completion'", a[0]);
        assertThat(row).isNotNull();
        assertThat((BigDecimal) row.get("usd")).isPositive();
        assertThat(row.get("fal_request_id")).isNotNull();
        assertThat(((Number) Db.queryOne("select count(*) as n from spend_holds where tenant_id = ?", a[0]).get("n")).longValue()).isZero();

        // streams hold too: five at once with room for one
        String[] b = tenantWithKey("llm-stream-budget", Scopes.JOBS_WRITE, Scopes.JOBS_READ);
        admin().body(Map.of("budget_usd_per_day", 0.0003)).patch("/v1/admin/tenants/" + b[0]).then().statusCode(200);
        List<Integer> streams = parallel(5, i -> as(b[1]).contentType(ContentType.JSON).accept("text/event-stream")
                .body(Map.of("prompt", "stream hello " + i)).post("/v1/llm/completions/stream").statusCode());
        assertThat(streams).filteredOn(c -> c == 200).hasSize(1);
        assertThat(streams).filteredOn(c -> c == 402).hasSize(4);
        Map<String, Object> streamed = Db.queryOne("select * from ledger where tenant_id = ? and stage = 'completion'", b[0]);
        assertThat((BigDecimal) streamed.get("usd")).isPositive();
        assertThat(((Number) Db.queryOne("select count(*) as n from spend_holds where tenant_id = ?", b[0]).get("n")).longValue()).isZero();
        // the held dollar is free again once the call ended: spent is what fal billed, far below the budget, so one more fits
        as(b[1]).contentType(ContentType.JSON).body(Map.of("prompt", "one more")).post("/v1/llm/completions").then().statusCode(200);
    }

    /**
     * Whether a key was refused as invalid: a 401, or, once this test class's requests from 127.0.0.1 passed the
     * profile's low failed-authentication limit, the 429 that replaces it (a valid key never gets that 429).
     */
    private static boolean refused(Response r) {
        return r.statusCode() == 401 || r.statusCode() == 429 && r.jsonPath().getString("type").endsWith("/authentication-rate-limited");
    }

    /** {@code n} calls at once, each on its own thread; their answers in order. */
    private static <T> List<T> parallel(int n, java.util.function.IntFunction<T> call) {
        var pool = java.util.concurrent.Executors.newFixedThreadPool(n);
        try {
            var start = new java.util.concurrent.CountDownLatch(1);
            List<java.util.concurrent.Future<T>> futures = new java.util.ArrayList<>();
            for (int i = 0; i < n; i++) {
                int k = i;
                futures.add(pool.submit(() -> {
                    start.await();
                    return call.apply(k);
                }));
            }
            start.countDown();
            List<T> out = new java.util.ArrayList<>();
            for (var f : futures) {
                out.add(f.get(60, java.util.concurrent.TimeUnit.SECONDS));
            }
            return out;
        } catch (Exception e) {
            throw new AssertionError(e);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void revocationIsFinalAndARotationMakesOneKey() {
        String[] a = tenantWithKey("rotate", Scopes.JOBS_READ);
        // two rotations of one live key at once: one new key, the old one revoked
        List<Integer> rotations = parallel(2, i -> admin().post("/v1/admin/keys/" + a[2] + "/rotate").statusCode());
        assertThat(rotations).containsExactlyInAnyOrder(201, 409);
        List<Map<String, Object>> keys = admin().get("/v1/admin/tenants/" + a[0] + "/keys").then().statusCode(200).extract().jsonPath().getList("$");
        assertThat(keys).hasSize(2);
        assertThat(keys).filteredOn(k -> k.get("revoked_at") == null).hasSize(1);
        String live = keys.stream().filter(k -> k.get("revoked_at") == null).map(k -> (String) k.get("id")).findFirst().orElseThrow();
        // a revoked key rotates into nothing, however often it is asked
        for (int i = 0; i < 3; i++) {
            admin().post("/v1/admin/keys/" + a[2] + "/rotate").then().statusCode(409).body("type", endsWith("/key-revoked"));
        }
        admin().delete("/v1/admin/keys/" + live).then().statusCode(204);
        admin().post("/v1/admin/keys/" + live + "/rotate").then().statusCode(409).body("type", endsWith("/key-revoked"));
        assertThat(admin().get("/v1/admin/tenants/" + a[0] + "/keys").then().extract().jsonPath().getList("revoked_at")).doesNotContainNull();
        // an expired key neither
        JsonPath soon = admin().body(Map.of("name", "short-lived", "expires_at", java.time.Instant.now().plusSeconds(1).toString()))
                .post("/v1/admin/tenants/" + a[0] + "/keys").then().statusCode(201).extract().jsonPath();
        await().atMost(Duration.ofSeconds(10)).until(() -> refused(as(soon.getString("key")).get("/v1/models")));
        admin().post("/v1/admin/keys/" + soon.getString("id") + "/rotate").then().statusCode(409).body("type", endsWith("/key-expired"));
        assertThat(admin().get("/v1/admin/tenants/" + a[0] + "/keys").then().extract().jsonPath().getList("id")).hasSize(3);
        admin().post("/v1/admin/keys/" + UUID.randomUUID() + "/rotate").then().statusCode(404);
    }

    @Test
    void adminInputsThatCannotBeStoredAreRefusedNotFailed() {
        String[] a = tenantWithKey("inputs", Scopes.JOBS_READ);
        String keys = "/v1/admin/tenants/" + a[0] + "/keys";
        admin().body("{\"name\": \"k\", \"scopes\": [null]}").post(keys).then().statusCode(422).body("type", endsWith("/invalid-scope"))
                .body("field", equalTo("scopes"));
        admin().body(Map.of("name", "k", "scopes", List.of())).post(keys).then().statusCode(422).body("type", endsWith("/invalid-scope"));
        admin().body(Map.of("name", "k", "expires_at", "+1000000000-01-01T00:00:00Z")).post(keys).then().statusCode(422)
                .body("type", endsWith("/invalid-expiry"));
        // without scopes a key reads and writes jobs, as documented
        admin().body(Map.of("name", "k")).post(keys).then().statusCode(201).body("scopes", org.hamcrest.Matchers.containsInAnyOrder("jobs:read", "jobs:write"));

        // names: unique without regard to case, never another tenant's id or the anonymous tenant's
        String name = "Case-" + UUID.randomUUID().toString().substring(0, 8);
        String first = admin().body(Map.of("name", name)).post("/v1/admin/tenants").then().statusCode(201).extract().path("id");
        admin().body(Map.of("name", name.toLowerCase())).post("/v1/admin/tenants").then().statusCode(409).body("type", endsWith("/tenant-exists"));
        admin().body(Map.of("name", a[0])).post("/v1/admin/tenants").then().statusCode(422).body("type", endsWith("/invalid-name"));
        admin().body(Map.of("name", name.toUpperCase())).patch("/v1/admin/tenants/" + a[0]).then().statusCode(409)
                .body("type", endsWith("/tenant-exists"));
        admin().body(Map.of("name", name + "-renamed")).patch("/v1/admin/tenants/" + first).then().statusCode(200)
                .body("name", equalTo(name + "-renamed"));

        // budgets are kept to a hundredth of a cent: what is stored is what is answered, or the request is refused
        admin().body(Map.of("budget_usd_per_day", 1e-30)).patch("/v1/admin/tenants/" + a[0]).then().statusCode(422)
                .body("type", endsWith("/invalid-limit")).body("field", equalTo("budget_usd_per_day"));
        admin().body(Map.of("budget_usd_per_day", 12.34567)).patch("/v1/admin/tenants/" + a[0]).then().statusCode(422);
        admin().body(Map.of("budget_usd_per_day", 12.3456)).patch("/v1/admin/tenants/" + a[0]).then().statusCode(200)
                .body("budget_usd_per_day", equalTo(12.3456f));
        assertThat((BigDecimal) Db.queryOne("select budget_usd_per_day from tenants where id = ?", a[0]).get("budget_usd_per_day"))
                .isEqualByComparingTo("12.3456");
        assertThat(admin().get("/v1/admin/tenants/" + a[0]).then().statusCode(200).extract().jsonPath().getDouble("budget_usd_per_day"))
                .isEqualTo(12.3456);
    }

    /** One series' value from /q/metrics on the management port (Prometheus text), or null when the series is absent. */
    private static Double metric(String name, String tenant, String period) {
        String text = Management.metrics();
        for (String line : text.split("\n")) {
            if (line.startsWith(name + "{") && line.contains("tenant=\"" + tenant + "\"")
                    && (period == null || line.contains("period=\"" + period + "\""))) {
                // a counter may carry an exemplar after " # " (the trace it was last counted in)
                String sample = line.split(" # ", 2)[0];
                return Double.valueOf(sample.substring(sample.lastIndexOf(' ') + 1));
            }
        }
        return null;
    }

    @Test
    void aPriceFalChangesIsWhatTheNextCallCosts() {
        Simulator.reset();
        Simulator.settings(0, 100);
        String[] a = tenantWithKey("repriced", Scopes.JOBS_WRITE, Scopes.JOBS_READ);
        given().baseUri(Simulator.url()).contentType(ContentType.JSON).body(Map.of("fal-ai/flux/schnell", Map.of("unit_price", 0.005)))
                .put("/_sim/pricing").then().statusCode(200);
        Map<String, Object> oneMegapixel = Map.of("model", "flux-schnell", "prompt", "repriced", "params",
                Map.of("image_size", Map.of("width", 512, "height", 512)));
        // prices are read again every second here (atelier.fal.pricing-refresh): the quote follows fal's new price
        Map<String, Object> dry = new java.util.HashMap<>(oneMegapixel);
        dry.put("dry_run", true);
        await().atMost(Duration.ofSeconds(10)).until(() -> as(a[1]).contentType(ContentType.JSON).body(dry).post("/v1/jobs").jsonPath()
                .getDouble("expected_cost_usd") == 0.005);
        String id = submit(a[1], oneMegapixel);
        assertThat(awaitEnd(a[1], id).getDouble("cost_usd")).isEqualTo(0.005);
        assertThat((BigDecimal) LedgerRows.stage(UUID.fromString(id), "infer").get("unit_price")).isEqualByComparingTo("0.005");
        Simulator.reset();
    }

    @Test
    void aValidKeyGetsThroughFromAnAddressOverTheFailedKeyLimit() throws Exception {
        // from a loopback address of its own, so the block does not reach the other tests' requests
        int failures = 0;
        String last = "";
        for (int i = 0; i < 8; i++) {
            last = rawGet("127.0.0.7", "/v1/models", "Bearer atl_guess_" + i);
            if (last.startsWith("HTTP/1.1 401")) {
                failures++;
            }
        }
        assertThat(failures).isEqualTo(5);
        assertThat(last).startsWith("HTTP/1.1 429").contains("authentication-rate-limited").contains("Retry-After");
        // guessing stays slowed down, but a right key from that address is served: a tenant's and the operator's
        String[] a = tenantWithKey("guessed", Scopes.JOBS_READ);
        assertThat(rawGet("127.0.0.7", "/v1/models", "Bearer " + a[1])).startsWith("HTTP/1.1 200");
        assertThat(rawGet("127.0.0.7", "/v1/admin/tenants/" + a[0], "Bearer " + ADMIN)).startsWith("HTTP/1.1 200").contains(a[0]);
        assertThat(rawGet("127.0.0.7", "/v1/models", "Bearer atl_guess_again")).startsWith("HTTP/1.1 429");
        assertThat(rawGet("127.0.0.7", "/v1/models", null)).as("no key at all is a failure too").startsWith("HTTP/1.1 429");
        as(a[1]).get("/v1/models").then().statusCode(200);
    }

    @Test
    void behindATrustedProxyOnlyTheClientItReportsIsLimited() throws Exception {
        // 127.0.0.9 is the profile's trusted proxy; it appends the address it saw, as ingresses do
        String proxy = "127.0.0.9";
        for (int i = 0; i < 5; i++) {
            assertThat(rawGet(proxy, "/v1/models", "Bearer atl_wrong_" + i, "X-Forwarded-For: 198.51.100.1, 203.0.113.5"))
                    .startsWith("HTTP/1.1 401");
        }
        assertThat(rawGet(proxy, "/v1/models", "Bearer atl_wrong", "X-Forwarded-For: 203.0.113.5")).startsWith("HTTP/1.1 429");
        // the right-most address the proxy did not add is the client: a forged entry to its left changes nothing
        assertThat(rawGet(proxy, "/v1/models", "Bearer atl_wrong", "X-Forwarded-For: 203.0.113.77, 203.0.113.5")).startsWith("HTTP/1.1 429");
        assertThat(rawGet(proxy, "/v1/models", "Bearer atl_wrong", "Forwarded: for=203.0.113.5")).as("RFC 7239 too").startsWith("HTTP/1.1 429");
        // other clients behind the same proxy are not affected, nor is one who forges the blocked address on the left
        assertThat(rawGet(proxy, "/v1/models", "Bearer atl_wrong", "X-Forwarded-For: 203.0.113.6")).startsWith("HTTP/1.1 401");
        assertThat(rawGet(proxy, "/v1/models", "Bearer atl_wrong", "X-Forwarded-For: 203.0.113.5, 203.0.113.8")).startsWith("HTTP/1.1 401");
        // a connection that is not from a trusted proxy cannot name a client: its failures are its own
        for (int i = 0; i < 5; i++) {
            assertThat(rawGet("127.0.0.8", "/v1/models", "Bearer atl_spoof_" + i, "X-Forwarded-For: 203.0.113.6")).startsWith("HTTP/1.1 401");
        }
        assertThat(rawGet("127.0.0.8", "/v1/models", "Bearer atl_spoof", "X-Forwarded-For: 203.0.113.6")).startsWith("HTTP/1.1 429");
        assertThat(rawGet(proxy, "/v1/models", "Bearer atl_wrong", "X-Forwarded-For: 203.0.113.6"))
                .as("203.0.113.6 has two failures of its own, not the spoofer's").startsWith("HTTP/1.1 401");
        // and the blocked client's valid key goes through the proxy
        String[] a = tenantWithKey("proxied", Scopes.JOBS_READ);
        assertThat(rawGet(proxy, "/v1/models", "Bearer " + a[1], "X-Forwarded-For: 203.0.113.5")).startsWith("HTTP/1.1 200");
    }

    /** One HTTP/1.1 request from a chosen local address, with an Authorization header (unless null) and more headers. */
    private String rawGet(String from, String path, String authorization, String... headers) throws Exception {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(from, 0));
            s.connect(new InetSocketAddress("127.0.0.1", base.getPort()), 2000);
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            StringBuilder request = new StringBuilder("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n");
            if (authorization != null) {
                request.append("Authorization: ").append(authorization).append("\r\n");
            }
            for (String h : headers) {
                request.append(h).append("\r\n");
            }
            out.write(request.append("Connection: close\r\n\r\n").toString().getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
