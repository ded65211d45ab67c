package ai.atelier.contract;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

import com.atlassian.oai.validator.OpenApiInteractionValidator;
import com.atlassian.oai.validator.model.Request;
import com.atlassian.oai.validator.model.SimpleRequest;
import com.atlassian.oai.validator.model.SimpleResponse;
import com.atlassian.oai.validator.report.ValidationReport;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import ai.atelier.support.EventStreams;
import io.quarkus.test.junit.QuarkusTest;

/**
 * Every route of the served OpenAPI document shows an example of each body it takes and each answer it gives, and
 * every example is one the route's own schema accepts (checked by the same validator the HTTP tests use), so the
 * examples cannot drift from the API.
 */
@QuarkusTest
class OpenApiExamplesTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> METHODS = Set.of("get", "post", "put", "patch", "delete");
    private static final Set<String> SSE_FIELDS = Set.of("id", "event", "data", "retry");

    private JsonNode document() throws IOException {
        return JSON.readTree(given().accept("application/json").get("/q/openapi?format=json").then().statusCode(200).extract().asString());
    }

    @Test
    void everyBodyAndEveryAnswerOfEveryRouteHasAnExample() throws IOException {
        List<String> missing = new ArrayList<>();
        int seen = 0;
        for (var path : iterable(document().path("paths").fields())) {
            for (var op : iterable(path.getValue().fields())) {
                if (!METHODS.contains(op.getKey())) {
                    continue;
                }
                String name = op.getKey().toUpperCase() + " " + path.getKey();
                for (var media : iterable(op.getValue().path("requestBody").path("content").fields())) {
                    seen++;
                    if (!media.getValue().has("example")) {
                        missing.add(name + " request " + media.getKey());
                    }
                }
                for (var response : iterable(op.getValue().path("responses").fields())) {
                    for (var media : iterable(response.getValue().path("content").fields())) {
                        seen++;
                        if (!media.getValue().has("example")) {
                            missing.add(name + " " + response.getKey() + " " + media.getKey());
                        }
                    }
                }
            }
        }
        // the problem answers operations share by reference
        for (var response : iterable(document().path("components").path("responses").fields())) {
            for (var media : iterable(response.getValue().path("content").fields())) {
                seen++;
                if (!media.getValue().has("example")) {
                    missing.add("components/responses/" + response.getKey() + " " + media.getKey());
                }
            }
        }
        assertThat(seen).isGreaterThan(60);
        assertThat(missing).as("bodies and answers without an example").isEmpty();
    }

    @Test
    void everyExampleIsOneItsRouteAccepts() throws IOException {
        String spec = given().accept("application/json").get("/q/openapi?format=json").then().statusCode(200).extract().asString();
        JsonNode doc = JSON.readTree(spec);
        OpenApiInteractionValidator validator = ai.atelier.support.ContractFilter.validatorFor(spec);
        EventStreams events = new EventStreams(spec);
        JsonNode file = JSON.readTree(Path.of("src/main/resources/openapi/examples.json").toFile()).path("operations");
        List<String> wrong = new ArrayList<>();
        int checked = 0;
        for (var path : iterable(doc.path("paths").fields())) {
            // a concrete URL for the template: ids are UUIDs (seed 001's session ids too)
            String url = path.getKey().replaceAll("\\{[a-z_]+}", "15b6fe45-eb00-4b54-90d8-18b433218489");
            for (var op : iterable(path.getValue().fields())) {
                if (!METHODS.contains(op.getKey())) {
                    continue;
                }
                Request.Method method = Request.Method.valueOf(op.getKey().toUpperCase());
                String name = method + " " + path.getKey();
                for (var media : iterable(op.getValue().path("requestBody").path("content").fields())) {
                    JsonNode example = media.getValue().path("example");
                    String type = media.getKey();
                    if (type.startsWith("multipart/")) {
                        // the validator cannot read a multipart body: each part must at least be a field of the form
                        Set<String> fields = new TreeSet<>();
                        resolve(doc, media.getValue().path("schema")).path("properties").fieldNames().forEachRemaining(fields::add);
                        example.fieldNames().forEachRemaining(f -> {
                            if (!fields.contains(f)) {
                                wrong.add(name + " multipart example has a part the form does not: " + f);
                            }
                        });
                        checked++;
                    } else if (!example.isMissingNode()) {
                        SimpleRequest request = new SimpleRequest.Builder(method, url).withContentType(type.equals("*/*") ? "application/json" : type)
                                .withBody(JSON.writeValueAsString(example)).build();
                        report(validator.validateRequest(request), name + " request example", wrong);
                        checked++;
                    }
                }
                for (var response : iterable(op.getValue().path("responses").fields())) {
                    for (var media : iterable(response.getValue().path("content").fields())) {
                        JsonNode example = media.getValue().path("example");
                        if (media.getKey().equals(EventStreams.MEDIA_TYPE)) {
                            // the document's example is one event's data; the recorded stream, every event of it
                            wrong.addAll(events.checkEvent(url, method, JSON.writeValueAsString(example)).stream().map(w -> name + " example " + w).toList());
                            String recorded = file.path(name).path("responses").path(response.getKey()).path(EventStreams.MEDIA_TYPE).asText();
                            assertThat(recorded).as(name + " recorded stream").isNotBlank();
                            streamFields(recorded).forEach(f -> {
                                if (!SSE_FIELDS.contains(f)) {
                                    wrong.add(name + " event stream example has a non-standard field " + f);
                                }
                            });
                            wrong.addAll(events.check(url, method, recorded).stream().map(w -> name + " recorded stream: " + w).toList());
                            checked++;
                            continue;
                        }
                        if (example.isMissingNode()) {
                            continue; // the other test names it
                        }
                        int status = response.getKey().equals("default") ? example.path("status").asInt() : Integer.parseInt(response.getKey());
                        SimpleResponse answer = SimpleResponse.Builder.status(status).withContentType(media.getKey())
                                .withBody(JSON.writeValueAsString(example)).build();
                        report(validator.validateResponse(url, method, answer), name + " " + response.getKey() + " example", wrong);
                        checked++;
                    }
                }
            }
        }
        assertThat(checked).isGreaterThan(60);
        assertThat(wrong).isEmpty();
    }

    @Test
    void theExamplesFileNamesOnlyRoutesAndBodiesTheDocumentHas() throws IOException {
        JsonNode doc = document();
        JsonNode file = JSON.readTree(Path.of("src/main/resources/openapi/examples.json").toFile()).path("operations");
        List<String> stale = new ArrayList<>();
        for (var entry : iterable(file.fields())) {
            String[] key = entry.getKey().split(" ", 2);
            JsonNode op = doc.path("paths").path(key[1]).path(key[0].toLowerCase());
            if (op.isMissingNode()) {
                stale.add(entry.getKey());
                continue;
            }
            for (var media : iterable(entry.getValue().path("request").fields())) {
                if (op.path("requestBody").path("content").path(media.getKey()).isMissingNode()) {
                    stale.add(entry.getKey() + " request " + media.getKey());
                }
            }
            for (var response : iterable(entry.getValue().path("responses").fields())) {
                for (var media : iterable(response.getValue().fields())) {
                    if (op.path("responses").path(response.getKey()).path("content").path(media.getKey()).isMissingNode()) {
                        stale.add(entry.getKey() + " " + response.getKey() + " " + media.getKey());
                    }
                }
            }
        }
        assertThat(file.size()).isGreaterThan(30);
        assertThat(stale).as("examples for routes, answers or media types the document does not have").isEmpty();
    }

    private static void report(ValidationReport report, String what, List<String> wrong) {
        report.getMessages().stream().filter(m -> m.getLevel() == ValidationReport.Level.ERROR)
                .forEach(m -> wrong.add(what + ": " + m.getKey() + ": " + m.getMessage()));
    }

    private static JsonNode resolve(JsonNode doc, JsonNode schema) {
        String ref = schema.path("$ref").asText(null);
        return ref == null ? schema : doc.path("components").path("schemas").path(ref.substring(ref.lastIndexOf('/') + 1));
    }

    private static List<String> streamFields(String stream) {
        return stream.lines().filter(l -> !l.isEmpty() && !l.startsWith(":")).map(l -> l.indexOf(':') < 0 ? l : l.substring(0, l.indexOf(':'))).toList();
    }

    private static <T> Iterable<T> iterable(Iterator<T> it) {
        return () -> it;
    }
}
