package ai.atelier.it;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import ai.atelier.support.Images;
import io.restassured.http.ContentType;

/**
 * The packaged application with the container image's JVM options (a 192 MB heap) and its default body
 * memory (96 MiB, 48 MiB a tenant) does not run out of memory on input, whatever clients send at once: the
 * two parallel 57 MB data-URL submits that once killed two of its threads, then rounds of the largest JSON
 * and multipart submits a tenant's share admits, from several tenants in parallel. Every answer is an
 * acceptance or a problem, the log has no OutOfMemoryError, and the instance serves on. Prints what it saw
 * (the answers, and the heap from the GC log) for the README.
 */
class InputMemoryIT {

    private static final int ROUNDS = 2;
    private static final int TENANTS = 3;
    private static final int JSON_EACH = 3;
    private static final int UPLOADS_EACH = 2;

    @Test
    void parallelLargeSubmitsNeverRunTheImageHeapOutOfMemory() throws Exception {
        Path gcLog = Path.of("target", "it-logs", "input-memory-gc.log").toAbsolutePath();
        Files.deleteIfExists(gcLog);
        List<String> jvm = new ArrayList<>(List.of(ai.atelier.bench.EngineBenchmark.imageJvmOptions().trim().split("\\s+")));
        jvm.add("-Xlog:gc:file=" + gcLog);
        try (Instances instances = new Instances()) {
            given().baseUri(instances.simulator()).contentType(ContentType.JSON).body(Map.of("queue_ms", 0, "latency_ms", 50))
                    .put("/_sim/settings").then().statusCode(200);
            Instances.Instance atelier = instances.start("input-memory", Map.of(), jvm);
            Path log = Path.of("target", "it-logs", atelier.name() + ".log");
            List<String> keys = new ArrayList<>();
            for (int i = 0; i < TENANTS; i++) {
                keys.add(tenantKey(atelier));
            }

            // the report's case: two 57 MB data-URL submits at once; refused from their declared length, never read
            byte[] huge = json(new byte[42 * 1024 * 1024], "huge");
            Map<Integer, Integer> hugeAnswers = parallel(List.of(() -> postJson(atelier, keys.get(0), huge), () -> postJson(atelier, keys.get(1), huge)));
            assertThat(hugeAnswers).isEqualTo(Map.of(413, 2));

            // the largest a tenant's share admits: an 8.7 MB picture as an 11.6 MB data URL (46 MB once read), or as a file
            byte[] picture = Images.noise(1700, 1700);
            byte[] big = json(picture, "as large as a share admits");
            Map<Integer, Integer> answers = new TreeMap<>();
            List<String> accepted = new ArrayList<>();
            for (int round = 0; round < ROUNDS; round++) {
                List<java.util.concurrent.Callable<io.restassured.response.Response>> calls = new ArrayList<>();
                for (String key : keys) {
                    for (int i = 0; i < JSON_EACH; i++) {
                        calls.add(() -> postJson(atelier, key, big));
                    }
                    for (int i = 0; i < UPLOADS_EACH; i++) {
                        calls.add(() -> given().baseUri(atelier.url()).header("Authorization", "Bearer " + key).multiPart("model", "flux-general-i2i")
                                .multiPart("prompt", "a big upload").multiPart("image", "big.png", picture, "image/png").post("/v1/jobs"));
                    }
                }
                ExecutorService pool = Executors.newFixedThreadPool(calls.size());
                try {
                    for (Future<io.restassured.response.Response> f : pool.invokeAll(calls)) {
                        io.restassured.response.Response r = f.get();
                        answers.merge(r.statusCode(), 1, Integer::sum);
                        // accepted, or told to come back: never a 500, never an answer cut off
                        assertThat(r.statusCode()).as(r.asString()).isIn(202, 503);
                        if (r.statusCode() == 202) {
                            accepted.add(r.path("id"));
                        } else {
                            assertThat(r.header("Retry-After")).isEqualTo("1");
                            assertThat(r.jsonPath().getString("type")).isEqualTo("/problems/uploads-busy");
                        }
                    }
                } finally {
                    pool.shutdownNow();
                }
            }
            assertThat(accepted).isNotEmpty();

            // the instance serves on: alive, ready, and a plain submit runs to its end
            assertThat(atelier.process().isAlive()).isTrue();
            given().baseUri(atelier.management()).get("/q/health/ready").then().statusCode(200);
            String plain = given().baseUri(atelier.url()).header("Authorization", "Bearer " + keys.get(2)).contentType(ContentType.JSON)
                    .body(Map.of("model", "flux-schnell", "prompt", "after the flood")).post("/v1/jobs").then().statusCode(202).extract().path("id");
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(60)).pollInterval(java.time.Duration.ofMillis(200))
                    .until(() -> "succeeded".equals(given().baseUri(atelier.url()).header("Authorization", "Bearer " + keys.get(2))
                            .get("/v1/jobs/" + plain).then().statusCode(200).extract().path("status")));
            String logged = Files.readString(log, StandardCharsets.UTF_8);
            assertThat(logged).doesNotContain("OutOfMemoryError");

            long[] heap = heapFigures(Files.readAllLines(gcLog));
            System.out.printf("InputMemoryIT (%s): 2 parallel 57 MB JSON submits -> %s; %d rounds of %d parallel submits (%d JSON of %.1f MB, %d multipart "
                    + "of %.1f MB, %d tenants) -> %s; heap (GC log): most before a collection %d MiB, most live after a full one %d MiB, "
                    + "%d collections; no OutOfMemoryError%n", String.join(" ", jvm.subList(0, jvm.size() - 1)), hugeAnswers, ROUNDS,
                    TENANTS * (JSON_EACH + UPLOADS_EACH), TENANTS * JSON_EACH, big.length / 1e6, TENANTS * UPLOADS_EACH, picture.length / 1e6, TENANTS,
                    answers, heap[0], heap[1], heap[2]);
        }
    }

    private static io.restassured.response.Response postJson(Instances.Instance atelier, String key, byte[] body) {
        return given().baseUri(atelier.url()).header("Authorization", "Bearer " + key).contentType(ContentType.JSON).body(body).post("/v1/jobs");
    }

    /** A JSON submit with these bytes as its image's data URL. */
    private static byte[] json(byte[] image, String prompt) {
        return ("{\"model\": \"flux-general-i2i\", \"prompt\": \"" + prompt + "\", \"image_url\": \"" + Images.dataUrl(image) + "\"}")
                .getBytes(StandardCharsets.US_ASCII);
    }

    private static String tenantKey(Instances.Instance on) {
        String tenant = given().baseUri(on.url()).header("Authorization", "Bearer " + Instances.ADMIN_KEY).contentType(ContentType.JSON)
                .body(Map.of("name", "memory-" + UUID.randomUUID())).post("/v1/admin/tenants").then().statusCode(201).extract().path("id");
        return given().baseUri(on.url()).header("Authorization", "Bearer " + Instances.ADMIN_KEY).contentType(ContentType.JSON)
                .body(Map.of("name", "big", "scopes", List.of("jobs:write", "jobs:read"))).post("/v1/admin/tenants/" + tenant + "/keys").then()
                .statusCode(201).extract().path("key");
    }

    /** Each call's status, counted. */
    private static Map<Integer, Integer> parallel(List<java.util.concurrent.Callable<io.restassured.response.Response>> calls) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(calls.size());
        try {
            Map<Integer, Integer> counted = new TreeMap<>();
            for (Future<io.restassured.response.Response> f : pool.invokeAll(calls)) {
                counted.merge(f.get().statusCode(), 1, Integer::sum);
            }
            return counted;
        } finally {
            pool.shutdownNow();
        }
    }

    /** From -Xlog:gc lines ("Pause Full (…) 150M->120M(185M)"): the most heap before a collection, the most left after a full one, the count. */
    private static long[] heapFigures(List<String> lines) {
        Pattern pause = Pattern.compile("Pause (Young|Full).* (\\d+)M->(\\d+)M\\((\\d+)M\\)");
        long before = 0;
        long liveAfterFull = 0;
        long count = 0;
        for (String line : lines) {
            Matcher m = pause.matcher(line);
            if (m.find()) {
                count++;
                before = Math.max(before, Long.parseLong(m.group(2)));
                if (m.group(1).equals("Full")) {
                    liveAfterFull = Math.max(liveAfterFull, Long.parseLong(m.group(3)));
                }
            }
        }
        return new long[] { before, liveAfterFull, count };
    }
}
