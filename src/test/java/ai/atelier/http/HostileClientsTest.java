package ai.atelier.http;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import ai.atelier.support.Db;
import ai.atelier.support.Images;
import ai.atelier.support.Jobs;
import ai.atelier.support.Objects;
import ai.atelier.support.RawHttp;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;
import io.vertx.core.json.JsonObject;
import software.amazon.awssdk.services.s3.S3AsyncClient;

/**
 * What a hostile or broken client can do below the resources: drop an upload half-way, send a request
 * that is refused and then another on the same connection, trickle its headers or body, send headers
 * no HTTP server should take, announce big bodies and send nothing, send more than memory holds. Short
 * header and body timeouts here, so the slow-client cases are quick; the test profile's body memory is
 * 32 MiB for the instance and 16 MiB per tenant.
 */
@QuarkusTest
@TestProfile(HostileClientsTest.ShortTimeouts.class)
class HostileClientsTest {

    public static class ShortTimeouts implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            // bodies get 4 s: long enough for a test to upload while other connections hold theirs open
            return Map.of("atelier.http.header-timeout", "1s", "atelier.http.body-timeout", "4s");
        }
    }

    @TestHTTPResource("/")
    URL base;

    @Inject
    BodyMemory memory;

    @Inject
    S3AsyncClient s3;

    private static final String BOUNDARY = "----atelier-test-boundary";

    private static String partHeader(String name, String fileName) {
        return "--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"" + name + "\"" + (fileName == null ? "" : "; filename=\"" + fileName + "\"")
                + "\r\n" + (fileName == null ? "" : "Content-Type: image/png\r\n") + "\r\n";
    }

    private static String multipartHead(int contentLength, String... headers) {
        return head("multipart/form-data; boundary=" + BOUNDARY, contentLength, headers);
    }

    /** A POST /v1/jobs request's head: a body of this length (none: chunked) with these extra header lines. */
    private static String head(String type, int contentLength, String... headers) {
        StringBuilder b = new StringBuilder("POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: " + type + "\r\n");
        b.append(contentLength < 0 ? "Transfer-Encoding: chunked\r\n" : "Content-Length: " + contentLength + "\r\n");
        for (String h : headers) {
            b.append(h).append("\r\n");
        }
        return b.append("\r\n").toString();
    }

    /** A JSON submit of one image as a data URL. */
    private static byte[] jsonSubmit(byte[] image, String prompt) {
        return ("{\"model\": \"flux-general-i2i\", \"prompt\": \"" + prompt + "\", \"image_url\": \"" + Images.dataUrl(image) + "\"}")
                .getBytes(StandardCharsets.US_ASCII);
    }

    /** A new tenant with a key that may submit: (tenant id, key). */
    private static String[] tenantWithKey() {
        var admin = given().header("Authorization", "Bearer atl_test_admin_key").contentType("application/json");
        String tenant = admin.body(Map.of("name", "hostile-" + UUID.randomUUID())).post("/v1/admin/tenants").then().statusCode(201).extract()
                .path("id");
        String key = given().header("Authorization", "Bearer atl_test_admin_key").contentType("application/json")
                .body(Map.of("name", "hog", "scopes", List.of("jobs:write", "jobs:read"))).post("/v1/admin/tenants/" + tenant + "/keys").then()
                .statusCode(201).extract().path("key");
        return new String[] { tenant, key };
    }

    private static void assertBusy(RawHttp.Answer a) {
        assertThat(a.status()).isEqualTo(503);
        assertThat(a.header("retry-after")).isEqualTo("1");
        assertThat(a.header("content-type")).startsWith("application/problem+json");
        assertThat(new JsonObject(a.body()).getString("type")).isEqualTo("/problems/uploads-busy");
    }

    private static byte[] multipart(Map<String, String> fields) {
        StringBuilder b = new StringBuilder();
        fields.forEach((k, v) -> b.append(partHeader(k, null)).append(v).append("\r\n"));
        b.append("--").append(BOUNDARY).append("--\r\n");
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    private long uploadFilesOnDisk() throws IOException {
        try (Stream<Path> files = Files.walk(Path.of(System.getProperty("java.io.tmpdir")), 2)) {
            return files.filter(p -> p.getFileName().toString().contains("upload")).count();
        }
    }

    @Test
    void anUploadDroppedHalfWayLeavesNothingBehind() throws Exception {
        long onDiskBefore = uploadFilesOnDisk();
        List<RawHttp> dropped = new ArrayList<>();
        byte[] fiveHundredKb = new byte[512 * 1024];
        for (int i = 0; i < 8; i++) {
            RawHttp c = new RawHttp(base.getPort(), 5000);
            c.send(multipartHead(3_000_000)).send(partHeader("model", null) + "flux-general-i2i\r\n" + partHeader("image", "big.png"));
            c.send(fiveHundredKb);
            dropped.add(c);
        }
        // the uploads are held in memory while they arrive, what each has sent (twice: see BodyCost), not the 3 MB it declared ...
        await().atMost(Duration.ofSeconds(5)).until(() -> memory.held() >= 8 * 2L * fiveHundredKb.length);
        assertThat(memory.held()).isLessThan(8 * 2L * 600_000);
        for (RawHttp c : dropped) {
            c.close();
        }
        // ... and all of it is let go when the clients drop; nothing was ever written to disk
        await().atMost(Duration.ofSeconds(5)).until(() -> memory.held() == 0);
        assertThat(uploadFilesOnDisk()).isEqualTo(onDiskBefore);
        // the next upload goes through
        String id = given().multiPart("model", "flux-general-i2i").multiPart("prompt", "after the drops")
                .multiPart("image", "p.png", Images.png(300, 300), "image/png").post("/v1/jobs").then().statusCode(202).extract().path("id");
        assertThat(Jobs.awaitTerminal(id).getString("status")).isEqualTo("succeeded");
        assertThat(memory.held()).isZero();
    }

    @Test
    void connectionsThatAnnounceBigBodiesAndSendNothingHoldNothing() throws Exception {
        byte[] png = Images.noise(400, 400);
        List<RawHttp> idle = new ArrayList<>();
        try {
            // five uploads of 7 MB and two JSON bodies of 3.5 MB announced: far more than the 32 MiB the instance holds
            for (int i = 0; i < 7; i++) {
                RawHttp c = new RawHttp(base.getPort(), 5000);
                idle.add(c);
                c.send(i < 5 ? multipartHead(7_000_000, "Expect: 100-continue") : head("application/json", 3_500_000, "Expect: 100-continue"));
                // each is admitted (asked for its body) ...
                RawHttp.Answer go = c.read();
                assertThat(go.status()).isEqualTo(100);
                assertThat(go.header("connection")).isNull();
            }
            // ... and holds nothing until it sends something
            assertThat(memory.held()).isZero();
            // so another client's real upload goes through meanwhile
            String id = given().multiPart("model", "flux-general-i2i").multiPart("prompt", "while others announce")
                    .multiPart("image", "p.png", png, "image/png").post("/v1/jobs").then().statusCode(202).extract().path("id");
            assertThat(Objects.bytes(s3, "tenants/default/jobs/" + id + "/inputs/0.png")).isEqualTo(png);
            // while every announcing connection was still open, waiting to send
            for (RawHttp c : idle) {
                assertThat(c.timeout(100).closedByServer()).isFalse();
            }
            assertThat(Jobs.awaitTerminal(id).getString("status")).isEqualTo("succeeded");
        } finally {
            for (RawHttp c : idle) {
                c.close();
            }
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> memory.held() == 0);
    }

    @Test
    void oneTenantCannotTakeEveryonesUploadMemory() throws Exception {
        String[] hog = tenantWithKey();
        String auth = "Authorization: Bearer " + hog[1];
        byte[] sent = new byte[2_500_000];
        String parts = partHeader("model", null) + "flux-general-i2i\r\n" + partHeader("image", "big.png");
        byte[] png = Images.noise(400, 400);
        List<RawHttp> hogs = new ArrayList<>();
        try {
            // the hog's first upload announces 7.9 MB and sends 2.5 MB: it holds what it sent
            RawHttp first = new RawHttp(base.getPort(), 5000);
            hogs.add(first);
            first.send(multipartHead(7_900_000, auth)).send(parts).send(sent);
            await().atMost(Duration.ofSeconds(5)).until(() -> memory.heldBy(hog[0]) >= 2L * sent.length);
            // three more like it (announced: 31.6 MB, the whole instance's memory at one byte a byte) do not fit its share:
            // refused before their bodies are read
            for (int i = 0; i < 3; i++) {
                RawHttp c = new RawHttp(base.getPort(), 5000);
                hogs.add(c);
                c.send(multipartHead(7_900_000, auth, "Expect: 100-continue"));
                RawHttp.Answer refused = c.read();
                assertBusy(refused);
                assertThat(c.closedByServer()).isTrue();
            }
            // nor does one that announces no length: it is refused once what it sent passes the share
            RawHttp chunked = new RawHttp(base.getPort(), 5000);
            hogs.add(chunked);
            chunked.send(multipartHead(-1, auth));
            byte[] megabyte = new byte[1 << 20];
            try {
                chunked.send(Integer.toHexString(parts.length()) + "\r\n" + parts + "\r\n");
                for (int i = 0; i < 8; i++) {
                    if (i == 3) { // a second file: each stays under the 4 MiB a file may have
                        String next = "\r\n" + partHeader("product_image", "more.png");
                        chunked.send(Integer.toHexString(next.length()) + "\r\n" + next + "\r\n");
                    }
                    chunked.send(Integer.toHexString(megabyte.length) + "\r\n").send(megabyte).send("\r\n");
                }
            } catch (IOException closedWhileSending) {
                // refused and closed before all of it was sent
            }
            assertBusy(chunked.read());
            assertThat(memory.heldBy(hog[0])).isLessThanOrEqualTo(16L << 20);
            // another tenant's upload goes through meanwhile
            String id = given().multiPart("model", "flux-general-i2i").multiPart("prompt", "beside the hog")
                    .multiPart("image", "p.png", png, "image/png").post("/v1/jobs").then().statusCode(202).extract().path("id");
            assertThat(Objects.bytes(s3, "tenants/default/jobs/" + id + "/inputs/0.png")).isEqualTo(png);
            // with the hog's first upload still open, holding its share
            assertThat(first.timeout(100).closedByServer()).isFalse();
            assertThat(memory.heldBy(hog[0])).isGreaterThanOrEqualTo(2L * sent.length);
            Jobs.awaitTerminal(id);
        } finally {
            for (RawHttp c : hogs) {
                c.close();
            }
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> memory.held() == 0);
    }

    @Test
    void largeJsonBodiesGetProblemsWhenMemoryIsShortAndTheInstanceKeepsServing() throws Exception {
        // a data URL of 3.2 MB: once read it costs 4 bytes a byte, 13 MB, most of the default tenant's 16 MiB share
        byte[] png = Images.noise(900, 900);
        byte[] json = jsonSubmit(png, "big json");
        assertThat(4L * json.length).isBetween(9L << 20, 16L << 20);
        // one held while it is sent: another one from the same tenant is refused, with Retry-After
        String id;
        try (RawHttp holder = new RawHttp(base.getPort(), 5000); RawHttp second = new RawHttp(base.getPort(), 5000)) {
            holder.send(head("application/json", json.length)).send(java.util.Arrays.copyOf(json, json.length - 10));
            await().atMost(Duration.ofSeconds(5)).until(() -> memory.held() >= 4L * (json.length - 10));
            second.send(head("application/json", json.length));
            try {
                second.send(json);
            } catch (IOException closedWhileSending) {
                // refused before its body was read
            }
            assertBusy(second.read());
            // the held one, once finished, is accepted and its image stored as sent
            RawHttp.Answer accepted = holder.send(java.util.Arrays.copyOfRange(json, json.length - 10, json.length)).read();
            assertThat(accepted.status()).isEqualTo(202);
            id = new JsonObject(accepted.body()).getString("id");
        }
        assertThat(Objects.bytes(s3, "tenants/default/jobs/" + id + "/inputs/0.png")).isEqualTo(png);
        // a body that could never fit the tenant's share (5 MB: 20 MB once read) is refused before a byte of it is sent
        try (RawHttp c = new RawHttp(base.getPort(), 5000)) {
            RawHttp.Answer refused = c.send(head("application/json", 5_000_000, "Expect: 100-continue")).read();
            assertThat(refused.status()).isEqualTo(413);
            assertThat(new JsonObject(refused.body()).getString("type")).isEqualTo("/problems/body-too-large");
            assertThat(new JsonObject(refused.body()).getLong("limit_bytes")).isEqualTo((16L << 20) / 4);
            assertThat(c.closedByServer()).isTrue();
        }
        // six at once: each is accepted or told to come back, none takes more than the share, and nothing breaks
        ExecutorService pool = Executors.newFixedThreadPool(6);
        java.util.concurrent.atomic.AtomicLong most = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicBoolean flooding = new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread watcher = new Thread(() -> {
            while (flooding.get()) {
                most.accumulateAndGet(memory.heldBy("default"), Math::max);
                java.util.concurrent.locks.LockSupport.parkNanos(2_000_000); // a sample every 2 ms
            }
        });
        List<String> accepted = new ArrayList<>();
        try {
            watcher.start();
            List<Future<Response>> answers = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                answers.add(pool.submit(() -> given().contentType("application/json").body(json).post("/v1/jobs")));
            }
            for (Future<Response> f : answers) {
                Response r = f.get();
                assertThat(r.statusCode()).isIn(202, 503);
                if (r.statusCode() == 503) {
                    assertThat(r.header("Retry-After")).isEqualTo("1");
                    assertThat(r.jsonPath().getString("type")).isEqualTo("/problems/uploads-busy");
                } else {
                    accepted.add(r.path("id"));
                }
            }
        } finally {
            flooding.set(false);
            watcher.join();
            pool.shutdownNow();
        }
        assertThat(most.get()).isPositive().isLessThanOrEqualTo(16L << 20);
        // and the instance goes on serving: the same body alone is accepted, and memory is all given back
        String after = given().contentType("application/json").body(json).post("/v1/jobs").then().statusCode(202).extract().path("id");
        assertThat(Objects.bytes(s3, "tenants/default/jobs/" + after + "/inputs/0.png")).isEqualTo(png);
        accepted.add(after);
        accepted.add(id);
        for (String job : accepted) {
            Jobs.awaitTerminal(job);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> memory.held() == 0);
    }

    @Test
    void anExpectContinueSubmitGetsTheInterimAnswerThenTheFinalOne() throws Exception {
        // over 1 MiB: the size from which curl asks before it sends
        byte[] png = Images.noise(620, 620);
        byte[] json = jsonSubmit(png, "expect continue");
        assertThat(json.length).isGreaterThan(1 << 20);
        try (RawHttp c = new RawHttp(base.getPort(), 5000)) {
            RawHttp.Answer go = c.send(head("application/json", json.length, "Expect: 100-continue")).read();
            assertThat(go.status()).isEqualTo(100);
            assertThat(go.header("connection")).isNull();
            RawHttp.Answer accepted = c.send(json).read();
            assertThat(accepted.status()).isEqualTo(202);
            String id = new JsonObject(accepted.body()).getString("id");
            assertThat(accepted.header("location")).isEqualTo("/v1/jobs/" + id);
            assertThat(accepted.header("connection")).isNotEqualTo("close");
            // the row, and the input stored as it was sent
            Map<String, Object> row = Db.job(UUID.fromString(id));
            assertThat(row.get("model")).isEqualTo("flux-general-i2i");
            assertThat(row.get("prompt")).isEqualTo("expect continue");
            assertThat(Objects.bytes(s3, "tenants/default/jobs/" + id + "/inputs/0.png")).isEqualTo(png);
            // and the connection goes on: no stray answer, not closed
            assertThat(c.send("GET /v1/models HTTP/1.1\r\nHost: localhost\r\n\r\n").read().status()).isEqualTo(200);
            assertThat(Jobs.awaitTerminal(id).getString("status")).isEqualTo("succeeded");
        }
    }

    @Test
    void plainCurlSubmitsAJsonBodyOverOneMebibyte() throws Exception {
        byte[] png = Images.noise(640, 600);
        Path body = Files.createTempFile("atelier-submit", ".json");
        try {
            Files.write(body, jsonSubmit(png, "plain curl"));
            Process curl = new ProcessBuilder("curl", "-sS", "-v", "--max-time", "30", "-H", "Content-Type: application/json", "--data-binary",
                    "@" + body, "http://127.0.0.1:" + base.getPort() + "/v1/jobs").start();
            String out = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String err = new String(curl.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(curl.waitFor(40, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            assertThat(curl.exitValue()).as(err).isZero();
            // curl asked before sending, was told to go on, and got its final answer
            assertThat(err).contains("> Expect: 100-continue").contains("< HTTP/1.1 100 Continue").contains("< HTTP/1.1 202 Accepted");
            String id = new JsonObject(out).getString("id");
            assertThat(Db.job(UUID.fromString(id)).get("prompt")).isEqualTo("plain curl");
            assertThat(Objects.bytes(s3, "tenants/default/jobs/" + id + "/inputs/0.png")).isEqualTo(png);
            Jobs.awaitTerminal(id);
        } finally {
            Files.deleteIfExists(body);
        }
    }

    @Test
    void anExpectContinueRequestWithAWrongKeyGetsAFinalAnswerAndSendsNoBody() throws Exception {
        try (RawHttp c = new RawHttp(base.getPort(), 5000)) {
            RawHttp.Answer a = c.send(head("application/json", 2_000_000, "Authorization: Bearer atl_not_a_real_key", "Expect: 100-continue")).read();
            assertThat(a.status()).isEqualTo(401);
            assertThat(a.header("www-authenticate")).startsWith("Bearer");
            assertThat(a.header("connection")).isEqualTo("close");
            assertThat(new JsonObject(a.body()).getString("type")).isEqualTo("/problems/invalid-api-key");
            assertThat(c.closedByServer()).isTrue();
        }
    }

    @Test
    void aRefusedRequestLeavesItsConnectionUsableOrClosesIt() throws Exception {
        // a field over the form limit: the body was read to its end, so the connection serves the next request at once
        byte[] tooLong = multipart(Map.of("model", "flux-schnell", "prompt", "x".repeat(200_000)));
        try (RawHttp c = new RawHttp(base.getPort(), 3000)) {
            RawHttp.Answer refused = c.send(multipartHead(tooLong.length)).send(tooLong).read();
            assertThat(refused.status()).isEqualTo(422);
            assertThat(refused.header("content-type")).startsWith("application/problem+json");
            assertThat(new JsonObject(refused.body()).getString("field")).isEqualTo("prompt");
            assertThat(refused.header("connection")).isNotEqualTo("close");
            RawHttp.Answer next = c.send("GET /v1/models HTTP/1.1\r\nHost: localhost\r\n\r\n").read();
            assertThat(next.status()).isEqualTo(200);
            // and good requests keep it open: reads and a refused JSON body read to its end
            for (int i = 0; i < 3; i++) {
                RawHttp.Answer again = c.send("GET /v1/jobs/00000000-0000-0000-0000-000000000000 HTTP/1.1\r\nHost: localhost\r\n\r\n").read();
                assertThat(again.status()).isEqualTo(404);
                assertThat(again.header("connection")).isNotEqualTo("close");
            }
            String json = "{\"model\": \"no-such-model\", \"prompt\": \"p\"}";
            RawHttp.Answer unknown = c.send("POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: " + json.length()
                    + "\r\n\r\n" + json).read();
            assertThat(unknown.status()).isEqualTo(422);
            assertThat(unknown.header("connection")).isNotEqualTo("close");
            assertThat(c.send("GET /v1/models HTTP/1.1\r\nHost: localhost\r\n\r\n").read().status()).isEqualTo(200);
        }
        // 10,000 parts: refused while the body still comes, so the answer closes the connection (the rest is never read as a request)
        StringBuilder parts = new StringBuilder();
        for (int i = 0; i < 10_000; i++) {
            parts.append(partHeader("f" + i, null)).append("v\r\n");
        }
        parts.append("--").append(BOUNDARY).append("--\r\n");
        byte[] many = parts.toString().getBytes(StandardCharsets.US_ASCII);
        try (RawHttp c = new RawHttp(base.getPort(), 3000)) {
            c.send(multipartHead(many.length));
            RawHttp.Answer refused;
            try {
                c.send(many);
            } catch (IOException closedWhileSending) {
                // the server may close before it has read everything
            }
            refused = c.read();
            assertThat(refused.status()).isEqualTo(413);
            assertThat(new JsonObject(refused.body()).getString("type")).isEqualTo("/problems/too-many-parts");
            assertThat(refused.header("connection")).isEqualTo("close");
            assertThat(c.closedByServer()).isTrue();
        }
        // a declared body over the limit (8 MiB here): refused before a byte of it is read, then closed
        try (RawHttp c = new RawHttp(base.getPort(), 3000)) {
            RawHttp.Answer refused = c.send("POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 9000000\r\n\r\n{\"mo")
                    .read();
            assertThat(refused.status()).isEqualTo(413);
            assertThat(refused.header("content-type")).startsWith("application/problem+json");
            assertThat(new JsonObject(refused.body()).getString("type")).isEqualTo("/problems/body-too-large");
            assertThat(c.closedByServer()).isTrue();
        }
    }

    @Test
    void slowHeadersAndSlowBodiesAreCutOff() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(40);
        try {
            List<Future<RawHttp.Answer>> slowHeaders = new ArrayList<>();
            List<Future<RawHttp.Answer>> slowBodies = new ArrayList<>();
            long start = System.nanoTime();
            for (int i = 0; i < 20; i++) {
                slowHeaders.add(pool.submit(() -> {
                    try (RawHttp c = new RawHttp(base.getPort(), 6000)) {
                        c.send("GET /v1/models HTTP/1.1\r\nHost: localhost\r\n");
                        // a header line every 300 ms: never idle, never done
                        for (int n = 0; n < 30; n++) {
                            try {
                                Thread.sleep(300);
                                c.send("X-Slow-" + n + ": 1\r\n");
                            } catch (IOException closed) {
                                break;
                            }
                        }
                        return c.read();
                    }
                }));
                slowBodies.add(pool.submit(() -> {
                    try (RawHttp c = new RawHttp(base.getPort(), 8000)) {
                        c.send("POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{");
                        for (int n = 0; n < 40; n++) {
                            try {
                                Thread.sleep(300);
                                c.send(" ");
                            } catch (IOException closed) {
                                break;
                            }
                        }
                        return c.read();
                    }
                }));
            }
            for (Future<RawHttp.Answer> f : slowHeaders) {
                RawHttp.Answer a = f.get();
                assertThat(a.status()).isEqualTo(408);
                assertThat(new JsonObject(a.body()).getString("type")).isEqualTo("/problems/request-timeout");
                assertThat(a.body()).contains("headers");
            }
            for (Future<RawHttp.Answer> f : slowBodies) {
                RawHttp.Answer a = f.get();
                assertThat(a.status()).isEqualTo(408);
                assertThat(a.body()).contains("body");
            }
            // 20 + 20 connections, all cut within the timeouts (1 s and 4 s here) and some slack, not after the 12 s they would have taken
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(8));
        } finally {
            pool.shutdownNow();
        }
        given().get("/v1/models").then().statusCode(200);
    }

    @Test
    void requestsTheHttpDecoderRefusesGetProblemBodies() throws Exception {
        try (RawHttp c = new RawHttp(base.getPort(), 3000)) {
            RawHttp.Answer a = c.send("GET /v1/models HTTP/1.1\r\nHost: localhost\r\nX-Big: " + "a".repeat(64 * 1024) + "\r\n\r\n").read();
            assertThat(a.status()).isEqualTo(431);
            assertThat(a.header("content-type")).isEqualTo("application/problem+json");
            assertThat(new JsonObject(a.body()).getInteger("status")).isEqualTo(431);
            assertThat(c.closedByServer()).isTrue();
        }
        try (RawHttp c = new RawHttp(base.getPort(), 3000)) {
            RawHttp.Answer a = c.send("GET /v1/models HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\u0001b\r\n\r\n").read();
            assertThat(a.status()).isEqualTo(400);
            assertThat(new JsonObject(a.body()).getString("type")).isEqualTo("/problems/malformed-request");
        }
        try (RawHttp c = new RawHttp(base.getPort(), 3000)) {
            RawHttp.Answer a = c.send("GET /v1/models?" + "q".repeat(10_000) + " HTTP/1.1\r\nHost: localhost\r\n\r\n").read();
            assertThat(a.status()).isEqualTo(414);
            assertThat(a.header("content-type")).isEqualTo("application/problem+json");
        }
    }

    @Test
    void locationIsRelativeWhateverTheHostHeaderSays() {
        Response r = given().header("Host", "evil.example").contentType("application/json")
                .body(Map.of("model", "flux-schnell", "prompt", "where am I")).post("/v1/jobs");
        assertThat(r.statusCode()).isEqualTo(202);
        assertThat(r.header("Location")).startsWith("/v1/jobs/").doesNotContain("evil");
        Jobs.awaitTerminal(r.path("id"));
    }

    @Test
    void answersTellBrowsersNotToSniff() {
        assertThat(given().get("/v1/models").header("X-Content-Type-Options")).isEqualTo("nosniff");
        assertThat(given().get("/v1/jobs/00000000-0000-0000-0000-000000000000").header("X-Content-Type-Options")).isEqualTo("nosniff");
        // the playground's static files too; its address without the slash leads to it
        Response page = given().get("/playground/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.contentType()).startsWith("text/html");
        assertThat(page.header("X-Content-Type-Options")).isEqualTo("nosniff");
        Response bare = given().redirects().follow(false).get("/playground");
        assertThat(bare.statusCode()).isEqualTo(302);
        assertThat(bare.header("Location")).isEqualTo("/playground/");
    }

    @Test
    void aPolyglotIsStoredAsTheImageAloneWithItsRealType() {
        byte[] png = Images.png(300, 300);
        byte[] html = "<html><script>alert(1)</script></html>\n".getBytes(StandardCharsets.US_ASCII);
        byte[] polyglot = java.util.Arrays.copyOf(png, png.length + html.length);
        System.arraycopy(html, 0, polyglot, png.length, html.length);
        String id = given().multiPart("model", "flux-general-i2i").multiPart("prompt", "polyglot")
                .multiPart("image", "x.html", polyglot, "text/html").post("/v1/jobs").then().statusCode(202).extract().path("id");
        String key = "tenants/default/jobs/" + id + "/inputs/0.png";
        assertThat(Objects.bytes(s3, key)).isEqualTo(png);
        assertThat(s3.headObject(b -> b.bucket("atelier").key(key)).join().contentType()).isEqualTo("image/png");
        Jobs.awaitTerminal(id);
    }

    @Test
    void aSubmitRefusedAfterItsFirstImageWasStoredLeavesNothingInS3() {
        long jobs = Db.count();
        long before = Objects.count(s3, "tenants/default/jobs/");
        byte[] truncated = java.util.Arrays.copyOf(Images.png(300, 300), 60);
        given().multiPart("model", "qwen-image-edit-plus-lora").multiPart("prompt", "two photos")
                .multiPart("face_image", "a.png", Images.png(300, 300), "image/png").multiPart("product_image", "b.png", truncated, "image/png")
                .post("/v1/jobs").then().statusCode(422).contentType("application/problem+json");
        assertThat(Db.count()).isEqualTo(jobs);
        await().atMost(Duration.ofSeconds(5)).until(() -> Objects.count(s3, "tenants/default/jobs/") == before);
    }

    @Test
    void tooManyFilesAreRefusedBeforeAnyIsStored() {
        long before = Objects.count(s3, "tenants/default/jobs/");
        var request = given().multiPart("model", "flux-general-i2i").multiPart("prompt", "a hundred photos");
        byte[] photo = Images.png(300, 300);
        for (int i = 0; i < 100; i++) {
            request.multiPart("product_image", "p" + i + ".png", photo, "image/png");
        }
        request.post("/v1/jobs").then().statusCode(422).contentType("application/problem+json")
                .body("type", org.hamcrest.Matchers.equalTo("/problems/too-many-files"));
        // and within the form's limit, what a request may carry: flux-general-i2i takes one photo, and keeps at most three product photos
        var four = given().multiPart("model", "flux-general-i2i").multiPart("prompt", "four photos");
        for (int i = 0; i < 4; i++) {
            four.multiPart("product_image", "p" + i + ".png", photo, "image/png");
        }
        four.post("/v1/jobs").then().statusCode(422).contentType("application/problem+json")
                .body("type", org.hamcrest.Matchers.equalTo("/problems/wrong-image-count"));
        assertThat(Objects.count(s3, "tenants/default/jobs/")).isEqualTo(before);
    }
}
