package ai.atelier.contract;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import ai.atelier.auth.Scopes;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;

/**
 * What the served OpenAPI document says about calling each route is what the service does, route by route, read from
 * the document itself (so a route added later is held to it too): the scope an operation names ({@code
 * x-required-scope}) is the one whose absence gets a 403 and whose presence gets past the check; an operation with
 * {@code security: []} takes no key; and every query parameter's type, range, enumeration and default are the ones the
 * service enforces.
 */
@QuarkusTest
class DocumentedAccessTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> METHODS = Set.of("get", "post", "put", "patch", "delete");
    private static final String ADMIN = "atl_test_admin_key";

    private static JsonNode document() throws IOException {
        return JSON.readTree(given().accept("application/json").get("/q/openapi?format=json").then().statusCode(200).extract().asString());
    }

    /** A fresh tenant's key with these scopes. */
    private static String key(String... scopes) {
        String tenant = given().header("Authorization", "Bearer " + ADMIN).contentType(ContentType.JSON)
                .body(Map.of("name", "doc-" + UUID.randomUUID().toString().substring(0, 8))).post("/v1/admin/tenants").then().statusCode(201)
                .extract().path("id");
        return given().header("Authorization", "Bearer " + ADMIN).contentType(ContentType.JSON).body(Map.of("name", "doc", "scopes", List.of(scopes)))
                .post("/v1/admin/tenants/" + tenant + "/keys").then().statusCode(201).extract().path("key");
    }

    /**
     * The operation called with nothing but the key (and the content type it takes, without which routing refuses it
     * first): ids are unknown UUIDs and no body is sent, so nothing is changed.
     */
    private static Response call(String method, String path, JsonNode operation, String key) {
        String url = path.replaceAll("\\{[^}]+}", UUID.randomUUID().toString());
        RequestSpecification request = given().redirects().follow(false);
        Iterator<String> types = operation.path("requestBody").path("content").fieldNames();
        if (types.hasNext()) {
            request.contentType(types.next());
        }
        if (key != null) {
            request.header("X-API-Key", key);
        }
        return request.request(method.toUpperCase(), url);
    }

    @Test
    void theScopeEachOperationNamesIsTheOneTheServiceChecks() throws IOException {
        // a key with every scope but the one needed, and one with exactly that scope (the admin API: the operator's key)
        Map<String, String> without = Map.of(Scopes.JOBS_READ, key(Scopes.JOBS_WRITE), Scopes.JOBS_WRITE, key(Scopes.JOBS_READ), Scopes.ADMIN,
                key(Scopes.JOBS_READ, Scopes.JOBS_WRITE));
        Map<String, String> with = Map.of(Scopes.JOBS_READ, key(Scopes.JOBS_READ), Scopes.JOBS_WRITE, key(Scopes.JOBS_WRITE), Scopes.ADMIN, ADMIN);
        List<String> wrong = new ArrayList<>();
        int checked = 0;
        for (var path : iterable(document().path("paths").fields())) {
            for (var op : iterable(path.getValue().fields())) {
                if (!METHODS.contains(op.getKey()) || op.getValue().path("security").isEmpty()) {
                    continue;
                }
                String name = op.getKey().toUpperCase() + " " + path.getKey();
                String scope = op.getValue().path("x-required-scope").asText(null);
                if (scope == null) {
                    wrong.add(name + " needs a key but names no scope");
                    continue;
                }
                Response refused = call(op.getKey(), path.getKey(), op.getValue(), without.get(scope));
                if (refused.statusCode() != 403 || !refused.jsonPath().getString("type").endsWith("/missing-scope")) {
                    wrong.add(name + " without " + scope + " answered " + refused.statusCode() + " " + refused.asString());
                }
                Response admitted = call(op.getKey(), path.getKey(), op.getValue(), with.get(scope));
                if (admitted.statusCode() == 401 || admitted.statusCode() == 403) {
                    wrong.add(name + " with " + scope + " answered " + admitted.statusCode() + " " + admitted.asString());
                }
                checked++;
            }
        }
        assertThat(checked).isGreaterThan(30);
        assertThat(wrong).isEmpty();
    }

    @Test
    void anOperationWithoutSecurityTakesNoKey() throws IOException {
        List<String> open = new ArrayList<>();
        for (var path : iterable(document().path("paths").fields())) {
            for (var op : iterable(path.getValue().fields())) {
                if (METHODS.contains(op.getKey()) && op.getValue().has("security") && op.getValue().path("security").isEmpty()) {
                    open.add(op.getKey().toUpperCase() + " " + path.getKey());
                    // a key that is no key at all is not even looked at (fal's webhook answers for its signature, not a key)
                    Response answer = call(op.getKey(), path.getKey(), op.getValue(), "atl_not_a_key");
                    assertThat(answer.statusCode()).as(open.get(open.size() - 1)).isNotEqualTo(429);
                    if (answer.statusCode() == 401) {
                        assertThat(answer.jsonPath().getString("type")).as(open.get(open.size() - 1)).doesNotEndWith("-api-key");
                    }
                }
            }
        }
        assertThat(open).containsExactlyInAnyOrder("GET /", "POST /v1/fal/webhook");
    }

    @Test
    void everyQueryParameterIsEnforcedAsDocumented() throws IOException {
        List<String> wrong = new ArrayList<>();
        int checked = 0;
        for (var path : iterable(document().path("paths").fields())) {
            JsonNode get = path.getValue().path("get");
            if (get.isMissingNode() || path.getKey().contains("{")) {
                continue;
            }
            // a fresh tenant's key, whose lists and sums nothing else changes meanwhile; the admin API, the operator's
            String key = "admin".equals(get.path("x-required-scope").asText()) ? ADMIN : key(Scopes.JOBS_READ);
            for (JsonNode parameter : get.path("parameters")) {
                if (!"query".equals(parameter.path("in").asText())) {
                    continue;
                }
                String name = parameter.path("name").asText();
                JsonNode schema = parameter.path("schema");
                String where = "GET " + path.getKey() + "?" + name;
                List<String> good = new ArrayList<>();
                List<String> bad = new ArrayList<>();
                if ("integer".equals(schema.path("type").asText())) {
                    bad.add("x1");
                    if (schema.has("minimum")) {
                        good.add(schema.path("minimum").asText());
                        bad.add(String.valueOf(schema.path("minimum").asLong() - 1));
                    }
                    if (schema.has("maximum")) {
                        good.add(schema.path("maximum").asText());
                        bad.add(String.valueOf(schema.path("maximum").asLong() + 1));
                    }
                }
                if (schema.has("enum")) {
                    schema.path("enum").forEach(v -> good.add(v.asText()));
                    bad.add("not-one-of-them");
                }
                for (String value : good) {
                    int status = query(path.getKey(), key, name, value).statusCode();
                    if (status != 200) {
                        wrong.add(where + "=" + value + " (documented as allowed) answered " + status);
                    }
                    checked++;
                }
                for (String value : bad) {
                    Response answer = query(path.getKey(), key, name, value);
                    String named = answer.statusCode() >= 400 ? String.valueOf(answer.jsonPath().getString("field"))
                            + String.valueOf(answer.jsonPath().getString("parameter")) : "";
                    if (answer.statusCode() < 400 || answer.statusCode() >= 500 || !named.contains(name)) {
                        wrong.add(where + "=" + value + " (documented as refused) answered " + answer.statusCode() + " " + answer.asString());
                    }
                    checked++;
                }
                if (schema.has("default")) {
                    // the default is what the service uses when the parameter is absent
                    // (every tenant's usage may grow between the two reads while an earlier test's job ends: read again, a few times)
                    boolean same = false;
                    for (int attempt = 0; attempt < 3 && !same; attempt++) {
                        String absent = query(path.getKey(), key, null, null).then().statusCode(200).extract().asString();
                        String explicit = query(path.getKey(), key, name, schema.path("default").asText()).then().statusCode(200).extract().asString();
                        same = JSON.readTree(absent).equals(JSON.readTree(explicit));
                    }
                    if (!same) {
                        wrong.add(where + ": absent and the documented default " + schema.path("default") + " answer differently");
                    }
                    checked++;
                }
            }
        }
        assertThat(checked).as("query parameters with a documented type, range, enumeration or default").isGreaterThanOrEqualTo(20);
        assertThat(wrong).isEmpty();
    }

    private static Response query(String path, String key, String name, String value) {
        RequestSpecification request = given().header("Authorization", "Bearer " + key);
        if (name != null) {
            request.queryParam(name, value);
        }
        return request.get(path);
    }

    private static <T> Iterable<T> iterable(Iterator<T> it) {
        return () -> it;
    }
}
