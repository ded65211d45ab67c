package ai.atelier.cache;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.endsWith;

import java.math.BigDecimal;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpServer;

import ai.atelier.models.ModelCatalog;
import ai.atelier.models.ModelStrategy;
import ai.atelier.support.Db;
import ai.atelier.support.Images;
import ai.atelier.support.Jobs;
import ai.atelier.support.LedgerRows;
import ai.atelier.support.Management;
import ai.atelier.support.Simulator;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import software.amazon.awssdk.services.s3.S3AsyncClient;

/**
 * The result cache through the real HTTP API, PostgreSQL, S3 and the fal simulator: a seeded request repeated is served from
 * the stored result (no fal call, its own copy of the bytes, a $0 ledger row with what it saved), and everything that must
 * not be served is not: another seed, no seed, another tenant, bypass, refresh, a failure, a tenant with the cache off, a
 * dropped cache. The test profile turns the cache off by default; each test's tenant turns it on through the admin API.
 */
@QuarkusTest
class ResultCacheTest {

    static final String ADMIN = "atl_test_admin_key";
    static final String SCHNELL = "fal-ai/flux/schnell";
    static final String I2I = "fal-ai/flux-general/image-to-image";
    static final String BRIA = "fal-ai/bria/background/replace";

    @Inject
    S3AsyncClient s3;

    @Inject
    ModelCatalog catalog;

    @BeforeEach
    void reset() {
        Simulator.reset();
        Simulator.settings(0, 30);
    }

    // ---- helpers ------------------------------------------------------------------------------------------

    static RequestSpecification admin() {
        return given().header("Authorization", "Bearer " + ADMIN).contentType(ContentType.JSON);
    }

    /** A new tenant with its result cache on, and a key: (tenant id, key). */
    static String[] tenant() {
        String id = admin().body(Map.of("name", "cache-" + UUID.randomUUID().toString().substring(0, 8))).post("/v1/admin/tenants")
                .then().statusCode(201).extract().path("id");
        admin().body(Map.of("cache_enabled", true)).patch("/v1/admin/tenants/" + id).then().statusCode(200)
                .body("cache_enabled", org.hamcrest.Matchers.equalTo(true));
        String key = admin().body(Map.of("name", "ci")).post("/v1/admin/tenants/" + id + "/keys").then().statusCode(201).extract().path("key");
        return new String[] { id, key };
    }

    static RequestSpecification as(String[] tenant) {
        return given().header("Authorization", "Bearer " + tenant[1]).contentType(ContentType.JSON);
    }

    static Response submit(String[] tenant, Map<String, Object> body) {
        return as(tenant).body(body).post("/v1/jobs").then().log().ifValidationFails().statusCode(202).extract().response();
    }

    static JsonPath done(String[] tenant, Response submitted) {
        JsonPath job = Jobs.awaitTerminal(submitted.path("id"), tenant[1]);
        assertThat(job.getString("status")).as("job %s", (Object) submitted.path("id")).isEqualTo("succeeded");
        return job;
    }

    static Map<String, Object> schnell(String prompt, Object seed) {
        Map<String, Object> params = new HashMap<>(Map.of("image_size", Map.of("width", 256, "height", 256)));
        if (seed != null) {
            params.put("seed", seed);
        }
        return new HashMap<>(Map.of("model", "flux-schnell", "prompt", prompt, "params", params));
    }

    static String unique(String what) {
        return what + " " + UUID.randomUUID();
    }

    static List<Map<String, Object>> sent(String endpoint, String prompt) {
        return Simulator.submissions(endpoint).stream().filter(b -> prompt.equals(b.get("prompt"))).toList();
    }

    byte[] output(JsonPath job, int i) {
        return ai.atelier.support.Objects.bytes(s3, job.getString("outputs[" + i + "].key"));
    }

    static Map<String, Object> inferRow(String jobId) {
        return LedgerRows.of(UUID.fromString(jobId)).stream().filter(r -> "infer".equals(r.get("stage"))).findFirst().orElseThrow();
    }

    static long entries(String tenant) {
        return ((Number) Db.queryOne("select count(*) as n from result_cache where tenant_id = ?", tenant).get("n")).longValue();
    }

    // ---- hit, miss, bypass, refresh --------------------------------------------------------------------------

