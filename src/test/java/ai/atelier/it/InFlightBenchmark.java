package ai.atelier.it;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import io.restassured.http.ContentType;

/**
 * Thousands of jobs in flight on one instance (the packaged jar, its own process) with the simulator
 * at a long latency: peak RSS, thread count, submit throughput, and that every job completes.
 * Not part of the suite; run after packaging:
 * {@code ./mvnw package -DskipTests && MALLOC_ARENA_MAX=2 ./mvnw -Pbench surefire:test -Dtest=InFlightBenchmark -Dbench.jobs=10000
 * -Dbench.latency-ms=60000}. The instance runs with the container image's JVM options (its Dockerfile's) unless
 * {@code -Dbench.jvm-args="…"} says otherwise.
 */
class InFlightBenchmark {

    @Test
    void run() throws Exception {
        int jobs = Integer.getInteger("bench.jobs", 10_000);
        long latency = Long.getLong("bench.latency-ms", 60_000);
        int clients = Integer.getInteger("bench.clients", 64);
        String heap = System.getProperty("bench.xmx", "");
        // JVM options for the instance, space-separated; by default the container image's (its Dockerfile's)
        List<String> jvm = new ArrayList<>(List.of(System.getProperty("bench.jvm-args", ai.atelier.bench.EngineBenchmark.imageJvmOptions())
                .trim().split("\\s+")));
        jvm.removeIf(String::isEmpty);
        if (!heap.isEmpty()) {
            jvm.add("-Xmx" + heap);
        }
        try (Instances instances = new Instances()) {
            given().baseUri(instances.simulator()).contentType(ContentType.JSON).body(Map.of("queue_ms", 0, "latency_ms", latency))
                    .put("/_sim/settings").then().statusCode(200);
            int port = freePort();
            Map<String, String> extra = new java.util.LinkedHashMap<>(Map.of("atelier.jobs.max-in-flight", String.valueOf(jobs),
                    "atelier.fal.public-base-url", "http://localhost:" + port, "atelier.fal.webhook-poll-interval", "30s",
                    "quarkus.http.port", String.valueOf(port), "atelier.jobs.lease", "60s", "quarkus.log.category.\"ai.atelier\".level", "WARN"));
            Instances.Instance atelier = instances.start("bench", extra, jvm);
            long pid = atelier.process().pid();

            // warm-up: a few hundred short jobs so the JIT has seen the submit path
            given().baseUri(instances.simulator()).contentType(ContentType.JSON).body(Map.of("queue_ms", 0, "latency_ms", 50))
                    .put("/_sim/settings").then().statusCode(200);
            submitAll(atelier.url(), 500, clients, "warm");
            await().atMost(Duration.ofMinutes(2)).until(() -> instances.count("status in ('queued','running')") == 0);
            given().baseUri(instances.simulator()).contentType(ContentType.JSON).body(Map.of("queue_ms", 0, "latency_ms", latency))
                    .put("/_sim/settings").then().statusCode(200);

            if (Boolean.getBoolean("bench.accept-only")) {
                // the accept path alone: a second instance that runs nothing takes the submits
                Instances.Instance front = instances.start("bench-front", Map.of("atelier.jobs.max-in-flight", "0",
                        "quarkus.log.category.\"ai.atelier\".level", "WARN"), jvm);
                atelier.process().destroy();
                submitAll(front.url(), 2000, clients, "warm-front");
                long a0 = System.nanoTime();
                submitAll(front.url(), jobs, clients, "accept");
                double s = (System.nanoTime() - a0) / 1e9;
                String report = String.format("Accept-only: %d submits in %.1f s = %.0f jobs/s (%d in flight), instance RSS %d MiB, threads %d%n",
                        jobs, s, jobs / s, clients, status(front.process().pid(), "VmRSS") / 1024, threads(front.process().pid()));
                System.out.println(report);
                Files.writeString(Path.of("target", "accept-benchmark.txt"), report);
                front.process().destroy();
                return;
            }
            long t0 = System.nanoTime();
            submitAll(atelier.url(), jobs, clients, "bench");
            double submitSeconds = (System.nanoTime() - t0) / 1e9;

            long[] peakThreads = { threads(pid) };
            long[] atFal = { 0 };
            await().atMost(Duration.ofMinutes(10)).pollInterval(Duration.ofSeconds(1)).until(() -> {
                peakThreads[0] = Math.max(peakThreads[0], threads(pid));
                atFal[0] = instances.count("prompt like 'bench%' and fal_request_id is not null");
                return atFal[0] == jobs;
            });
            double allAtFalSeconds = (System.nanoTime() - t0) / 1e9;
            long rssInFlight = status(pid, "VmRSS");
            await().atMost(Duration.ofMinutes(20)).pollInterval(Duration.ofSeconds(1)).until(() -> {
                peakThreads[0] = Math.max(peakThreads[0], threads(pid));
                return instances.count("prompt like 'bench%' and status in ('succeeded','failed')") == jobs;
            });
            double totalSeconds = (System.nanoTime() - t0) / 1e9;
            long succeeded = instances.count("prompt like 'bench%' and status = 'succeeded'");
            int falSubmits = given().baseUri(instances.simulator()).queryParam("method", "POST").queryParam("path", "/queue/fal-ai/flux/schnell")
                    .queryParam("prompt_prefix", "bench ").queryParam("count", "true").get("/_sim/requests").then().extract().path("count");
            String report = String.format("""
                    Atelier in-flight benchmark (packaged jar, own process%s)
                      jobs                 %d flux-schnell, simulator latency %d ms, fal webhooks on (polling every 30 s reconciles)
                      submit throughput    %.0f jobs/s (%d jobs in %.1f s, %d requests in flight, after 500 warm-up jobs)
                      all %d at fal after  %.1f s
                      RSS with all in flight %d MiB; peak RSS (VmHWM) %d MiB
                      threads              peak %d (no thread per job)
                      completed            %d of %d succeeded after %.1f s; fal saw %d submissions
                    """, jvm.isEmpty() ? "" : ", " + String.join(" ", jvm), jobs, latency, jobs / submitSeconds, jobs, submitSeconds, clients, jobs,
                    allAtFalSeconds, rssInFlight / 1024, status(pid, "VmHWM") / 1024, peakThreads[0], succeeded, jobs, totalSeconds, falSubmits);
            System.out.println(report);
            Files.writeString(Path.of("target", "inflight-benchmark.txt"), report);
            atelier.process().destroy();
        }
    }

