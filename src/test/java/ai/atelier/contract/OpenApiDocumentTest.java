package ai.atelier.contract;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The served OpenAPI document names fields as the wire does (snake_case, the names the API accepts and returns), and
 * gives a client generator what it needs: an id per operation, who may call it, typed parameters and events, the fields
 * an answer always has, explicit 4xx answers, and no schema nothing uses. (ApiDocumentToolsTest runs the generators and
 * linters themselves; DocumentedAccessTest checks the documented access and parameters against the service.)
 */
@QuarkusTest
class OpenApiDocumentTest {

    @Test
    void everySchemaPropertyIsSnakeCaseAsOnTheWire() {
        JsonPath doc = given().accept("application/json").get("/q/openapi?format=json").then().statusCode(200).extract().jsonPath();
        Map<String, Map<String, Object>> schemas = doc.getMap("components.schemas");
        List<String> camel = new ArrayList<>();
        schemas.forEach((name, schema) -> {
            if (schema.get("properties") instanceof Map<?, ?> props) {
                props.keySet().stream().map(String::valueOf).filter(p -> p.matches(".*[a-z][A-Z].*")).forEach(p -> camel.add(name + "." + p));
            }
        });
        assertThat(camel).as("camelCase properties in the OpenAPI document").isEmpty();
        // the fields once shown camelCase, as a client must send and will receive them
        List<String> all = new ArrayList<>();
        schemas.values().forEach(schema -> {
            if (schema.get("properties") instanceof Map<?, ?> props) {
                props.keySet().forEach(p -> all.add(String.valueOf(p)));
            }
        });
        assertThat(all).contains("image_url", "prompt_mode", "final_prompt", "next_cursor", "session_id", "deadline_seconds");
        assertThat(doc.getMap("components.schemas.JobForm.properties")).containsKeys("prompt_mode", "webhook_url", "image");
    }

    @Test
    void whatTheDocumentNamesIsWhatTheApiAccepts() {
        // a property the document lists is accepted under that name (a camelCase one would be a 422 unknown-field)
        JsonPath doc = given().accept("application/json").get("/q/openapi?format=json").then().statusCode(200).extract().jsonPath();
        assertThat(doc.getString("components.schemas.TextToImage.properties.negative_prompt.type")).isEqualTo("string");
        given().contentType("application/json").body(Map.of("prompt", "a lamp", "negative_prompt", "blurry")).post("/api/flux/t2i").then()
                .statusCode(200);
    }

    private static final Set<String> METHODS = Set.of("get", "post", "put", "patch", "delete");

    private static JsonNode tree() throws IOException {
        return new ObjectMapper().readTree(given().accept("application/json").get("/q/openapi?format=json").then().statusCode(200).extract().asString());
    }

    /** Each operation of the document: "GET /v1/jobs" and its node. */
    private static Map<String, JsonNode> operations(JsonNode doc) {
        Map<String, JsonNode> out = new java.util.TreeMap<>();
        for (var path : iterable(doc.path("paths").fields())) {
            for (var op : iterable(path.getValue().fields())) {
                if (METHODS.contains(op.getKey())) {
                    out.put(op.getKey().toUpperCase() + " " + path.getKey(), op.getValue());
                }
            }
        }
        return out;
    }

    @Test
    void everyOperationHasAStableIdAGeneratedClientNamesItsFunctionAfter() throws IOException {
        Map<String, JsonNode> operations = operations(tree());
        Set<String> seen = new HashSet<>();
        List<String> wrong = new ArrayList<>();
        operations.forEach((name, op) -> {
            String id = op.path("operationId").asText("");
            if (!id.matches("[a-z][A-Za-z0-9]+") || !seen.add(id)) {
                wrong.add(name + ": '" + id + "'");
            }
        });
        assertThat(wrong).as("operations without a unique camelCase operationId").isEmpty();
        assertThat(operations.get("POST /v1/jobs").path("operationId").asText()).isEqualTo("submitJob");
        assertThat(operations.get("GET /v1/jobs/{id}").path("operationId").asText()).isEqualTo("getJob");
        assertThat(operations.get("GET /v1/jobs").path("operationId").asText()).isEqualTo("listJobs");
        assertThat(operations.get("POST /v1/jobs/{id}/cancel").path("operationId").asText()).isEqualTo("cancelJob");
        assertThat(operations.get("GET /v1/jobs/{id}/events").path("operationId").asText()).isEqualTo("streamJobEvents");
    }