    @Test
    void aSeededRepeatIsServedFromTheStoredResultWithoutPayingFal() {
        String[] t = tenant();
        String prompt = unique("a red bicycle");
        Response first = submit(t, schnell(prompt, 42));
        assertThat(first.header("Atelier-Cache")).isEqualTo("miss");
        JsonPath one = done(t, first);
        assertThat(one.getString("cache")).isEqualTo("miss");
        assertThat(sent(SCHNELL, prompt)).hasSize(1);
        BigDecimal paid = (BigDecimal) inferRow(one.getString("id")).get("usd");
        assertThat(paid).isPositive();

        // the stored result is known at submit (a template prompt, one call): the answer says hit
        Response second = submit(t, schnell(prompt, 42));
        assertThat(second.header("Atelier-Cache")).isEqualTo("hit");
        JsonPath two = done(t, second);
        assertThat(two.getString("cache")).isEqualTo("hit");
        assertThat(two.getString("stages.infer.cache")).isEqualTo("hit");
        // no second call at fal
        assertThat(sent(SCHNELL, prompt)).hasSize(1);
        // its own copy of the same bytes, under its own key
        assertThat(two.getString("outputs[0].key")).contains("/jobs/" + two.getString("id") + "/outputs/").isNotEqualTo(one.getString("outputs[0].key"));
        assertThat(output(two, 0)).isEqualTo(output(one, 0));
        given().urlEncodingEnabled(false).get(two.getString("outputs[0].url")).then().statusCode(200);
        // a $0 ledger row that says what it saved: what fal charged the original call
        Map<String, Object> row = inferRow(two.getString("id"));
        assertThat((BigDecimal) row.get("usd")).isZero();
        assertThat((BigDecimal) row.get("saved_usd")).isEqualByComparingTo(paid);
        assertThat(row.get("fal_request_id")).isNull();
        assertThat(two.getString("cost_usd")).isIn(null, "0.0", "0");

        // the discarded original does not take the copy with it: the copy is the second job's own object
        ai.atelier.support.Objects.bytes(s3, two.getString("outputs[0].key"));
        // usage shows what the cache saved
        JsonPath usage = as(t).get("/v1/usage?group_by=model").then().statusCode(200).extract().jsonPath();
        assertThat(new BigDecimal(usage.getString("find { it.group == 'flux-schnell' }.saved_usd"))).isEqualByComparingTo(paid);
        assertThat(usage.getInt("find { it.group == 'flux-schnell' }.cache_hits")).isEqualTo(1);
        // metrics: hits and misses by model, and what hits saved
        String metrics = Management.metrics();
        assertThat(metrics).containsPattern("atelier_cache_lookups_total\\{[^}]*model=\"flux-schnell\"[^}]*result=\"hit\"[^}]*} [1-9]");
        assertThat(metrics).containsPattern("atelier_cache_lookups_total\\{[^}]*model=\"flux-schnell\"[^}]*result=\"miss\"[^}]*} [1-9]");
        assertThat(metrics).containsPattern("atelier_cache_saved_usd_total\\{[^}]*model=\"flux-schnell\"[^}]*} 0\\.0*[1-9]");
    }

    @Test
    void aBatchItemIsServedFromTheCacheLikeAJob() {
        String[] t = tenant();
        String prompt = unique("a folded linen shirt");
        JsonPath original = done(t, submit(t, schnell(prompt, 7)));
        BigDecimal paid = (BigDecimal) inferRow(original.getString("id")).get("usd");

        // the same seeded request as a batch item, beside one with another seed
        Map<String, Object> same = schnell(prompt, 7);
        same.put("custom_id", "same");
        Map<String, Object> other = schnell(prompt, 8);
        other.put("custom_id", "other");
        String batch = as(t).body(Map.of("requests", List.of(same, other))).post("/v1/batches").then().statusCode(202).extract().path("id");
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(
                () -> "completed".equals(as(t).get("/v1/batches/" + batch).then().statusCode(200).extract().path("status")));
        JsonPath items = as(t).get("/v1/batches/" + batch + "/jobs").then().statusCode(200).extract().jsonPath();
        JsonPath hit = Jobs.awaitTerminal(items.getString("items.find { it.custom_id == 'same' }.id"), t[1]);
        JsonPath miss = Jobs.awaitTerminal(items.getString("items.find { it.custom_id == 'other' }.id"), t[1]);
        assertThat(hit.getString("cache")).isEqualTo("hit");
        assertThat(miss.getString("cache")).isEqualTo("miss");
        // fal saw the original and the other seed, never the item served from the cache
        assertThat(sent(SCHNELL, prompt)).extracting(b -> String.valueOf(b.get("seed"))).containsExactlyInAnyOrder("7", "8");
        assertThat(output(hit, 0)).isEqualTo(output(original, 0));
        Map<String, Object> row = inferRow(hit.getString("id"));
        assertThat((BigDecimal) row.get("usd")).isZero();
        assertThat((BigDecimal) row.get("saved_usd")).isEqualByComparingTo(paid);
    }

