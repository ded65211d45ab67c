package ai.atelier.telemetry;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpServer;

import ai.atelier.deploy.GrafanaDashboardTest;
import ai.atelier.support.Db;
import ai.atelier.support.Jobs;
import ai.atelier.support.Management;
import ai.atelier.support.Simulator;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.specification.RequestSpecification;

/** What an operator sees: the metrics the Grafana dashboard is built on, and one trace per job across its runs. */
@QuarkusTest
class TelemetryTest {

    static final String ADMIN = "atl_test_admin_key";

    @Inject
    InMemorySpanExporter spans;

    @BeforeEach
    void reset() {
        Simulator.reset();
        // a queue wait and an inference long enough for a stream to see IN_QUEUE, then IN_PROGRESS
        Simulator.settings(150, 300);
    }

    private static RequestSpecification admin() {
        return given().header("Authorization", "Bearer " + ADMIN).contentType(ContentType.JSON);
    }

    private static RequestSpecification as(String key) {
        return given().header("Authorization", "Bearer " + key);
    }

    private static void fal422() {
        Simulator.fault(Map.of("target", "complete", "status", 422, "detail", "Image dimensions are too small", "error_type", "image_too_small"));
    }

    private static String tenantKey(Map<String, Object> limits) {
        String tenant = admin().body(Map.of("name", "telemetry-" + UUID.randomUUID().toString().substring(0, 8))).post("/v1/admin/tenants")
                .then().statusCode(201).extract().path("id");
        admin().body(limits).patch("/v1/admin/tenants/" + tenant).then().statusCode(200);
        return admin().body(Map.of("name", "ops", "scopes", List.of("jobs:write", "jobs:read"))).post("/v1/admin/tenants/" + tenant + "/keys")
                .then().statusCode(201).extract().path("key");
    }

    /** Every series name in /q/metrics (the part before the labels or the value). */
    static Set<String> exported(String text) {
        Set<String> names = new TreeSet<>();
        for (String line : text.split("\n")) {
            if (!line.isBlank() && !line.startsWith("#")) {
                int end = line.indexOf('{');
                names.add(line.substring(0, end > 0 ? end : line.indexOf(' ')));
            }
        }
        return names;
    }

    /** The value of the first series of this name whose labels include all of {@code labels}; null when there is none. */
    private static Double value(String text, String name, String... labels) {
        for (String line : text.split("\n")) {
            if (line.startsWith(name + "{") && java.util.Arrays.stream(labels).allMatch(line::contains)) {
                // a counter may carry an exemplar after " # " (the trace it was last counted in)
                String sample = line.split(" # ", 2)[0];
                return Double.valueOf(sample.substring(sample.lastIndexOf(' ') + 1));
            }
        }
        return null;
    }