    /**
     * Submits n jobs with {@code clients} requests in flight, over keep-alive connections. A Vert.x client:
     * java.net.http used more CPU than the instance it measured (top: ~100 % against ~56 %), so on two
     * cores the load generator, not Atelier, set the rate.
     */
    private static void submitAll(String base, int n, int clients, String prefix) throws Exception {
        URI uri = URI.create(base);
        io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
        try {
            io.vertx.core.http.HttpClient http = vertx.createHttpClient(new io.vertx.core.http.HttpClientOptions().setDefaultHost(uri.getHost())
                    .setDefaultPort(uri.getPort()).setKeepAlive(true), new io.vertx.core.http.PoolOptions().setHttp1MaxSize(clients));
            AtomicLong failed = new AtomicLong();
            java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
            CompletableFuture<Void> all = new CompletableFuture<>();
            java.util.concurrent.atomic.AtomicInteger done = new java.util.concurrent.atomic.AtomicInteger();
            Runnable[] send = new Runnable[1];
            send[0] = () -> {
                int i = next.getAndIncrement();
                if (i >= n) {
                    return;
                }
                String body = "{\"model\":\"flux-schnell\",\"prompt\":\"" + prefix + " " + i + "\",\"params\":{\"image_size\":{\"width\":64,\"height\":64}}}";
                http.request(io.vertx.core.http.HttpMethod.POST, "/v1/jobs")
                        .compose(req -> req.putHeader("Content-Type", "application/json").send(body))
                        .compose(res -> res.body().map(res.statusCode()))
                        .onComplete(ar -> {
                            if (ar.failed() || ar.result() != 202) {
                                failed.incrementAndGet();
                            }
                            if (done.incrementAndGet() == n) {
                                all.complete(null);
                            } else {
                                send[0].run();
                            }
                        });
            };
            for (int c = 0; c < Math.min(clients, n); c++) {
                vertx.runOnContext(v -> send[0].run());
            }
            all.get(10, java.util.concurrent.TimeUnit.MINUTES);
            if (failed.get() > 0) {
                throw new IllegalStateException(failed.get() + " submits failed");
            }
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    private static long threads(long pid) throws Exception {
        return status(pid, "Threads");
    }

    /** A field of /proc/PID/status: kB for Vm*, a count for Threads. */
    private static long status(long pid, String field) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    private static int freePort() throws Exception {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