    @Test
    void anotherSeedIsAMissAndNoSeedIsNeverCached() {
        String[] t = tenant();
        String prompt = unique("a green kite");
        done(t, submit(t, schnell(prompt, 1)));
        Response other = submit(t, schnell(prompt, 2));
        assertThat(other.header("Atelier-Cache")).isEqualTo("miss");
        assertThat(done(t, other).getString("cache")).isEqualTo("miss");
        assertThat(sent(SCHNELL, prompt)).hasSize(2);

        String unseeded = unique("an unseeded kite");
        Response a = submit(t, schnell(unseeded, null));
        Response b = submit(t, schnell(unseeded, null));
        assertThat(a.header("Atelier-Cache")).isEqualTo("bypass");
        assertThat(b.header("Atelier-Cache")).isEqualTo("bypass");
        assertThat(done(t, a).getString("cache")).isEqualTo("bypass");
        assertThat(done(t, b).getString("cache")).isEqualTo("bypass");
        assertThat(sent(SCHNELL, unseeded)).hasSize(2);
        assertThat(entries(t[0])).isEqualTo(2); // the two seeded ones
    }

    @Test
    void bypassCallsFalAndLeavesTheEntryAlone() {
        String[] t = tenant();
        String prompt = unique("a blue boat");
        done(t, submit(t, schnell(prompt, 7)));
        Map<String, Object> before = Db.queryOne("select key, ready_at, files::text as files from result_cache where tenant_id = ?", t[0]);

        Map<String, Object> body = schnell(prompt, 7);
        body.put("cache", Map.of("mode", "bypass"));
        Response bypassed = submit(t, body);
        assertThat(bypassed.header("Atelier-Cache")).isEqualTo("bypass");
        assertThat(done(t, bypassed).getString("cache")).isEqualTo("bypass");
        assertThat(sent(SCHNELL, prompt)).hasSize(2);
        assertThat(Db.queryOne("select key, ready_at, files::text as files from result_cache where tenant_id = ?", t[0])).isEqualTo(before);
    }

    @Test
    void refreshCallsFalAndReplacesTheEntry() {
        String[] t = tenant();
        String prompt = unique("a yellow tram");
        JsonPath first = done(t, submit(t, schnell(prompt, 9)));
        Map<String, Object> before = Db.queryOne("select ready_at, files::text as files from result_cache where tenant_id = ?", t[0]);
        assertThat((String) before.get("files")).contains(first.getString("id"));

        Map<String, Object> body = schnell(prompt, 9);
        body.put("cache", Map.of("mode", "refresh"));
        Response refreshed = submit(t, body);
        assertThat(refreshed.header("Atelier-Cache")).isEqualTo("refresh");
        JsonPath second = done(t, refreshed);
        assertThat(second.getString("cache")).isEqualTo("refresh");
        assertThat(sent(SCHNELL, prompt)).hasSize(2);
        Map<String, Object> after = Db.queryOne("select ready_at, files::text as files from result_cache where tenant_id = ?", t[0]);
        assertThat((String) after.get("files")).contains(second.getString("id")).doesNotContain(first.getString("id"));
        assertThat(((java.sql.Timestamp) after.get("ready_at")).toInstant()).isAfter(((java.sql.Timestamp) before.get("ready_at")).toInstant());
        // the replaced result's files are gone from the cache's prefix; the new ones are there
        String oldKey = new JsonArray((String) before.get("files")).getJsonObject(0).getString("key");
        assertThat(ai.atelier.support.Objects.count(s3, oldKey)).isZero();
        String newKey = new JsonArray((String) after.get("files")).getJsonObject(0).getString("key");
        assertThat(ai.atelier.support.Objects.bytes(s3, newKey)).isEqualTo(output(second, 0));
        // and the next use is served from the new one
        Response third = submit(t, schnell(prompt, 9));
        assertThat(third.header("Atelier-Cache")).isEqualTo("hit");
        assertThat(output(done(t, third), 0)).isEqualTo(output(second, 0));
    }

    @Test
    void anEntryOlderThanTheAskedMaxAgeIsNotServed() {
        String[] t = tenant();
        String prompt = unique("an old lighthouse");
        done(t, submit(t, schnell(prompt, 3)));
        Db.execute("update result_cache set ready_at = now() - interval '2 hours' where tenant_id = ?", t[0]);
        Map<String, Object> body = schnell(prompt, 3);
        body.put("cache", Map.of("max_age", "1h"));
        Response fresh = submit(t, body);
        assertThat(fresh.header("Atelier-Cache")).isEqualTo("miss");
        done(t, fresh);
        assertThat(sent(SCHNELL, prompt)).hasSize(2);
        // an ISO-8601 age that covers it is served
        body.put("cache", Map.of("max_age", "PT3H"));
        assertThat(submit(t, body).header("Atelier-Cache")).isEqualTo("hit");
    }