    @Test
    void everyMetricTheDashboardQueriesIsExportedOnceJobsHaveRun() throws Exception {
        AtomicInteger hooks = new AtomicInteger();
        HttpServer receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        receiver.createContext("/hook", exchange -> {
            exchange.getRequestBody().readAllBytes();
            hooks.incrementAndGet();
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        receiver.start();
        try {
            String key = tenantKey(Map.of("budget_usd_per_day", 5, "requests_per_minute", 30));
            String hook = "http://localhost:" + receiver.getAddress().getPort() + "/hook";
            as(key).post("/v1/webhook-secret").then().statusCode(201); // webhooks are signed with the tenant's own secret
            String ok = as(key).contentType(ContentType.JSON).body(Map.of("model", "flux-schnell", "prompt", "a dashboard", "webhook",
                    Map.of("url", hook, "events", List.of("completed")))).post("/v1/jobs").then().statusCode(202).extract().path("id");
            assertThat(Jobs.awaitTerminal(ok, key).getString("status")).isEqualTo("succeeded");
            fal422();
            String bad = as(key).contentType(ContentType.JSON).body(Map.of("model", "flux-schnell", "prompt", "a failure"))
                    .post("/v1/jobs").then().statusCode(202).extract().path("id");
            assertThat(Jobs.awaitTerminal(bad, key).getString("status")).isEqualTo("failed");
            String failedCode = (String) Db.job(UUID.fromString(bad)).get("error_code");
            // past the tenant's 30 requests a minute: a 429 at least
            await().atMost(Duration.ofSeconds(10)).until(() -> as(key).get("/v1/models").statusCode() == 429);
            await().atMost(Duration.ofSeconds(10)).until(() -> hooks.get() >= 1);

            // a seeded request twice for a tenant with the result cache on: a miss, then a hit that saved the first one's price
            String cached = tenantKey(Map.of("cache_enabled", true));
            Map<String, Object> seeded = Map.of("model", "flux-schnell", "prompt", "a cached dashboard", "params", Map.of("seed", 3));
            for (String expected : List.of("miss", "hit")) {
                String id = as(cached).contentType(ContentType.JSON).body(seeded).post("/v1/jobs").then().statusCode(202).extract().path("id");
                assertThat(Jobs.awaitTerminal(id, cached).getString("cache")).isEqualTo(expected);
            }

            Set<String> wanted = GrafanaDashboardTest.metricNames();
            assertThat(wanted).contains("atelier_jobs_accepted_total", "atelier_fal_queue_seconds_bucket", "atelier_circuit_breaker_state");
            // gauges read from PostgreSQL refresh every second in tests
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                String text = Management.metrics();
                assertThat(exported(text)).containsAll(wanted);
                assertThat(value(text, "atelier_webhook_deliveries_total", "outcome=\"delivered\"")).isGreaterThanOrEqualTo(1.0);
            });
            String text = Management.metrics();
            assertThat(value(text, "atelier_jobs_accepted_total", "model=\"flux-schnell\"")).isGreaterThanOrEqualTo(2.0);
            assertThat(value(text, "atelier_jobs_finished_total", "model=\"flux-schnell\"", "outcome=\"succeeded\"")).isGreaterThanOrEqualTo(1.0);
            assertThat(value(text, "atelier_jobs_failed_total", "model=\"flux-schnell\"", "code=\"" + failedCode + "\"")).isGreaterThanOrEqualTo(1.0);
            assertThat(value(text, "atelier_fal_queue_seconds_count", "endpoint=\"fal-ai/flux/schnell\"")).isGreaterThanOrEqualTo(1.0);
            assertThat(value(text, "atelier_fal_inference_seconds_count", "endpoint=\"fal-ai/flux/schnell\"")).isGreaterThanOrEqualTo(1.0);
            // buckets reach 15 minutes (video is coming)
            assertThat(value(text, "atelier_fal_inference_seconds_bucket", "endpoint=\"fal-ai/flux/schnell\"", "le=\"900.0\"")).isNotNull();
            assertThat(value(text, "atelier_stage_duration_seconds_count", "stage=\"infer\"")).isGreaterThanOrEqualTo(2.0);
            assertThat(value(text, "atelier_stage_duration_seconds_count", "stage=\"store\"")).isGreaterThanOrEqualTo(1.0);
            assertThat(value(text, "atelier_circuit_breaker_state", "name=\"fal\"")).isEqualTo(0.0);
            assertThat(value(text, "atelier_circuit_breaker_state", "name=\"s3\"")).isEqualTo(0.0);
            assertThat(value(text, "atelier_jobs", "state=\"queued\"")).isNotNull();
            // no job id in any label: cardinality stays bounded
            assertThat(text).doesNotContain(ok).doesNotContain(bad);
        } finally {
            receiver.stop(0);
        }
    }

    @Test
    void aJobsRunContinuesTheTraceOfTheRequestThatSubmittedItWithGenAiSpansForFal() {
        spans.reset();
        String id = given().contentType(ContentType.JSON).body(Map.of("model", "flux-schnell", "prompt", "a traced bicycle"))
                .post("/v1/jobs").then().statusCode(202).extract().path("id");
        assertThat(Jobs.awaitTerminal(id).getString("status")).isEqualTo("succeeded");
        Map<String, Object> row = Db.job(UUID.fromString(id));
        String traceparent = (String) row.get("trace_parent");
        assertThat(traceparent).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]");
        String traceId = traceparent.split("-")[1];
        String submitSpan = traceparent.split("-")[2];

