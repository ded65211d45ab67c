package ai.atelier.bench;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import org.junit.jupiter.api.Test;

import ai.atelier.support.Db;
import ai.atelier.support.Simulator;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.http.ContentType;

/**
 * What one job costs: submits N text-to-image jobs against the simulator with a fixed latency,
 * waits for all, and reports submit rate, completed jobs/s and Atelier's overhead over fal's latency
 * (end-to-end time from the row's created_at to finished_at, minus the simulated latency).
 * Not part of the test suite: run it with
 * {@code ./mvnw test -Dtest=JobBenchmark -Dbench.jobs=500 -Dbench.latency-ms=1000}.
 */
@QuarkusTest
class JobBenchmark {

    @Test
    void run() throws Exception {
        int jobs = Integer.getInteger("bench.jobs", 200);
        long latency = Long.getLong("bench.latency-ms", 1000);
        int clients = Integer.getInteger("bench.clients", 16);
        Simulator.reset();
        Simulator.settings(0, latency);
        // warm-up: class loading and the JIT compilers (measured: C1+C2 take ~70 % of a core in the first seconds)
        int warmup = Integer.getInteger("bench.warmup", 400);
        Semaphore warming = new Semaphore(clients);
        List<CompletableFuture<?>> warm = new ArrayList<>();
        for (int i = 0; i < warmup; i++) {
            warming.acquire();
            warm.add(HTTP.sendAsync(request(), HttpResponse.BodyHandlers.discarding()).whenComplete((r, e) -> warming.release()));
        }
        CompletableFuture.allOf(warm.toArray(CompletableFuture[]::new)).join();
        await().atMost(Duration.ofMinutes(5)).until(() -> count("status in ('queued','running')") == 0);

        // phase 1: one job at a time, the cost of a job on an idle instance
        int sequential = Integer.getInteger("bench.sequential", 10);
        List<Long> alone = new ArrayList<>();
        for (int i = 0; i < sequential; i++) {
            String id = submit();
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
                    .until(() -> count("id = '" + id + "' and status in ('succeeded','failed')") == 1);
            alone.add(endToEnd(id));
        }
        Collections.sort(alone);
        double aloneMean = alone.stream().mapToLong(Long::longValue).average().orElse(0);

        // phase 2: N jobs submitted as fast as `clients` concurrent requests allow

        long t0 = System.nanoTime();
        // a plain JDK client, at most `clients` requests in flight: RestAssured costs more CPU than Atelier does
        Semaphore inFlight = new Semaphore(clients);
        List<CompletableFuture<String>> ids = new ArrayList<>();
        for (int i = 0; i < jobs; i++) {
            inFlight.acquire();
            ids.add(HTTP.sendAsync(request(), HttpResponse.BodyHandlers.ofString()).thenApply(r -> {
                inFlight.release();
                if (r.statusCode() != 202) {
                    throw new IllegalStateException("submit answered " + r.statusCode() + ": " + r.body());
                }
                return r.headers().firstValue("Location").orElseThrow().replaceAll(".*/", "");
            }));
        }
        List<String> submitted = new ArrayList<>();
        for (CompletableFuture<String> f : ids) {
            submitted.add(f.get());
        }
        long submitNanos = System.nanoTime() - t0;
        String in = "id in (" + String.join(",", submitted.stream().map(s -> "'" + s + "'").toList()) + ")";
        await().atMost(Duration.ofMinutes(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> count(in + " and status in ('succeeded','failed')") == jobs);
        long totalNanos = System.nanoTime() - t0;

        List<Long> e2e = new ArrayList<>();
        for (String id : submitted) {
            e2e.add(endToEnd(id));
        }
        Collections.sort(e2e);
        double mean = e2e.stream().mapToLong(Long::longValue).average().orElse(0);
        String report = String.format("""
                Atelier job benchmark
                  jobs                 %d (flux-schnell, 256x256, %d requests in flight), after %d warm-up jobs
                  simulated fal latency %d ms, queue 0 ms, max concurrent jobs %s, status poll every %s
                  one at a time (%d)   end-to-end mean %.0f ms, p50 %d ms; overhead over fal mean %.0f ms, p50 %d ms
                concurrently:
                  submit rate          %.1f jobs/s (%d ms for all submits)
                  completed            %.1f jobs/s (%d ms until the last job finished)
                  end-to-end           mean %.0f ms, p50 %d ms, p95 %d ms, max %d ms
                  overhead over fal    mean %.0f ms, p50 %d ms, p95 %d ms
                """, jobs, clients, warmup, latency, System.getProperty("atelier.jobs.max-in-flight", "64"),
                System.getProperty("atelier.fal.poll-interval", "50ms (test profile)"), sequential, aloneMean, pct(alone, 50),
                aloneMean - latency, pct(alone, 50) - latency,
                jobs / (submitNanos / 1e9), submitNanos / 1_000_000, jobs / (totalNanos / 1e9), totalNanos / 1_000_000,
                mean, pct(e2e, 50), pct(e2e, 95), e2e.get(e2e.size() - 1), mean - latency, pct(e2e, 50) - latency, pct(e2e, 95) - latency);
        System.out.println(report);
        Files.writeString(Path.of("target", "benchmark.txt"), report);
    }

    private static long endToEnd(String id) {
        Map<String, Object> row = Db.queryOne("select created_at, finished_at, status from jobs where id = ?::uuid", id);
        assertThat(row.get("status")).isEqualTo("succeeded");
        return ((Timestamp) row.get("finished_at")).getTime() - ((Timestamp) row.get("created_at")).getTime();
    }

    private static long pct(List<Long> sorted, int p) {
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p / 100.0 * sorted.size()) - 1));
    }

    private static long count(String where) {
        return ((Number) Db.queryOne("select count(*) as n from jobs where " + where).get("n")).longValue();
    }

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static HttpRequest request() {
        return HttpRequest.newBuilder(URI.create(RestAssured.baseURI + ":" + RestAssured.port + "/v1/jobs"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"flux-schnell\",\"prompt\":\"benchmark\",\"params\":{\"image_size\":{\"width\":256,\"height\":256}}}"))
                .build();
    }

    private static String submit() {
        return given().contentType(ContentType.JSON)
                .body(Map.of("model", "flux-schnell", "prompt", "benchmark", "params", Map.of("image_size", Map.of("width", 256, "height", 256))))
                .post("/v1/jobs").then().statusCode(202).extract().path("id");
    }
}