    @Inject
    ai.atelier.cache.CacheSweeper sweeper;

    @Test
    void entriesPastTheRetentionAreSweptWithTheirFiles() {
        String[] old = tenant();
        String[] fresh = tenant();
        String prompt = unique("a forgotten umbrella");
        done(old, submit(old, schnell(prompt, 9)));
        done(fresh, submit(fresh, schnell(prompt, 9)));
        String oldFile = new JsonArray(String.valueOf(Db.queryOne("select files::text as f from result_cache where tenant_id = ?", old[0]).get("f")))
                .getJsonObject(0).getString("key");
        // filled 31 days ago: past the 30-day retention
        Db.execute("update result_cache set ready_at = now() - interval '31 days' where tenant_id = ?", old[0]);
        assertThat(sweeper.sweep().await().atMost(java.time.Duration.ofSeconds(30))).isGreaterThanOrEqualTo(1);
        assertThat(entries(old[0])).isZero();
        assertThat(ai.atelier.support.Objects.count(s3, oldFile)).isZero();
        // a fresh entry stays, and is still served
        assertThat(entries(fresh[0])).isEqualTo(1);
        assertThat(submit(fresh, schnell(prompt, 9)).header("Atelier-Cache")).isEqualTo("hit");
        // the swept one is asked of fal again
        assertThat(submit(old, schnell(prompt, 9)).header("Atelier-Cache")).isEqualTo("miss");
    }

    @Test
    void badCacheSettingsAreRefusedWithAProblem() {
        String[] t = tenant();
        Map<String, Object> body = schnell("x", 1);
        body.put("cache", Map.of("mode", "sometimes"));
        as(t).body(body).post("/v1/jobs").then().statusCode(422).contentType("application/problem+json")
                .body("type", endsWith("/invalid-cache")).body("field", org.hamcrest.Matchers.equalTo("cache.mode"));
        body.put("cache", Map.of("max_age", "a week"));
        as(t).body(body).post("/v1/jobs").then().statusCode(422).body("type", endsWith("/invalid-cache"))
                .body("field", org.hamcrest.Matchers.equalTo("cache.max_age"));
        given().header("Authorization", "Bearer " + t[1]).multiPart("model", "flux-schnell").multiPart("prompt", "x")
                .multiPart("cache", "{\"mode\": \"often\"}").post("/v1/jobs").then().statusCode(422).body("type", endsWith("/invalid-cache"));
        admin().body(Map.of("cache_max_age", "forever")).patch("/v1/admin/tenants/" + t[0]).then().statusCode(422)
                .body("type", endsWith("/invalid-cache"));
        assertThat(Db.count("tenant = '" + t[0] + "'")).isZero();
    }

    @Test
    void multipartTakesTheCacheFieldToo() {
        String[] t = tenant();
        String prompt = unique("a multipart vase");
        byte[] photo = Images.png(300, 260);
        Response first = given().header("Authorization", "Bearer " + t[1]).multiPart("model", "flux-general-i2i").multiPart("prompt", prompt)
                .multiPart("params", "{\"seed\": 11}").multiPart("image", "p.png", photo, "image/png").post("/v1/jobs").then().statusCode(202)
                .extract().response();
        assertThat(first.header("Atelier-Cache")).isEqualTo("miss");
        done(t, first);
        Response bypassed = given().header("Authorization", "Bearer " + t[1]).multiPart("model", "flux-general-i2i").multiPart("prompt", prompt)
                .multiPart("params", "{\"seed\": 11}").multiPart("cache", "bypass").multiPart("image", "p.png", photo, "image/png").post("/v1/jobs")
                .then().statusCode(202).extract().response();
        assertThat(bypassed.header("Atelier-Cache")).isEqualTo("bypass");
        done(t, bypassed);
        assertThat(sent(I2I, prompt)).hasSize(2);
    }

    // ---- the key -----------------------------------------------------------------------------------------------

    @Test
    void theKeyIsThePayloadFalReceivedSoALockedParameterChangeIsAMiss() {
        String[] t = tenant();
        String prompt = unique("a locked teapot");
        done(t, submit(t, schnell(prompt, 5)));
        Map<String, Object> received = sent(SCHNELL, prompt).get(0);
        String stored = (String) Db.queryOne("select key from result_cache where tenant_id = ?", t[0]).get("key");
        // the entry's key is exactly the body fal received (locked values and all), under this tenant and endpoint
        assertThat(received).containsEntry("num_inference_steps", 7);
        assertThat(CacheKey.of(t[0], SCHNELL, new JsonObject(received), Map.of())).isEqualTo(stored);
        // a release that locks another value sends another body: another key, which is no entry
        JsonObject relocked = new JsonObject(received).put("num_inference_steps", 8);
        String other = CacheKey.of(t[0], SCHNELL, relocked, Map.of());
        assertThat(other).isNotEqualTo(stored);
        assertThat(((Number) Db.queryOne("select count(*) as n from result_cache where key = ?", other).get("n")).longValue()).isZero();
        // and the same body for another tenant is another key too
        assertThat(CacheKey.of("ten_other", SCHNELL, new JsonObject(received), Map.of())).isNotEqualTo(stored);
    }

