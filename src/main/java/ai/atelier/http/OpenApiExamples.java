package ai.atelier.http;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.eclipse.microprofile.openapi.OASFactory;
import org.eclipse.microprofile.openapi.OASFilter;
import org.eclipse.microprofile.openapi.models.OpenAPI;
import org.eclipse.microprofile.openapi.models.Operation;
import org.eclipse.microprofile.openapi.models.PathItem;
import org.eclipse.microprofile.openapi.models.media.Content;
import org.eclipse.microprofile.openapi.models.media.MediaType;
import org.eclipse.microprofile.openapi.models.media.Schema;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import ai.atelier.util.ServerSentEvents;
import io.quarkus.smallrye.openapi.OpenApiFilter;

/**
 * Gives every operation of the OpenAPI document an example request and answer, from {@code openapi/examples.json}
 * (answers recorded from {@code quarkus:dev}, trimmed); describes the Server-Sent Events streams (each event's data
 * schema, as the resource declares it, and how events are framed on the wire); and the headers of a submit's answers, once. The examples live in one data file rather than
 * in annotations so that a test can check each against its route's schema, and that no route lacks one.
 */
@OpenApiFilter(OpenApiFilter.RunStage.BUILD)
public class OpenApiExamples implements OASFilter {

    static final String RESOURCE = "openapi/examples.json";
    private static final String SSE = "text/event-stream";

    /** A route's examples, and the problem types it answers besides those of every route. */
    public record Example(Map<String, Object> request, Map<String, Map<String, Object>> responses, List<String> problems) {
    }

    /** {@code every_route_problems}: the types any route may answer (authentication, limits, malformed requests). */
    public record Examples(Map<String, Example> operations, List<String> everyRouteProblems) {
    }

    @Override
    public void filterOpenAPI(OpenAPI openAPI) {
        if (openAPI.getPaths() == null || openAPI.getPaths().getPathItems() == null) {
            return;
        }
        Map<String, Example> examples = load().operations();
        openAPI.getPaths().getPathItems().forEach((path, item) -> {
            Map<PathItem.HttpMethod, Operation> operations = item.getOperations();
            if (operations == null) {
                return;
            }
            operations.forEach((method, operation) -> {
                describeStreams(operation);
                describeSubmitHeaders(operation);
                Example example = examples.get(method.name().toUpperCase(Locale.ROOT) + " " + path);
                if (example != null) {
                    apply(example, operation);
                }
            });
        });
    }

    private static void apply(Example example, Operation operation) {
        if (example.request() != null && operation.getRequestBody() != null && operation.getRequestBody().getContent() != null) {
            example.request().forEach((type, value) -> {
                MediaType media = operation.getRequestBody().getContent().getMediaType(type);
                if (media != null) {
                    media.setExample(value);
                }
            });
        }
        if (example.responses() == null || operation.getResponses() == null) {
            return;
        }
        example.responses().forEach((code, byType) -> {
            var response = operation.getResponses().getAPIResponse(code);
            if (response == null || response.getContent() == null) {
                return;
            }
            byType.forEach((type, value) -> {
                MediaType media = response.getContent().getMediaType(type);
                if (media != null && SSE.equals(type) && value instanceof String stream) {
                    // the stream as recorded goes in the description, as a reader sees it on the wire; the example is its
                    // last event's data, one object of the event schema (as linters and generators read an example)
                    response.setDescription(response.getDescription() + "\n\nFor example:\n\n```\n" + stream.strip() + "\n```");
                    List<String> events = ServerSentEvents.dataOf(stream);
                    media.setExample(events.isEmpty() ? null : json(events.get(events.size() - 1)));
                } else if (media != null) {
                    media.setExample(value);
                }
            });
        });
    }

    /** The headers {@code JobResource.respond} sets on a submit's 202 and 200, on the operations marked as answered by it. */
    private static void describeSubmitHeaders(Operation operation) {
        String marker = ai.atelier.jobs.rest.JobResource.ANSWERED_BY_RESPOND;
        if (operation.getExtensions() == null || !operation.getExtensions().containsKey(marker) || operation.getResponses() == null) {
            return;
        }
        // a build-time marker, not for clients: the scanner copies a method's extensions onto its body and answers too
        operation.removeExtension(marker);
        if (operation.getRequestBody() != null) {
            operation.getRequestBody().removeExtension(marker);
        }
        operation.getResponses().removeExtension(marker);
        if (operation.getResponses().getAPIResponses() != null) {
            operation.getResponses().getAPIResponses().values().forEach(r -> r.removeExtension(marker));
        }
        for (String code : List.of("202", "200")) {
            var response = operation.getResponses().getAPIResponse(code);
            if (response != null) {
                response.addHeader("Location", header("The job's URL"))
                        .addHeader("Idempotent-Replayed", header("true when an earlier request with the same Idempotency-Key made this job"))
                        .addHeader("Preference-Applied", header("wait=N when Prefer: wait=N was honoured"))
                        .addHeader("Atelier-Cache", OASFactory.createHeader().description("What the result cache does for the job: hit (served "
                                + "from a stored result, nothing paid), miss, refresh or bypass (not cached: no explicit seed, the tenant's cache "
                                + "off, or asked). Known at submit for a job whose fal call the request determines; otherwise miss, and the "
                                + "job's cache field tells the outcome").schema(OASFactory.createSchema().type(List.of(Schema.SchemaType.STRING))
                                .enumeration(List.of("hit", "miss", "bypass", "refresh"))));
            }
        }
    }

    private static org.eclipse.microprofile.openapi.models.headers.Header header(String description) {
        return OASFactory.createHeader().description(description).schema(OASFactory.createSchema().type(List.of(Schema.SchemaType.STRING)));
    }

    /**
     * An event stream's schema is the schema of each event's {@code data} (a JSON object), as the resource declares it:
     * what a generated client parses each event into (the scanner's "array of OutboundSseEvent", a server-side JAX-RS
     * type, is not what goes over the wire). The response says how the events are framed.
     */
    private static void describeStreams(Operation operation) {
        if (operation.getResponses() == null || operation.getResponses().getAPIResponses() == null) {
            return;
        }
        operation.getResponses().getAPIResponses().values().forEach(response -> {
            Content content = response.getContent();
            MediaType media = content == null ? null : content.getMediaType(SSE);
            if (media == null) {
                return;
            }
            Schema schema = media.getSchema();
            if (schema == null || (schema.getRef() == null && (schema.getType() == null || !schema.getType().contains(Schema.SchemaType.OBJECT)))) {
                // a stream whose resource declares no event schema: text, until it does (OpenApiDocumentTest asks for one)
                media.setSchema(OASFactory.createSchema().type(List.of(Schema.SchemaType.STRING)));
            }
            String framing = "Server-Sent Events (text/event-stream): blocks of `id:`, `event:` and `data:` lines separated by a blank "
                    + "line; each `data` is one JSON object of the schema below. Comment lines (`:keep-alive`) keep the connection open.";
            response.setDescription(response.getDescription() == null || response.getDescription().isBlank() || response.getDescription().equals("OK")
                    ? framing : response.getDescription() + "\n\n" + framing);
        });
    }

    private static Object json(String text) {
        try {
            return new ObjectMapper().readValue(text, Object.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Examples load() {
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        if (loader == null) {
            loader = OpenApiExamples.class.getClassLoader();
        }
        try (InputStream in = loader.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is missing");
            }
            return new ObjectMapper().configure(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
                    .setPropertyNamingStrategy(com.fasterxml.jackson.databind.PropertyNamingStrategies.SNAKE_CASE)
                    .readValue(in, new TypeReference<Examples>() {
                    });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
