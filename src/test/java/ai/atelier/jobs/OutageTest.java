package ai.atelier.jobs;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import ai.atelier.simulator.Png;
import ai.atelier.support.Db;
import ai.atelier.support.Jobs;
import ai.atelier.support.Servers;
import ai.atelier.support.Simulator;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import software.amazon.awssdk.services.s3.S3AsyncClient;

/**
 * The stores Atelier depends on go away under running jobs and come back: nothing fal already did
 * (and billed) is thrown away, and nobody watching a job is left hanging.
 */
@QuarkusTest
@TestProfile(OutageTest.ShortBreaker.class)
class OutageTest {

    /** An S3 circuit that opens after three failures for two seconds: the outage below outlasts it. */
    public static class ShortBreaker implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("atelier.s3.breaker-threshold", "3", "atelier.s3.breaker-open-for", "2s", "quarkus.s3.api-call-timeout", "3S",
                    "quarkus.s3.api-call-attempt-timeout", "2S");
        }
    }

    @Inject
    S3AsyncClient s3;

    @TestHTTPResource("/v1/jobs")
    URI jobs;

    @Test
    void jobsFalFinishedWaitOutAnS3OutageLongerThanTheBreakerAndThenSucceed() throws Exception {
        Simulator.reset();
        Simulator.settings(0, 1500);
        List<String> ids = new ArrayList<>();
        String in;
        // S3 goes down before the first submit (a text-to-image accept does not touch it), so no job can have stored its
        // picture before the outage, however slowly the ten submits go
        Servers.stopS3();
        try {
            for (int i = 0; i < 10; i++) {
                ids.add(given().contentType(ContentType.JSON).body(Map.of("model", "flux-schnell", "prompt", "outage " + i,
                        "params", Map.of("seed", 100 + i, "image_size", Map.of("width", 256, "height", 256)))).post("/v1/jobs")
                        .then().statusCode(202).extract().path("id"));
            }
            in = "id in ('" + String.join("','", ids) + "')";
            await().atMost(Duration.ofSeconds(10)).until(() -> Db.count(in + " and fal_request_id is not null") == ids.size());
            // fal finishes every request (1.5 s after it was submitted) while S3 is down, and the breaker opens and half-opens
            // more than once
            Thread.sleep(6000);
            assertThat(Db.count(in + " and status = 'succeeded'")).isZero();
            assertThat(Db.count(in + " and status = 'failed'")).as("paid jobs failed by the outage").isZero();
        } finally {
            Servers.startS3();
        }

        await().atMost(Duration.ofSeconds(60)).until(() -> Db.count(in + " and status in ('succeeded', 'failed')") == ids.size());
        assertThat(Db.count(in + " and status = 'succeeded'")).isEqualTo(ids.size());
        for (int i = 0; i < ids.size(); i++) {
            String key = "tenants/default/jobs/" + ids.get(i) + "/outputs/0.png";
            assertThat(ai.atelier.support.Objects.bytes(s3, key)).as(key).isEqualTo(Png.render(256, 256, 100 + i));
        }
        // fal was paid once per job: nothing was submitted again to make up for the outage
        assertThat(Simulator.submissions("fal-ai/flux/schnell")).hasSize(ids.size());
    }

    @Test
    void anEventStreamEndsWithTheJobAcrossARedisRestart() throws Exception {
        Simulator.reset();
        Simulator.settings(0, 4000);
        String id = given().contentType(ContentType.JSON).body(Map.of("model", "flux-schnell", "prompt", "through a restart")).post("/v1/jobs")
                .then().statusCode(202).extract().path("id");
        List<String> before = new CopyOnWriteArrayList<>();
        CompletableFuture<HttpResponse<Void>> first = stream(id, before);
        await().atMost(Duration.ofSeconds(5)).until(() -> before.stream().anyMatch(d -> d.contains("\"infer\"")));

        Servers.stopRedis();
        Thread.sleep(1000);
        Servers.startRedis();

        // a stream opened after the restart, while the job still runs
        List<String> after = new CopyOnWriteArrayList<>();
        CompletableFuture<HttpResponse<Void>> second = stream(id, after);

        first.get(30, java.util.concurrent.TimeUnit.SECONDS);
        second.get(30, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(before.get(before.size() - 1)).contains("\"status\":\"succeeded\"");
        assertThat(after.get(after.size() - 1)).contains("\"status\":\"succeeded\"");
        assertThat(Jobs.awaitTerminal(id).getString("status")).isEqualTo("succeeded");
        assertThat(Db.job(UUID.fromString(id))).containsEntry("status", "succeeded");
    }

    /** Reads a job's event stream in the background; completes when the server ends it. */
    private CompletableFuture<HttpResponse<Void>> stream(String id, List<String> data) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(jobs + "/" + id + "/events")).timeout(Duration.ofSeconds(60))
                .header("Accept", "text/event-stream").build();
        return HttpClient.newHttpClient().sendAsync(request, HttpResponse.BodyHandlers.fromLineSubscriber(new java.util.concurrent.Flow.Subscriber<>() {
            @Override
            public void onSubscribe(java.util.concurrent.Flow.Subscription s) {
                s.request(Long.MAX_VALUE);
            }

            @Override
            public void onNext(String line) {
                if (line.startsWith("data:")) {
                    data.add(line.substring(5).trim());
                }
            }

            @Override
            public void onError(Throwable t) {
            }

            @Override
            public void onComplete() {
            }
        }));
    }
}