    @Test
    void theSamePictureUnderAnotherUrlIsAHit() throws Exception {
        String[] t = tenant();
        String prompt = unique("a vase on marble");
        byte[] photo = Images.png(320, 280);
        Map<String, Object> body = new HashMap<>(Map.of("model", "flux-general-i2i", "prompt", prompt, "image_url", Images.dataUrl(photo),
                "params", Map.of("seed", 21)));
        JsonPath first = done(t, submit(t, body));
        assertThat(first.getString("cache")).isEqualTo("miss");

        HttpServer server = HttpServer.create(new InetSocketAddress("localhost", 0), 0);
        server.createContext("/photo.png", exchange -> {
            exchange.getResponseHeaders().add("Content-Type", "image/png");
            exchange.sendResponseHeaders(200, photo.length);
            exchange.getResponseBody().write(photo);
            exchange.close();
        });
        server.start();
        try {
            body.put("image_url", "http://localhost:" + server.getAddress().getPort() + "/photo.png");
            Response second = submit(t, body);
            assertThat(second.header("Atelier-Cache")).isEqualTo("hit");
            JsonPath two = done(t, second);
            assertThat(two.getString("cache")).isEqualTo("hit");
            assertThat(output(two, 0)).isEqualTo(output(first, 0));
        } finally {
            server.stop(0);
        }
        assertThat(sent(I2I, prompt)).hasSize(1);
        // the input's content hash is on the job's row
        String inputs = String.valueOf(Db.job(UUID.fromString(first.getString("id"))).get("inputs"));
        assertThat(inputs).contains(CacheKey.sha256(ai.atelier.support.Objects.bytes(s3, first.getString("inputs[0].key"))));
        // another picture is another key
        body.put("image_url", Images.dataUrl(Images.png(321, 280)));
        assertThat(submit(t, body).header("Atelier-Cache")).isEqualTo("miss");
    }

    @Test
    void anotherTenantsIdenticalRequestIsAMiss() {
        String[] a = tenant();
        String[] b = tenant();
        String prompt = unique("a shared idea");
        done(a, submit(a, schnell(prompt, 4)));
        Response other = submit(b, schnell(prompt, 4));
        assertThat(other.header("Atelier-Cache")).isEqualTo("miss");
        assertThat(done(b, other).getString("cache")).isEqualTo("miss");
        assertThat(sent(SCHNELL, prompt)).hasSize(2);
    }

    @Test
    void aSeededVideoIsServedFromTheCacheToo() {
        String[] t = tenant();
        String prompt = unique("a teapot turns slowly");
        Map<String, Object> body = Map.of("model", "veo-3.1-fast", "prompt", prompt, "params", Map.of("duration", "4s", "seed", 3));
        JsonPath first = done(t, submit(t, body));
        assertThat(first.getString("cache")).isEqualTo("miss");
        Response again = submit(t, body);
        assertThat(again.header("Atelier-Cache")).isEqualTo("hit");
        JsonPath second = done(t, again);
        assertThat(second.getString("cache")).isEqualTo("hit");
        assertThat(second.getString("outputs[0].content_type")).isEqualTo("video/mp4");
        assertThat(output(second, 0)).isEqualTo(output(first, 0));
        assertThat(sent("fal-ai/veo3.1/fast", prompt)).hasSize(1);
    }

    @Test
    void aPlanOfChainedCallsIsNotCached() {
        String[] t = tenant();
        String prompt = unique("a chair from every side");
        Map<String, Object> body = Map.of("model", "qwen-multi-angle-t2i", "prompt", prompt, "params", Map.of("seed", 4));
        Response first = submit(t, body);
        assertThat(first.header("Atelier-Cache")).isEqualTo("bypass");
        assertThat(done(t, first).getString("cache")).isEqualTo("bypass");
        assertThat(done(t, submit(t, body)).getString("cache")).isEqualTo("bypass");
        assertThat(sent(SCHNELL, prompt)).hasSize(2);
        assertThat(entries(t[0])).isZero();
    }

    // ---- product shoots ------------------------------------------------------------------------------------------

