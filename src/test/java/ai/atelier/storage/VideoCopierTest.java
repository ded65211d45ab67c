package ai.atelier.storage;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.InputStream;
import java.lang.reflect.Proxy;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionException;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import ai.atelier.config.AtelierConfig;
import ai.atelier.ingest.VideoInfo;
import ai.atelier.support.Simulator;
import io.quarkus.runtime.configuration.MemorySize;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.vertx.core.Vertx;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;

/**
 * A clip goes from the fal simulator's file URL into the real S3 server in parts, byte for byte, as video/mp4, read
 * as it passes; every fault (an expired URL, a cut connection, a body shorter than fal's file_size, a web page, a
 * size fal and the host disagree on, one over the cap, a silent host) fails the copy with its reason and leaves
 * nothing in the bucket: no object, no multipart upload.
 */
@QuarkusTest
class VideoCopierTest {

    static final String VEO = "fal-ai/veo3.1/fast";
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @Inject
    VideoCopier copier;

    @Inject
    S3AsyncClient s3;

    @Inject
    ObjectStore store;

    @Inject
    UrlSigner signer;

    @Inject
    AtelierConfig config;

    @Inject
    Vertx vertx;

    @BeforeEach
    void reset() {
        Simulator.reset();
        Simulator.settings(0, 20);
    }

    static void simSettings(Map<String, Object> settings) {
        given().baseUri(Simulator.url()).contentType(ContentType.JSON).body(settings).put("/_sim/settings").then().statusCode(200);
    }

    /** A 4 s clip of the given size made by the simulator's Veo endpoint: its file object (url, file_size, …). */
    static JsonPath clip(long bytes) {
        simSettings(Map.of("video_bytes", bytes));
        String id = given().baseUri(Simulator.url()).contentType(ContentType.JSON)
                .body(Map.of("prompt", "a red bicycle", "duration", "4s", "generate_audio", true)).post("/queue/" + VEO).then().statusCode(200)
                .extract().path("request_id");
        String base = "/queue/fal-ai/veo3.1/requests/" + id;
        await().atMost(Duration.ofSeconds(10)).until(() -> given().baseUri(Simulator.url()).get(base + "/status").statusCode() == 200);
        return given().baseUri(Simulator.url()).get(base).then().statusCode(200).extract().jsonPath().setRootPath("video");
    }

    static String key() {
        return "tests/video-copier/" + UUID.randomUUID() + ".mp4";
    }

    VideoCopier.Copied copy(VideoCopier with, JsonPath file, String key) {
        return with.copy(file.getString("url"), file.getLong("file_size"), key).await().atMost(Duration.ofMinutes(2));
    }

    VideoCopier.Failed failure(VideoCopier with, String url, Long fileSize, String key) {
        try {
            with.copy(url, fileSize, key).await().atMost(Duration.ofMinutes(2));
        } catch (VideoCopier.Failed failed) {
            assertNothingLeft(key);
            return failed;
        }
        throw new AssertionError("the copy of " + url + " did not fail");
    }

    void assertNothingLeft(String key) {
        try {
            s3.headObject(b -> b.bucket(store.bucket()).key(key)).join();
            throw new AssertionError(key + " exists");
        } catch (CompletionException e) {
            assertThat(e.getCause()).isInstanceOfAny(NoSuchKeyException.class, software.amazon.awssdk.services.s3.model.S3Exception.class);
        }
        assertThat(s3.listMultipartUploads(b -> b.bucket(store.bucket()).prefix(key)).join().uploads()).as("multipart uploads of " + key).isEmpty();
    }

