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
 * no HTTP server should take. Short header and body timeouts here, so the slow-client cases are quick.
 */
@QuarkusTest
@TestProfile(HostileClientsTest.ShortTimeouts.class)
class HostileClientsTest {

    public static class ShortTimeouts implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("atelier.http.header-timeout", "1s", "atelier.http.body-timeout", "2s");
        }
    }

    @TestHTTPResource("/")
    URL base;

    @Inject
    MultipartReader reader;

    @Inject
    S3AsyncClient s3;

    private static final String BOUNDARY = "----atelier-test-boundary";

    private static String partHeader(String name, String fileName) {
        return "--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"" + name + "\"" + (fileName == null ? "" : "; filename=\"" + fileName + "\"")
                + "\r\n" + (fileName == null ? "" : "Content-Type: image/png\r\n") + "\r\n";
    }

    private static String multipartHead(int contentLength) {
        return "POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=" + BOUNDARY
                + "\r\nContent-Length: " + contentLength + "\r\n\r\n";
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
        // the uploads are held in memory while they arrive (the budget counts each one's declared length) ...
        await().atMost(Duration.ofSeconds(5)).until(() -> reader.buffered() >= 8 * 3_000_000L);
        for (RawHttp c : dropped) {
            c.close();
        }
        // ... and all of it is let go when the clients drop; nothing was ever written to disk
        await().atMost(Duration.ofSeconds(5)).until(() -> reader.buffered() == 0);
        assertThat(uploadFilesOnDisk()).isEqualTo(onDiskBefore);
        // the next upload goes through
        String id = given().multiPart("model", "flux-general-i2i").multiPart("prompt", "after the drops")
                .multiPart("image", "p.png", Images.png(300, 300), "image/png").post("/v1/jobs").then().statusCode(202).extract().path("id");
        assertThat(Jobs.awaitTerminal(id).getString("status")).isEqualTo("succeeded");
        assertThat(reader.buffered()).isZero();
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
            // 20 + 20 connections, all cut within the timeouts (1 s and 2 s here) and some slack, not after the 12 s they would have taken
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