    @Test
    void aProductShootsStylesAreServedFromTheCache() {
        String[] t = tenant();
        byte[] photo = Images.png(300, 262);
        Map<String, Object> body = Map.of("image_url", Images.dataUrl(photo), "params", Map.of("seed", 5));
        Response first = as(t).body(body).post("/v1/product-shoots").then().statusCode(202).extract().response();
        // the styles' prompts come from the categories: the answer cannot know; the job tells
        assertThat(first.header("Atelier-Cache")).isEqualTo("miss");
        JsonPath one = done(t, first);
        assertThat(one.getString("cache")).isEqualTo("miss");
        int calls = Simulator.submissions(BRIA).size();
        assertThat(calls).isEqualTo(3);

        Response second = as(t).body(body).post("/v1/product-shoots").then().statusCode(202).extract().response();
        JsonPath two = done(t, second);
        assertThat(two.getString("cache")).isEqualTo("hit");
        assertThat(two.getInt("shoot.total_generated")).isEqualTo(3);
        assertThat(Simulator.submissions(BRIA)).hasSize(3); // no style went to fal again
        for (int i = 0; i < 3; i++) {
            assertThat(ai.atelier.support.Objects.bytes(s3, two.getString("shoot.styles[" + i + "].output.key")))
                    .isEqualTo(ai.atelier.support.Objects.bytes(s3, one.getString("shoot.styles[" + i + "].output.key")));
        }
        List<Map<String, Object>> rows = LedgerRows.of(UUID.fromString(two.getString("id"))).stream().filter(r -> "shoot".equals(r.get("stage")))
                .toList();
        assertThat(rows).hasSize(3).allSatisfy(r -> {
            assertThat((BigDecimal) r.get("usd")).isZero();
            assertThat((BigDecimal) r.get("saved_usd")).isPositive();
        });
        // the upload form takes the same setting: the same photo and seed uploaded with cache=bypass goes to fal again
        JsonPath bypassed = done(t, given().header("Authorization", "Bearer " + t[1]).multiPart("params", "{\"seed\": 5}").multiPart("cache", "bypass")
                .multiPart("image", "p.png", photo, "image/png").post("/v1/product-shoots").then().statusCode(202).extract().response());
        assertThat(bypassed.getString("cache")).isEqualTo("bypass");
        assertThat(Simulator.submissions(BRIA)).hasSize(6);
        // and without it, the upload is served like the JSON request
        JsonPath served = done(t, given().header("Authorization", "Bearer " + t[1]).multiPart("params", "{\"seed\": 5}")
                .multiPart("image", "p.png", photo, "image/png").post("/v1/product-shoots").then().statusCode(202).extract().response());
        assertThat(served.getString("cache")).isEqualTo("hit");
        assertThat(Simulator.submissions(BRIA)).hasSize(6);
    }

    @Test
    void theSeedRoutesGoThroughTheSameCache() {
        String[] t = tenant();
        String prompt = unique("a legacy lighthouse");
        Map<String, Object> body = Map.of("prompt", prompt, "seed", 13);
        String first = as(t).body(body).post("/api/flux/t2i").then().statusCode(200).extract().path("session_id");
        done(t, as(t).get("/v1/jobs/" + first).then().extract().response());
        String second = as(t).body(body).post("/api/flux/t2i").then().statusCode(200).extract().path("session_id");
        JsonPath job = Jobs.awaitTerminal(second, t[1]);
        assertThat(job.getString("status")).isEqualTo("succeeded");
        assertThat(job.getString("cache")).isEqualTo("hit");
        assertThat(sent(SCHNELL, prompt)).hasSize(1);
    }

    // ---- single flight --------------------------------------------------------------------------------------------

