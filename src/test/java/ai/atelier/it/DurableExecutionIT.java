package ai.atelier.it;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.restassured.http.ContentType;

/**
 * Jobs survive the processes that run them: two instances never run a job twice, kill -9 with jobs
 * in flight loses none and never pays fal twice, SIGTERM hands unfinished work back at once.
 * Runs the packaged application (prod profile) as real processes.
 */
class DurableExecutionIT {

    static Instances instances;

    @BeforeAll
    static void servers() throws Exception {
        instances = new Instances();
    }

    @AfterAll
    static void stop() {
        instances.close();
    }

    @BeforeEach
    void reset() {
        given().baseUri(instances.simulator()).post("/_sim/reset").then().statusCode(204);
    }

    private static void latency(long ms) {
        given().baseUri(instances.simulator()).contentType(ContentType.JSON).body(Map.of("queue_ms", 0, "latency_ms", ms))
                .put("/_sim/settings").then().statusCode(200);
    }

    private static String submit(Instances.Instance to, String prompt) {
        return given().baseUri(to.url()).contentType(ContentType.JSON).body(Map.of("model", "flux-schnell", "prompt", prompt))
                .post("/v1/jobs").then().statusCode(202).extract().path("id");
    }

    /** Prompts of every fal submission the simulator received, one entry per submission. */
    private static List<String> falSubmissions() {
        List<Map<String, Object>> requests = given().baseUri(instances.simulator()).get("/_sim/requests").then().extract().jsonPath()
                .getList("requests");
        List<String> prompts = new ArrayList<>();
        for (Map<String, Object> r : requests) {
            if ("POST".equals(r.get("method")) && "/queue/fal-ai/flux/schnell".equals(r.get("path"))) {
                prompts.add(String.valueOf(((Map<?, ?>) r.get("body")).get("prompt")));
            }
        }
        return prompts;
    }

    private static String in(List<String> ids) {
        return "id in ('" + String.join("','", ids) + "')";
    }

    @Test
    void twoInstancesShareTheWorkAndNeverRunAJobTwice() throws Exception {
        latency(300);
        Instances.Instance a = instances.start("share-a", Map.of());
        Instances.Instance b = instances.start("share-b", Map.of());
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            ids.add(submit(i % 2 == 0 ? a : b, "shared-" + i));
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> instances.count(in(ids) + " and status = 'succeeded'") == ids.size());

        List<String> prompts = falSubmissions();
        assertThat(prompts).hasSize(40);
        assertThat(new HashSet<>(prompts)).hasSize(40);
        assertThat(instances.count(in(ids) + " and claims = 1")).isEqualTo(40);
        Set<Object> owners = new HashSet<>();
        instances.rows("select lease_owner from jobs where " + in(ids)).forEach(r -> owners.add(r.get("lease_owner")));
        assertThat(owners).containsExactlyInAnyOrder("share-a", "share-b");
        a.process().destroy();
        b.process().destroy();
        assertThat(a.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(b.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void eventsReachAClientOnAnotherInstanceThanTheOneRunningTheJob() throws Exception {
        latency(800);
        Instances.Instance front = instances.start("events-front", Map.of("atelier.jobs.max-in-flight", "0")); // takes HTTP, runs nothing
        Instances.Instance worker = instances.start("events-worker", Map.of());
        String id = submit(front, "watched from elsewhere");
        java.net.http.HttpResponse<java.util.stream.Stream<String>> response = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create(front.url() + "/v1/jobs/" + id + "/events"))
                        .timeout(Duration.ofSeconds(30)).build(),
                java.net.http.HttpResponse.BodyHandlers.ofLines());
        List<String> data = response.body().filter(l -> l.startsWith("data:")).toList();
        assertThat(data.get(data.size() - 1)).contains("\"status\":\"succeeded\"");
        assertThat(data).anySatisfy(d -> assertThat(d).contains("\"stage\":\"infer\""));
        assertThat(instances.rows("select lease_owner from jobs where id = '" + id + "'").get(0).get("lease_owner")).isEqualTo("events-worker");
        front.process().destroy();
        worker.process().destroy();
        front.process().waitFor(30, TimeUnit.SECONDS);
        worker.process().waitFor(30, TimeUnit.SECONDS);
    }