        SpanData run = awaitRun(id);
        List<SpanData> trace = spans.getFinishedSpanItems().stream().filter(s -> s.getTraceId().equals(traceId)).toList();
        SpanData request = trace.stream().filter(s -> s.getKind() == SpanKind.SERVER).findFirst().orElseThrow();
        assertThat(request.getName()).contains("/v1/jobs");
        assertThat(trace).extracting(SpanData::getSpanId).contains(submitSpan);

        assertThat(run.getTraceId()).isEqualTo(traceId);
        assertThat(run.getParentSpanId()).isEqualTo(submitSpan);
        assertThat(run.getAttributes().get(Traces.TENANT)).isEqualTo("default");
        SpanData infer = one(trace, "stage infer");
        SpanData store = one(trace, "stage store");
        assertThat(infer.getParentSpanId()).isEqualTo(run.getSpanId());
        assertThat(store.getParentSpanId()).isEqualTo(run.getSpanId());

        SpanData fal = one(trace, "generate_content fal-ai/flux/schnell");
        assertThat(fal.getKind()).isEqualTo(SpanKind.CLIENT);
        assertThat(fal.getParentSpanId()).isEqualTo(infer.getSpanId());
        assertThat(fal.getAttributes().get(Traces.OPERATION)).isEqualTo("generate_content");
        assertThat(fal.getAttributes().get(Traces.PROVIDER)).isEqualTo("fal");
        assertThat(fal.getAttributes().get(Traces.REQUEST_MODEL)).isEqualTo("fal-ai/flux/schnell");
        assertThat(fal.getAttributes().get(Traces.RESPONSE_ID)).isEqualTo(row.get("fal_request_id"));
        assertThat(fal.getAttributes().get(Traces.JOB_ID)).isEqualTo(id);

        // the output's upload, under the store stage
        SpanData put = trace.stream().filter(s -> s.getName().equals("S3.PutObject") && s.getParentSpanId().equals(store.getSpanId()))
                .findFirst().orElseThrow();
        assertThat(put.getAttributes().get(AttributeKey.stringKey("aws.s3.bucket"))).isNotBlank();
    }

    @Test
    void aFailedJobMarksItsRunAndItsFalCallWithTheErrorType() {
        spans.reset();
        fal422();
        String id = given().contentType(ContentType.JSON).body(Map.of("model", "flux-schnell", "prompt", "doomed"))
                .post("/v1/jobs").then().statusCode(202).extract().path("id");
        assertThat(Jobs.awaitTerminal(id).getString("status")).isEqualTo("failed");
        String code = (String) Db.job(UUID.fromString(id)).get("error_code");
        SpanData run = awaitRun(id);
        assertThat(run.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
        assertThat(run.getAttributes().get(Traces.ERROR_TYPE)).isEqualTo(code);
        SpanData fal = one(spans.getFinishedSpanItems().stream().filter(s -> s.getTraceId().equals(run.getTraceId())).toList(),
                "generate_content fal-ai/flux/schnell");
        assertThat(fal.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
        assertThat(fal.getAttributes().get(Traces.ERROR_TYPE)).isNotBlank();
    }

    private SpanData awaitRun(String id) {
        SpanData[] found = new SpanData[1];
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            found[0] = spans.getFinishedSpanItems().stream()
                    .filter(s -> s.getName().equals("job flux-schnell") && id.equals(s.getAttributes().get(Traces.JOB_ID))).findFirst().orElse(null);
            return found[0] != null;
        });
        return found[0];
    }

    private static SpanData one(List<SpanData> trace, String name) {
        List<SpanData> named = trace.stream().filter(s -> s.getName().equals(name)).toList();
        assertThat(named).as("spans named %s in %s", name, trace.stream().map(SpanData::getName).toList()).hasSize(1);
        return named.get(0);
    }
}