    @Test
    void everyOperationSaysWhichKeyItNeedsOrThatItIsOpen() throws IOException {
        JsonNode doc = tree();
        assertThat(doc.path("components").path("securitySchemes").path("bearer").path("scheme").asText()).isEqualTo("bearer");
        assertThat(doc.path("components").path("securitySchemes").path("apiKey").path("name").asText()).isEqualTo("X-API-Key");
        assertThat(doc.path("components").path("securitySchemes").path("apiKey").path("in").asText()).isEqualTo("header");
        assertThat(doc.path("servers").path(0).path("url").asText()).isEqualTo("/");
        List<String> wrong = new ArrayList<>();
        operations(doc).forEach((name, op) -> {
            String path = name.substring(name.indexOf(' ') + 1);
            if (!op.has("security")) {
                wrong.add(name + " has no security");
            } else if (ai.atelier.auth.Authenticator.open(path) != op.path("security").isEmpty()) {
                wrong.add(name + ": security " + op.path("security") + " but open(" + path + ") is " + ai.atelier.auth.Authenticator.open(path));
            } else if (!op.path("security").isEmpty() && !op.path("responses").has("401")) {
                wrong.add(name + " needs a key but lists no 401");
            }
            if (!op.path("responses").has("400")) {
                wrong.add(name + " lists no explicit 4xx");
            }
        });
        assertThat(wrong).isEmpty();
        assertThat(operations(doc).get("POST /v1/jobs").path("x-required-scope").asText()).isEqualTo("jobs:write");
        assertThat(operations(doc).get("GET /v1/jobs").path("x-required-scope").asText()).isEqualTo("jobs:read");
        assertThat(operations(doc).get("GET /v1/admin/tenants").path("x-required-scope").asText()).isEqualTo("admin");
    }

    @Test
    void parametersEventsAndAnswersAreTypedAsTheServiceSendsThem() throws IOException {
        JsonNode doc = tree();
        Map<String, JsonNode> operations = operations(doc);
        JsonNode limit = null;
        for (JsonNode p : operations.get("GET /v1/jobs").path("parameters")) {
            if (p.path("name").asText().equals("limit")) {
                limit = p.path("schema");
            }
        }
        assertThat(limit).isNotNull();
        assertThat(limit.path("type").asText()).isEqualTo("integer");
        assertThat(limit.path("minimum").asInt()).isEqualTo(1);
        assertThat(limit.path("maximum").asInt()).isEqualTo(100);
        assertThat(limit.path("default").asInt()).isEqualTo(20);

        JsonNode job = doc.path("components").path("schemas").path("JobView");
        assertThat(new ObjectMapper().convertValue(job.path("required"), List.class)).contains("id", "model", "status", "priority", "progress",
                "created_at", "updated_at", "kind", "inputs", "outputs", "params");
        assertThat(job.path("properties").path("status").path("enum").toString()).isEqualTo("[\"queued\",\"running\",\"succeeded\",\"failed\",\"cancelled\"]");
        // a submit's 200 is the finished job or a dry run's quote, each a schema a client can type
        JsonNode ok = operations.get("POST /v1/jobs").path("responses").path("200").path("content").path("application/json").path("schema");
        assertThat(ok.path("oneOf").toString()).contains("#/components/schemas/JobView", "#/components/schemas/DryRun");

        // every event stream says what each event's data is, and no build-time marker is left for clients
        List<String> untyped = new ArrayList<>();
        operations.forEach((name, op) -> op.path("responses").fields().forEachRemaining(r -> {
            JsonNode stream = r.getValue().path("content").path("text/event-stream");
            if (!stream.isMissingNode() && !stream.path("schema").has("$ref")) {
                untyped.add(name + " " + r.getKey());
            }
        }));
        assertThat(untyped).as("event streams without a schema for their events").isEmpty();
        assertThat(operations.get("GET /v1/jobs/{id}/events").path("responses").path("200").path("content").path("text/event-stream")
                .path("schema").path("$ref").asText()).isEqualTo("#/components/schemas/ProgressEvent");
        assertThat(doc.toString()).doesNotContain("x-answered-by-respond");
    }

    @Test
    void everySchemaIsUsedSoNoneBecomesAStrayGeneratedType() throws IOException {
        JsonNode doc = tree();
        JsonNode schemas = doc.path("components").path("schemas");
        Set<String> used = new HashSet<>();
        java.util.Deque<JsonNode> toRead = new java.util.ArrayDeque<>();
        com.fasterxml.jackson.databind.node.ObjectNode rest = doc.deepCopy();
        ((com.fasterxml.jackson.databind.node.ObjectNode) rest.path("components")).remove("schemas");
        toRead.push(rest);
        while (!toRead.isEmpty()) {
            toRead.pop().findValuesAsText("$ref").forEach(ref -> {
                String name = ref.substring(ref.lastIndexOf('/') + 1);
                if (schemas.has(name) && used.add(name)) {
                    toRead.push(schemas.get(name));
                }
            });
        }
        List<String> unused = new ArrayList<>();
        schemas.fieldNames().forEachRemaining(name -> {
            if (!used.contains(name)) {
                unused.add(name);
            }
        });
        assertThat(unused).isEmpty();
        assertThat(schemas.has("OutboundSseEvent")).isFalse();
    }

    private static <T> Iterable<T> iterable(Iterator<T> it) {
        return () -> it;
    }
}