    @Test
    void killNineWithJobsInFlightLosesNoneAndNeverSubmitsTwice() throws Exception {
        // long enough that none finishes before the kill: on a slow machine the 20 submits to a freshly started
        // instance took 4.2 s, and with fal at 3 s the first job had succeeded on crash-a before it was killed
        latency(10_000);
        // at most 5 at once: the other 15 wait in PostgreSQL, not in the instance's memory
        Instances.Instance a = instances.start("crash-a", Map.of("atelier.jobs.max-in-flight", "5"));
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            ids.add(submit(a, "crash-" + i));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> instances.count(in(ids) + " and fal_request_id is not null") == 5);
        assertThat(instances.count(in(ids) + " and status = 'queued' and lease_owner is null")).isEqualTo(15);

        a.process().destroyForcibly(); // SIGKILL: no shutdown hook, no hand-back
        assertThat(a.process().waitFor(10, TimeUnit.SECONDS)).isTrue();

        assertThat(instances.count(in(ids) + " and status in ('succeeded', 'failed')")).isZero();

        latency(200);
        Instances.Instance b = instances.start("crash-b", Map.of());
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> instances.count(in(ids) + " and status in ('succeeded', 'failed')") == ids.size());
            assertThat(instances.count(in(ids) + " and status = 'succeeded'")).isEqualTo(20);
            List<String> prompts = falSubmissions();
            assertThat(prompts).hasSize(20);
            assertThat(new HashSet<>(prompts)).hasSize(20);
            assertThat(instances.count(in(ids) + " and lease_owner = 'crash-b'")).isEqualTo(20);
        } finally {
            // a failure here must not leave crash-b running: it would claim the next tests' jobs
            b.process().destroy();
            b.process().waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void killNineWhileVideoJobsWaitAtFalResumesThemByTheirRequestsStoresEachClipAndPaysOnce() throws Exception {
        latency(15_000); // both still rendering at fal when the instance dies, whatever the machine's speed
        String veo = "fal-ai/veo3.1/fast";
        Instances.Instance a = instances.start("video-kill-a", Map.of());
        List<String> ids = new ArrayList<>();
        for (String prompt : List.of("a paper boat on a rainy street", "steam rising from a cup")) {
            ids.add(given().baseUri(a.url()).contentType(ContentType.JSON)
                    .body(Map.of("model", "veo-3.1-fast", "prompt", prompt, "params", Map.of("duration", "4s"))).post("/v1/jobs").then()
                    .statusCode(202).extract().path("id"));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> instances.count(in(ids) + " and fal_request_id is not null") == 2);
        Map<Object, Object> requestIds = new java.util.HashMap<>();
        instances.rows("select id, fal_request_id from jobs where " + in(ids)).forEach(r -> requestIds.put(String.valueOf(r.get("id")),
                r.get("fal_request_id")));

        a.process().destroyForcibly(); // SIGKILL while fal renders: no hand-back, the leases run out
        assertThat(a.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(instances.count(in(ids) + " and status = 'running'")).as("both were waiting at fal when killed").isEqualTo(2);

        Instances.Instance b = instances.start("video-kill-b", Map.of());
        try {
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(1))
                    .until(() -> instances.count(in(ids) + " and status in ('succeeded', 'failed', 'cancelled')") == 2);
            for (String id : ids) {
                io.restassured.path.json.JsonPath job = given().baseUri(b.url()).get("/v1/jobs/" + id).then().statusCode(200).extract().jsonPath();
                assertThat(job.getString("status")).as(job.prettify()).isEqualTo("succeeded");
                assertThat(job.getString("fal_request_id")).as("resumed by the request the killed instance made").isEqualTo(requestIds.get(id));
                assertThat(job.getString("outputs[0].content_type")).isEqualTo("video/mp4");
                // the stored object itself, through its presigned URL: a whole MP4 of the 4 s asked
                var served = given().urlEncodingEnabled(false).get(job.getString("outputs[0].url")).then().statusCode(200)
                        .contentType("video/mp4").extract().asByteArray();
                ai.atelier.ingest.VideoInfo.Checked info = ai.atelier.ingest.VideoInfo.check(served);
                assertThat(info.ok()).isTrue();
                assertThat(info.video().seconds()).isCloseTo(4.0, org.assertj.core.api.Assertions.within(0.1));
                assertThat(job.getLong("outputs[0].bytes")).isEqualTo(served.length);
            }
            List<Map<String, Object>> submissions = given().baseUri(instances.simulator()).get("/_sim/requests").then().extract().jsonPath()
                    .getList("requests");
            assertThat(submissions.stream().filter(r -> "POST".equals(r.get("method")) && ("/queue/" + veo).equals(r.get("path"))))
                    .as("fal was asked once per job").hasSize(2);
            assertThat(instances.rows("select job_id, fal_request_id from ledger where job_id::text in ('" + String.join("','", ids) + "')"))
                    .as("one ledger row per job, for the request that made its clip")
                    .extracting(r -> String.valueOf(r.get("job_id")), r -> r.get("fal_request_id"))
                    .containsExactlyInAnyOrder(ids.stream().map(id -> org.assertj.core.groups.Tuple.tuple(id, requestIds.get(id))).toArray(
                            org.assertj.core.groups.Tuple[]::new));
        } finally {
            b.process().destroy();
            b.process().waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void killNineWithAThousandJobsInFlightLosesNoneAndPaysEachOnce() throws Exception {
        // The issue measured it with fal at 8 s, where 1,000 submits took about 2 s; a fresh instance in a test JVM that
        // shares two cores with everything else takes longer (8 s was not enough: 699 had ended before the kill), so fal
        // takes 30 s here and every job is still waiting on it when the instance dies.
        latency(30_000);
        Instances.Instance a = instances.start("kill-a", Map.of());
        int n = 1_000;
        List<String> ids = submitAll(a, "thousand-", n);
        Thread.sleep(1_500); // the kill lands 1.5 s after the last submit, as the issue measured it
        a.process().destroyForcibly();
        assertThat(a.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(instances.count(in(ids) + " and status in ('succeeded', 'failed')")).as("ended before the kill: most must be in flight").isLessThan(n / 10);

        Instances.Instance b = instances.start("kill-b", Map.of());
        try {
            await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofSeconds(1)).until(() -> instances.count(in(ids)
                    + " and status in ('succeeded', 'failed', 'cancelled')") == n);
            assertThat(instances.count(in(ids) + " and status = 'succeeded'")).isEqualTo(n);
            List<String> prompts = falSubmissions();
            assertThat(prompts).as("fal was paid once for each job").hasSize(n);
            assertThat(new HashSet<>(prompts)).hasSize(n);
            assertThat(instances.count(in(ids) + " and lease_owner = 'kill-b'")).as("every job finished by the instance that resumed it")
                    .isEqualTo(n);
        } finally {
            b.process().destroy();
            b.process().waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void killNineMidBatchLosesNoItemAndPaysNoneTwice() throws Exception {
        // fal slow enough that the batch's share is at fal, its requests recorded, when the instance dies (the kill lands
        // outside the one window of a submit fal accepted and the row has not recorded yet: see the README)
        latency(20_000);
        Instances.Instance a = instances.start("batch-kill-a", Map.of("atelier.batches.max-running", "40", "atelier.batches.feed-interval", "200ms"));
        int n = 300;
        List<Map<String, Object>> items = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            items.add(Map.of("custom_id", "item-" + i, "model", "flux-schnell", "prompt", "batch-kill-" + i));
        }
        String batch = given().baseUri(a.url()).contentType(ContentType.JSON).body(Map.of("requests", items)).post("/v1/batches").then()
                .statusCode(202).extract().path("id");
        String mine = "batch_id = '" + batch + "'";
        assertThat(instances.count(mine)).isEqualTo(n);
        await().atMost(Duration.ofSeconds(60)).until(() -> instances.count(mine + " and fal_request_id is not null") == 40);
        a.process().destroyForcibly(); // SIGKILL mid-batch: its share waiting at fal, the rest held
        assertThat(a.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(instances.count(mine + " and status = 'queued' and lease_until = 'infinity'")).as("still held").isEqualTo(n - 40);

        latency(100);
        Instances.Instance b = instances.start("batch-kill-b", Map.of("atelier.batches.max-running", "40", "atelier.batches.feed-interval", "200ms"));
        try {
            await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofSeconds(1))
                    .until(() -> "completed".equals(instances.rows("select status from batches where id = '" + batch + "'").get(0).get("status")));
            assertThat(instances.count(mine + " and status = 'succeeded'")).isEqualTo(n);
            List<String> prompts = falSubmissions().stream().filter(p -> p.startsWith("batch-kill-")).toList();
            assertThat(prompts).as("fal was asked once for each item").hasSize(n);
            assertThat(new HashSet<>(prompts)).hasSize(n);
            io.restassured.path.json.JsonPath view = given().baseUri(b.url()).get("/v1/batches/" + batch).then().statusCode(200).extract().jsonPath();
            assertThat(view.getInt("request_counts.succeeded")).isEqualTo(n);
        } finally {
            b.process().destroy();
            b.process().waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** {@code n} submits to one instance, 32 at a time (as many clients would); their job ids. */
    private static List<String> submitAll(Instances.Instance to, String prefix, int n) throws Exception {
        java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder().executor(java.util.concurrent.Executors.newFixedThreadPool(4)).build();
        java.util.concurrent.Semaphore window = new java.util.concurrent.Semaphore(32);
        List<java.util.concurrent.CompletableFuture<String>> answers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            window.acquire();
            String body = "{\"model\": \"flux-schnell\", \"prompt\": \"" + prefix + i + "\"}";
            answers.add(http.sendAsync(java.net.http.HttpRequest.newBuilder(java.net.URI.create(to.url() + "/v1/jobs"))
                    .header("Content-Type", "application/json").timeout(Duration.ofSeconds(60))
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(), java.net.http.HttpResponse.BodyHandlers.ofString())
                    .whenComplete((r, e) -> window.release())
                    .thenApply(r -> {
                        if (r.statusCode() != 202) {
                            throw new IllegalStateException("submit answered " + r.statusCode() + ": " + r.body());
                        }
                        return io.restassured.path.json.JsonPath.from(r.body()).getString("id");
                    }));
        }
        List<String> ids = new ArrayList<>();
        for (var a : answers) {
            ids.add(a.get(60, TimeUnit.SECONDS));
        }
        return ids;
    }

    @Test
    void sigtermHandsUnfinishedJobsBackWithinTheGracePeriod() throws Exception {
        latency(8_000); // still in flight at fal when the instance is told to stop
        Instances.Instance a = instances.start("term-a", Map.of("atelier.jobs.shutdown-grace", "2s"));
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            ids.add(submit(a, "term-" + i));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> instances.count(in(ids) + " and fal_request_id is not null") == 5);
        long t0 = System.nanoTime();
        a.process().destroy(); // SIGTERM
        assertThat(a.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0)).isLessThan(25);
        // handed back: no owner, no lease to wait out
        assertThat(instances.count(in(ids) + " and lease_owner is null and status = 'running'")).isEqualTo(5);

        Instances.Instance b = instances.start("term-b", Map.of());
        await().atMost(Duration.ofSeconds(60)).until(() -> instances.count(in(ids) + " and status = 'succeeded'") == 5);
        assertThat(falSubmissions()).hasSize(5);
        b.process().destroy();
        b.process().waitFor(30, TimeUnit.SECONDS);
    }
}
