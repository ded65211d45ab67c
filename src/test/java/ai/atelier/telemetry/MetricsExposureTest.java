package ai.atelier.telemetry;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import ai.atelier.support.Jobs;
import ai.atelier.support.Management;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.specification.RequestSpecification;

/**
 * What the metrics tell whom. A stranger on the API's port reads no tenant id and no spend: {@code /q/metrics}
 * and {@code /q/health} are served on the management port only, which the operator's Prometheus scrapes. And
 * whatever strangers send, the request metrics are labelled with route templates only, never a path they chose.
 */
@QuarkusTest
class MetricsExposureTest {

    static final String ADMIN = "atl_test_admin_key";
    /** What Quarkus's binding itself labels a request with when it has no template. */
    static final Set<String> FIXED_LABELS = Set.of("root", "NOT_FOUND", "REDIRECTION", "UNKNOWN", HttpServerRequests.UNMATCHED);
    private static final Pattern URI_LABEL = Pattern.compile("uri=\"([^\"]*)\"");

    @TestHTTPResource("/")
    URL base;

    private static RequestSpecification admin() {
        return given().header("Authorization", "Bearer " + ADMIN).contentType(ContentType.JSON);
    }

    @Test
    void aStrangerOnTheApiPortReadsNoTenantIdOrSpendAndTheOperatorReadsThemOnTheManagementPort() throws Exception {
        String tenant = admin().body(Map.of("name", "spender-" + UUID.randomUUID().toString().substring(0, 8))).post("/v1/admin/tenants")
                .then().statusCode(201).extract().path("id");
        admin().body(Map.of("budget_usd_per_day", 5)).patch("/v1/admin/tenants/" + tenant).then().statusCode(200);
        String key = admin().body(Map.of("name", "shop", "scopes", List.of("jobs:write", "jobs:read"))).post("/v1/admin/tenants/" + tenant + "/keys")
                .then().statusCode(201).extract().path("key");
        String job = given().header("Authorization", "Bearer " + key).contentType(ContentType.JSON)
                .body(Map.of("model", "flux-schnell", "prompt", "a spend to hide")).post("/v1/jobs").then().statusCode(202).extract().path("id");
        assertThat(Jobs.awaitTerminal(job, key).getString("status")).isEqualTo("succeeded");

        // the operator: every tenant's spend and budget, by id, on the management port (gauges refresh every second in tests)
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Management.metrics())
                .containsPattern("atelier_tenant_spent_usd\\{[^}]*tenant=\"" + tenant + "\"[^}]*\\} 0\\.0\\d*[1-9]")
                .containsPattern("atelier_tenant_budget_remaining_usd\\{[^}]*tenant=\"" + tenant + "\""));

        // a stranger (no key, or a tenant's own key) on the API's port: nothing, under any spelling
        for (String path : List.of("/q/metrics", "/q/metrics/", "/q/metrics?name=atelier_tenant_spent_usd", "/q//metrics", "/q/./metrics",
                "/q/x/../metrics", "/q/metrics/prometheus", "/metrics", "/q/health", "/q/health/ready", "/q/health/group/dependencies")) {
            for (String who : java.util.Arrays.asList(null, "Bearer " + key)) {
                String answer = raw("127.0.0.1", "GET", path, who, false);
                assertThat(answer).as("GET %s on the API's port", path).startsWith("HTTP/1.1 404").doesNotContain(tenant)
                        .doesNotContain("atelier_tenant").doesNotContain("_usd");
            }
        }
        // spend on the API's port is the admin API's, for the operator's key only
        given().header("Authorization", "Bearer " + key).get("/v1/admin/usage?group_by=tenant").then().statusCode(403);
        assertThat(admin().get("/v1/admin/usage?group_by=tenant").then().statusCode(200).extract().jsonPath().getList("group"))
                .contains(tenant);
    }

    @Test
    void junkPathsFromStrangersNeverBecomeUriLabels() throws Exception {
        String junk = "junk" + UUID.randomUUID().toString().substring(0, 8);
        List<String> paths = new ArrayList<>();
        for (int i = 0; i < 150; i++) {
            paths.add(switch (i % 5) {
                case 0 -> "/" + junk + "-" + i; // nothing there
                case 1 -> "/v1/jobs/" + UUID.randomUUID() + "/" + junk + i; // under a real route
                case 2 -> "/v1/" + junk + "/" + i + "/status";
                case 3 -> "/api/" + junk + i + "/x/y";
                default -> "/playground/" + junk + i + ".js";
            });
        }
        // raw sockets: each from a loopback address of its own choosing (at most 20 failed keys per address, so the
        // failed-authentication limit blocks none of this test's other requests), and no HTTP client in between
        for (int i = 0; i < paths.size(); i++) {
            String path = paths.get(i);
            String from = "127.0.0." + (20 + i % 10);
            switch (i % 3) {
                // a wrong key: refused by the authenticator before any route is matched
                case 0 -> assertThat(raw(from, "GET", path, "Bearer atl_" + junk + i, false)).as("GET %s with a wrong key", path)
                        .startsWith(path.startsWith("/playground/") ? "HTTP/1.1 404" : "HTTP/1.1 401");
                // no key (this profile's anonymous tenant), and no such route or a method the route does not take
                case 1 -> assertThat(raw(from, "DELETE", path, null, false)).as("DELETE %s", path).matches("(?s)HTTP/1.1 40[45] .*");
                // a client that sends its request and hangs up before the answer (the server's answer is then a reset)
                default -> raw(from, "GET", path, "Bearer atl_" + junk + i, true);
            }
        }
        // and a real route, so the templates are known to be recorded
        given().get("/v1/jobs/" + UUID.randomUUID()).then().statusCode(404);
        given().get("/v1/models").then().statusCode(200);

        Set<String> templates = documentedPaths();
        String[] text = new String[1];
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            text[0] = Management.metrics();
            assertThat(uriLabels(text[0])).contains("/v1/jobs/{id}", "/v1/models", HttpServerRequests.UNMATCHED);
        });
        Set<String> labels = uriLabels(text[0]);
        assertThat(labels).as("uri labels of %s", "http_server_requests")
                .allSatisfy(l -> assertThat(templates.contains(l) || FIXED_LABELS.contains(l)).as("%s is a route template", l).isTrue());
        assertThat(text[0]).as("the management port's metrics").doesNotContain(junk);
        // the refusals and the hang-ups were counted, under that one label
        assertThat(text[0]).containsPattern("http_server_requests_seconds_count\\{[^}]*status=\"401\"[^}]*uri=\"/\\{unmatched}\"")
                .containsPattern("http_server_requests_seconds_count\\{[^}]*status=\"RESET\"[^}]*uri=\"/\\{unmatched}\"");
    }

    /**
     * One request over a socket bound to {@code from}, past any HTTP client: the whole answer, or null when
     * {@code hangUp}: then the connection is reset right after the request is sent, before any answer.
     */
    private String raw(String from, String method, String path, String authorization, boolean hangUp) throws Exception {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(from, 0));
            s.connect(new InetSocketAddress("127.0.0.1", base.getPort()), 2000);
            s.setSoTimeout(5000);
            if (hangUp) {
                s.setSoLinger(true, 0); // closing sends a reset
            }
            OutputStream out = s.getOutputStream();
            out.write((method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                    + (authorization == null ? "" : "Authorization: " + authorization + "\r\n") + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return hangUp ? null : new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** Every {@code uri} label of the HTTP server's request series. */
    private static Set<String> uriLabels(String metrics) {
        Set<String> labels = new TreeSet<>();
        for (String line : metrics.split("\n")) {
            if (line.startsWith("http_server_requests")) {
                Matcher m = URI_LABEL.matcher(line);
                if (m.find()) {
                    labels.add(m.group(1));
                }
            }
        }
        return labels;
    }

    /** The route templates, as the served API document names them. */
    private static Set<String> documentedPaths() {
        Map<String, Object> paths = given().accept(ContentType.JSON).get("/q/openapi?format=json").then().statusCode(200).extract().jsonPath()
                .getMap("paths");
        assertThat(paths).containsKey("/v1/jobs/{id}");
        return new TreeSet<>(paths.keySet());
    }
}