    @Test
    void concurrentIdenticalRequestsShareOneFalCall() {
        String[] t = tenant();
        String prompt = unique("a crowd of identical requests");
        Simulator.settings(0, 1500);
        List<CompletableFuture<Response>> submits = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            submits.add(CompletableFuture.supplyAsync(() -> submit(t, schnell(prompt, 77))));
        }
        List<JsonPath> jobs = submits.stream().map(CompletableFuture::join).map(r -> done(t, r)).toList();
        assertThat(sent(SCHNELL, prompt)).hasSize(1);
        assertThat(jobs.stream().filter(j -> "miss".equals(j.getString("cache")))).hasSize(1);
        assertThat(jobs.stream().filter(j -> "hit".equals(j.getString("cache")))).hasSize(4);
        byte[] bytes = output(jobs.get(0), 0);
        jobs.forEach(j -> assertThat(output(j, 0)).isEqualTo(bytes));
    }

    /** The payload flux-schnell sends for this prompt and seed, as the run builds it (the model's own plan). */
    JsonObject schnellPayload(String prompt, int seed) {
        ModelStrategy model = catalog.find("flux-schnell").orElseThrow();
        Map<String, Object> params = model.effectiveParams(Map.of("seed", seed, "image_size", Map.of("width", 256, "height", 256)), 0);
        return model.plan(prompt, params, 0).get(0).payload().apply(List.of());
    }

    /**
     * Another instance's call in flight is a row, nothing else: a pending entry owned by a job that is running (here, a slow
     * unrelated job stands for the other instance's) makes an identical request wait without calling fal; once that instance
     * stores its result (the test writes the file under the cache's prefix and marks the row ready, as its owner would), the
     * waiting job is served from it.
     */
    @Test
    void aCallInFlightOnAnotherInstanceIsWaitedForThenServed() throws Exception {
        String[] t = tenant();
        String prompt = unique("a call elsewhere");
        Simulator.settings(0, 20_000);
        String owner = submit(t, schnell(unique("the other instance's job"), null)).path("id");
        await().atMost(Duration.ofSeconds(10)).until(() -> "running".equals(Db.job(UUID.fromString(owner)).get("status")));
        String key = CacheKey.of(t[0], SCHNELL, schnellPayload(prompt, 31), Map.of());
        Db.execute("insert into result_cache (tenant_id, key, endpoint, model, state, owner_job, lease_until, created_at)"
                + " values (?, ?, ?, 'flux-schnell', 'pending', ?::uuid, now() + interval '10 minutes', now())", t[0], key, SCHNELL, owner);

        Response waiting = submit(t, schnell(prompt, 31));
        String id = waiting.path("id");
        // it waits: running, nothing sent to fal for it, for several looks
        await().atMost(Duration.ofSeconds(5)).until(() -> "running".equals(Db.job(UUID.fromString(id)).get("status")));
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5)).until(() -> sent(SCHNELL, prompt).isEmpty()
                && "running".equals(Db.job(UUID.fromString(id)).get("status")));

        byte[] picture = Images.png(256, 256);
        String fileKey = "cache/" + t[0] + "/" + key + "/" + owner + "-0.png";
        s3.putObject(b -> b.bucket("atelier").key(fileKey).contentType("image/png"),
                software.amazon.awssdk.core.async.AsyncRequestBody.fromBytes(picture)).join();
        String files = new JsonArray().add(new JsonObject().put("key", fileKey).put("contentType", "image/png").put("width", 256)
                .put("height", 256).put("bytes", picture.length).put("role", "output")).encode();
        Db.execute("update result_cache set state = 'ready', files = ?::jsonb, cost_usd = 0.0031, ready_at = now(), owner_job = null"
                + " where tenant_id = ? and key = ?", files, t[0], key);

        JsonPath job = done(t, waiting);
        assertThat(job.getString("cache")).isEqualTo("hit");
        assertThat(output(job, 0)).isEqualTo(picture);
        assertThat(sent(SCHNELL, prompt)).isEmpty();
        assertThat((BigDecimal) inferRow(id).get("saved_usd")).isEqualByComparingTo("0.0031");
        given().header("Authorization", "Bearer " + t[1]).post("/v1/jobs/" + owner + "/cancel");
    }

    /** The owner's job ended without a result (cancelled here; failed alike): a request waiting for its entry takes over and calls fal. */
    @Test
    void aWaiterTakesOverWhenTheOwnersJobEndsWithoutAResult() {
        String[] t = tenant();
        String prompt = unique("an abandoned call");
        Simulator.settings(0, 20_000);
        String owner = submit(t, schnell(unique("the owner that will be cancelled"), null)).path("id");
        await().atMost(Duration.ofSeconds(10)).until(() -> "running".equals(Db.job(UUID.fromString(owner)).get("status")));
        String key = CacheKey.of(t[0], SCHNELL, schnellPayload(prompt, 33), Map.of());
        Db.execute("insert into result_cache (tenant_id, key, endpoint, model, state, owner_job, lease_until, created_at)"
                + " values (?, ?, ?, 'flux-schnell', 'pending', ?::uuid, now() + interval '10 minutes', now())", t[0], key, SCHNELL, owner);
        Response waiting = submit(t, schnell(prompt, 33));
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3)).until(() -> sent(SCHNELL, prompt).isEmpty());
        Simulator.settings(0, 30);
        given().header("Authorization", "Bearer " + t[1]).post("/v1/jobs/" + owner + "/cancel").then().statusCode(200);
        JsonPath job = done(t, waiting);
        assertThat(job.getString("cache")).isEqualTo("miss");
        assertThat(sent(SCHNELL, prompt)).hasSize(1);
        assertThat(Db.queryOne("select state from result_cache where key = ?", key)).containsEntry("state", "ready");
    }

    /** The owner died (kill -9: its row stays pending) and its lease ran out: the next identical request takes over and calls fal. */
    @Test
    void aPendingEntryWhoseLeaseRanOutIsTakenOver() {
        String[] t = tenant();
        String prompt = unique("a dead owner");
        Simulator.settings(0, 20_000);
        String owner = submit(t, schnell(unique("a live but stuck owner"), null)).path("id");
        await().atMost(Duration.ofSeconds(10)).until(() -> "running".equals(Db.job(UUID.fromString(owner)).get("status")));
        Simulator.settings(0, 30);
        String key = CacheKey.of(t[0], SCHNELL, schnellPayload(prompt, 32), Map.of());
        Db.execute("insert into result_cache (tenant_id, key, endpoint, model, state, owner_job, lease_until, created_at)"
                + " values (?, ?, ?, 'flux-schnell', 'pending', ?::uuid, now() - interval '1 second', now() - interval '31 minutes')",
                t[0], key, SCHNELL, owner);
        JsonPath job = done(t, submit(t, schnell(prompt, 32)));
        assertThat(job.getString("cache")).isEqualTo("miss");
        assertThat(sent(SCHNELL, prompt)).hasSize(1);
        assertThat(Db.queryOne("select state, owner_job from result_cache where key = ?", key)).containsEntry("state", "ready")
                .containsEntry("owner_job", null);
        given().header("Authorization", "Bearer " + t[1]).post("/v1/jobs/" + owner + "/cancel");
    }

    // ---- what is never cached, and who turns it off ----------------------------------------------------------------

    @Test
    void aFailureIsNeverCached() {
        String[] t = tenant();
        String prompt = unique("a failing call");
        Simulator.fault(Map.of("target", "complete", "status", 422, "detail", "Image dimensions are too small", "error_type", "image_too_small",
                "times", 1));
        JsonPath failed = Jobs.awaitTerminal(submit(t, schnell(prompt, 6)).path("id"), t[1]);
        assertThat(failed.getString("status")).isEqualTo("failed");
        assertThat(entries(t[0])).isZero();
        Response again = submit(t, schnell(prompt, 6));
        assertThat(again.header("Atelier-Cache")).isEqualTo("miss");
        assertThat(done(t, again).getString("cache")).isEqualTo("miss");
        assertThat(sent(SCHNELL, prompt)).hasSize(2);
        assertThat(Db.queryOne("select state from result_cache where tenant_id = ?", t[0])).containsEntry("state", "ready");
    }

    @Test
    void aTenantWithTheCacheOffIsNeverServedFromIt() {
        String[] t = tenant();
        admin().body(Map.of("cache_enabled", false, "cache_max_age", "7d")).patch("/v1/admin/tenants/" + t[0]).then().statusCode(200)
                .body("cache_enabled", org.hamcrest.Matchers.equalTo(false)).body("cache_max_age", org.hamcrest.Matchers.equalTo("7d"));
        String prompt = unique("an uncached tenant");
        Response a = submit(t, schnell(prompt, 8));
        assertThat(a.header("Atelier-Cache")).isEqualTo("bypass");
        done(t, a);
        Response b = submit(t, schnell(prompt, 8));
        assertThat(b.header("Atelier-Cache")).isEqualTo("bypass");
        done(t, b);
        assertThat(sent(SCHNELL, prompt)).hasSize(2);
        assertThat(entries(t[0])).isZero();
    }

    @Test
    void anOperatorDropsATenantsCache() {
        String[] t = tenant();
        String[] other = tenant();
        String prompt = unique("a dropped result");
        done(t, submit(t, schnell(prompt, 12)));
        done(other, submit(other, schnell(prompt, 12)));
        String fileKey = new JsonArray(String.valueOf(Db.queryOne("select files::text as f from result_cache where tenant_id = ?", t[0]).get("f")))
                .getJsonObject(0).getString("key");
        assertThat(ai.atelier.support.Objects.count(s3, fileKey)).isEqualTo(1);

        as(t).delete("/v1/admin/tenants/" + t[0] + "/cache").then().statusCode(403); // an admin's call, not a tenant's
        admin().delete("/v1/admin/tenants/" + t[0] + "/cache").then().statusCode(200).body("entries", org.hamcrest.Matchers.equalTo(1));
        admin().delete("/v1/admin/tenants/ten_nobody/cache").then().statusCode(404);
        assertThat(entries(t[0])).isZero();
        assertThat(entries(other[0])).isEqualTo(1);
        assertThat(ai.atelier.support.Objects.count(s3, fileKey)).isZero();

        Response again = submit(t, schnell(prompt, 12));
        assertThat(again.header("Atelier-Cache")).isEqualTo("miss");
        done(t, again);
        assertThat(sent(SCHNELL, prompt)).hasSize(3);
    }
}