    static String sha256(InputStream in) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        byte[] buffer = new byte[1 << 16];
        try (in) {
            for (int n; (n = in.read(buffer)) > 0;) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** The copier with other settings (a small cap, a short read timeout), built as the application builds it. */
    VideoCopier with(long maxBytes, Duration readTimeout) {
        AtelierConfig.Video video = (AtelierConfig.Video) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] { AtelierConfig.Video.class },
                (p, method, args) -> switch (method.getName()) {
                    case "maxBytes" -> new MemorySize(java.math.BigInteger.valueOf(maxBytes));
                    case "readTimeout" -> readTimeout;
                    default -> method.invoke(config.video(), args);
                });
        AtelierConfig changed = (AtelierConfig) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] { AtelierConfig.class },
                (p, method, args) -> method.getName().equals("video") ? video : method.invoke(config, args));
        return new VideoCopier(store, signer, changed, vertx);
    }

    @Test
    void copiesAHundredMegabyteClipInPartsByteForByteAsVideoMp4() throws Exception {
        long size = 100L * 1024 * 1024;
        JsonPath file = clip(size);
        String key = key();
        VideoCopier.Copied copied = copy(copier, file, key);
        assertThat(copied.key()).isEqualTo(key);
        assertThat(copied.bytes()).isEqualTo(size);
        assertThat(copied.video().size()).isEqualTo(size);
        assertThat(copied.video().seconds()).isEqualTo(4.0);
        assertThat(copied.video().hasAudio()).isTrue();
        assertThat(copied.video().width()).isEqualTo(1280);
        HeadObjectResponse head = s3.headObject(b -> b.bucket(store.bucket()).key(key)).join();
        assertThat(head.contentLength()).isEqualTo(size);
        assertThat(head.contentType()).isEqualTo("video/mp4");
        // 8 MiB parts: S3 reports a multipart object's ETag as "<md5 of the parts' md5s>-<parts>"
        assertThat(head.eTag()).endsWith("-13\"");
        String stored = sha256(s3.getObject(b -> b.bucket(store.bucket()).key(key), AsyncResponseTransformer.toBlockingInputStream()).join());
        String served = sha256(HTTP.send(HttpRequest.newBuilder(URI.create(file.getString("url"))).build(), HttpResponse.BodyHandlers.ofInputStream())
                .body());
        assertThat(stored).isEqualTo(served);
        // read once from fal's URL
        assertThat(Simulator.requests().stream().filter(r -> "GET".equals(r.get("method")) && String.valueOf(r.get("path")).startsWith("/files/sim/")))
                .hasSize(2); // the copy, and this test's own read to compare
        assertThat(s3.listMultipartUploads(b -> b.bucket(store.bucket()).prefix(key)).join().uploads()).isEmpty();
    }

    @Test
    void takesTheContentLengthWhenFalGivesNoFileSizeAndCopiesASmallClipInOnePart() {
        JsonPath file = clip(0); // the clip's own few kilobytes
        String key = key();
        VideoCopier.Copied copied = copier.copy(file.getString("url"), null, key).await().atMost(Duration.ofSeconds(30));
        assertThat(copied.bytes()).isEqualTo(file.getLong("file_size"));
        VideoInfo read = VideoInfo.check(s3.getObject(b -> b.bucket(store.bucket()).key(key), AsyncResponseTransformer.toBytes()).join().asByteArray())
                .video();
        assertThat(read).isEqualTo(copied.video());
    }

    @Test
    void anExpiredUrlFailsAsUnreadable() {
        JsonPath file = clip(0);
        simSettings(Map.of("file_ttl_ms", 1));
        await().atMost(Duration.ofSeconds(5)).until(() -> given().get(file.getString("url")).statusCode() == 404);
        VideoCopier.Failed failed = failure(copier, file.getString("url") + "?sig=secret", file.getLong("file_size"), key());
        assertThat(failed.reason()).isEqualTo(VideoCopier.Failed.Reason.UNREADABLE);
        assertThat(failed.reason().code()).isEqualTo("output_unreadable");
        assertThat(failed.getMessage()).endsWith("answered HTTP 404 (the file has expired or is gone)").doesNotContain("secret");
    }

    @Test
    void aConnectionCutAfterAPartWasStoredAbortsTheUpload() {
        JsonPath file = clip(20L * 1024 * 1024);
        // past the first 8 MiB part, which S3 then holds, inside the second
        Simulator.fault(Map.of("target", "file", "cut_after", 12L * 1024 * 1024));
        String key = key();
        VideoCopier.Failed failed = failure(copier, file.getString("url"), file.getLong("file_size"), key);
        assertThat(failed.reason()).isEqualTo(VideoCopier.Failed.Reason.UNREADABLE);
        // the multipart upload was aborted: no part stays billed in the bucket
        await().atMost(Duration.ofSeconds(10)).until(() -> s3.listMultipartUploads(b -> b.bucket(store.bucket()).prefix(key)).join().uploads().isEmpty());
        // how much of the cut-off body the copier had taken depends on when it sees the close: bytes still waiting in its
        // paused response (paused while S3 takes a part) are dropped with the connection. Some, at most the 12 MiB sent
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("the download broke off after (\\d+) of 20971520 bytes.*")
                .matcher(failed.getMessage());
        assertThat(m.matches()).as(failed.getMessage()).isTrue();
        assertThat(Long.parseLong(m.group(1))).isBetween(1L, 12L * 1024 * 1024);
    }

    @Test
    void aBodyShorterThanFalsFileSizeIsAnInvalidOutput() {
        JsonPath file = clip(20L * 1024 * 1024);
        Simulator.fault(Map.of("target", "file", "short_body", 10L * 1024 * 1024));
        VideoCopier.Failed failed = failure(copier, file.getString("url"), file.getLong("file_size"), key());
        // the host's Content-Length already says so: nothing is read
        assertThat(failed.reason()).isEqualTo(VideoCopier.Failed.Reason.INVALID_OUTPUT);
        assertThat(failed.reason().code()).isEqualTo("invalid_output");
        assertThat(failed.getMessage()).isEqualTo("fal gave the video's file_size as 20971520 bytes, but its host sends 10485760");
        // without fal's figure the body is taken at its word, and the file's own boxes say it is cut short
        Simulator.fault(Map.of("target", "file", "short_body", 10L * 1024 * 1024));
        failed = failure(copier, file.getString("url"), null, key());
        assertThat(failed.reason()).isEqualTo(VideoCopier.Failed.Reason.INVALID_OUTPUT);
        assertThat(failed.getMessage()).startsWith("the video is not a usable MP4: the MP4 is cut off inside its free box");
    }

    @Test
    void aFileSizeTheHostDisagreesWithIsAnInvalidOutput() {
        JsonPath file = clip(6L * 1024 * 1024);
        long size = file.getLong("file_size");
        VideoCopier.Failed disagree = failure(copier, file.getString("url"), size - 1, key());
        assertThat(disagree.reason()).isEqualTo(VideoCopier.Failed.Reason.INVALID_OUTPUT);
        assertThat(disagree.getMessage()).contains("file_size as " + (size - 1));
    }

    @Test
    void aWebPageInsteadOfTheClipIsAnInvalidOutput() {
        JsonPath file = clip(20L * 1024 * 1024);
        Simulator.fault(Map.of("target", "file", "not_mp4", true));
        VideoCopier.Failed failed = failure(copier, file.getString("url"), file.getLong("file_size"), key());
        assertThat(failed.reason()).isEqualTo(VideoCopier.Failed.Reason.INVALID_OUTPUT);
        assertThat(failed.getMessage()).isEqualTo("the video is not a usable MP4: the bytes are not an MP4 file: they do not start with an ftyp box");
    }

    @Test
    void aClipOverTheCapIsRefusedBeforeAByteIsStored() {
        JsonPath file = clip(12L * 1024 * 1024);
        VideoCopier.Failed failed = failure(with(10L * 1024 * 1024, Duration.ofSeconds(30)), file.getString("url"), file.getLong("file_size"), key());
        assertThat(failed.reason()).isEqualTo(VideoCopier.Failed.Reason.INVALID_OUTPUT);
        assertThat(failed.getMessage()).isEqualTo("the video has 12582912 bytes, more than the 10485760 allowed");
    }

    @Test
    void aSilentHostIsGivenUpAtTheReadTimeout() {
        JsonPath file = clip(0);
        Simulator.fault(Map.of("target", "file", "delay_ms", 5_000));
        VideoCopier.Failed failed = failure(with(200L * 1024 * 1024, Duration.ofMillis(500)), file.getString("url"), file.getLong("file_size"), key());
        assertThat(failed.reason()).isEqualTo(VideoCopier.Failed.Reason.UNREADABLE);
        assertThat(failed.getMessage()).startsWith("the video could not be fetched from");
    }

    @Test
    void copiesSideBySideWithoutMixingTheirBytes() throws Exception {
        List<JsonPath> files = List.of(clip(9L * 1024 * 1024), clip(17L * 1024 * 1024), clip(0));
        List<String> keys = files.stream().map(f -> key()).toList();
        List<VideoCopier.Copied> copies = io.smallrye.mutiny.Uni.join().all(List.of(
                copier.copy(files.get(0).getString("url"), files.get(0).getLong("file_size"), keys.get(0)),
                copier.copy(files.get(1).getString("url"), files.get(1).getLong("file_size"), keys.get(1)),
                copier.copy(files.get(2).getString("url"), files.get(2).getLong("file_size"), keys.get(2)))).andFailFast()
                .await().atMost(Duration.ofMinutes(1));
        for (int i = 0; i < 3; i++) {
            int k = i;
            assertThat(copies.get(i).bytes()).isEqualTo(files.get(i).getLong("file_size"));
            assertThat(sha256(s3.getObject(b -> b.bucket(store.bucket()).key(keys.get(k)), AsyncResponseTransformer.toBlockingInputStream()).join()))
                    .isEqualTo(sha256(HTTP.send(HttpRequest.newBuilder(URI.create(files.get(k).getString("url"))).build(),
                            HttpResponse.BodyHandlers.ofInputStream()).body()));
        }
    }
}
