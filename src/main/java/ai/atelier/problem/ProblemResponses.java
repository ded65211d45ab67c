package ai.atelier.problem;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.eclipse.microprofile.openapi.OASFactory;
import org.eclipse.microprofile.openapi.OASFilter;
import org.eclipse.microprofile.openapi.models.OpenAPI;
import org.eclipse.microprofile.openapi.models.Operation;
import org.eclipse.microprofile.openapi.models.PathItem;
import org.eclipse.microprofile.openapi.models.media.Schema;
import org.eclipse.microprofile.openapi.models.responses.APIResponse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Puts the problem answers in the OpenAPI document: a {@code Problem} schema (RFC 9457: {@code type}, {@code title},
 * {@code status}, {@code detail}, {@code instance}, plus extension members such as {@code field}); on every operation a
 * {@code default} response of {@code application/problem+json} with it and the problem types the route answers; and the
 * 4xx every client meets, named explicitly so that a generated client types them: 400 on every route (a malformed
 * header, body or query), 404 on a route with a path parameter, 422 on a route that reads a body's fields ({@link
 * ai.atelier.auth.OpenApiSecurity} adds 401, 403 and 429 where a key is needed). A 4xx or 5xx a resource declares
 * without a body gets the problem body. Every 4xx and 5xx Atelier sends is such a body, so a generated client reads all
 * of them one way; the tests check each answer against it.
 *
 * <p>Last, it drops the schemas nothing refers to any more (the {@code Instant} whose uses are inlined below, a return
 * type a resource's annotations replaced), which a generator would otherwise turn into types no call uses.
 */
public class ProblemResponses implements OASFilter {

    static final String SCHEMA = "Problem";
    static final String TYPES = "x-problem-types";

    /** Names of the shared problem answers under {@code components/responses}. */
    public static final String BAD_REQUEST = "BadRequest";
    public static final String UNAUTHORIZED = "Unauthorized";
    public static final String FORBIDDEN = "Forbidden";
    public static final String NOT_FOUND = "NotFound";
    public static final String UNPROCESSABLE = "UnprocessableContent";
    public static final String TOO_MANY_REQUESTS = "TooManyRequests";

    /** What a refused field looks like: the most common problem a client meets while writing its first request. */
    private static final Map<String, Object> EXAMPLE = example("unknown-field", "Unknown field", 422, "Unknown field 'imageUrl'", "field", "imageUrl");

    private static Map<String, Object> example(String slug, String title, int status, String detail, Object... extension) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("type", "/problems/" + slug);
        out.put("title", title);
        out.put("status", status);
        out.put("detail", detail);
        out.put("instance", "/v1/jobs");
        for (int i = 0; i + 1 < extension.length; i += 2) {
            out.put(String.valueOf(extension[i]), extension[i + 1]);
        }
        return out;
    }

    @Override
    public void filterOpenAPI(OpenAPI openAPI) {
        if (openAPI.getComponents() == null) {
            openAPI.setComponents(OASFactory.createComponents());
        }
        openAPI.getComponents().addSchema(SCHEMA, OASFactory.createSchema().type(List.of(Schema.SchemaType.OBJECT))
                .description("An RFC 9457 problem; extension members (field, parameter, retry_after, …) say more")
                .addProperty("type", OASFactory.createSchema().type(List.of(Schema.SchemaType.STRING))
                        .description("Stable identifier of the kind of problem, e.g. /problems/invalid-parameter"))
                .addProperty("title", OASFactory.createSchema().type(List.of(Schema.SchemaType.STRING)))
                .addProperty("status", OASFactory.createSchema().type(List.of(Schema.SchemaType.INTEGER)))
                .addProperty("detail", OASFactory.createSchema().type(List.of(Schema.SchemaType.STRING)))
                .addProperty("instance", OASFactory.createSchema().type(List.of(Schema.SchemaType.STRING)))
                .required(List.of("type", "title", "status"))
                .additionalPropertiesBoolean(Boolean.TRUE));
        sharedAnswers(openAPI);
        // Jackson writes an absent value as null in these records: an optional property may be null on the wire
        Map<String, Schema> components = openAPI.getComponents().getSchemas();
        components.values().forEach(schema -> optionalMayBeNull(schema, components));
        if (openAPI.getPaths() != null && openAPI.getPaths().getPathItems() != null) {
            ai.atelier.http.OpenApiExamples.Examples examples = ai.atelier.http.OpenApiExamples.load();
            List<String> everyRoute = examples.everyRouteProblems() == null ? List.of() : examples.everyRouteProblems();
            openAPI.getComponents().getSchemas().get(SCHEMA).addExtension(TYPES, everyRoute);
            openAPI.getPaths().getPathItems().forEach((path, item) -> {
                Map<PathItem.HttpMethod, Operation> operations = item.getOperations();
                if (operations != null) {
                    operations.forEach((method, operation) -> {
                        var example = examples.operations().get(method.name() + " " + path);
                        addDefault(operation, example == null || example.problems() == null ? List.of() : example.problems());
                        addResponse(operation, "400", BAD_REQUEST);
                        if (path.contains("{")) {
                            addResponse(operation, "404", NOT_FOUND);
                        }
                        if (readsFields(operation)) {
                            addResponse(operation, "422", UNPROCESSABLE);
                        }
                        problemBodies(operation);
                    });
                }
            });
        }
        dropUnusedSchemas(openAPI);
    }

    /**
     * Whether the route reads its body field by field (JSON or a form mapped to a schema of its own), and so refuses an
     * unknown field or a bad value with a 422; a body taken as bytes (fal's signed webhook) is not.
     */
    private static boolean readsFields(Operation operation) {
        return operation.getRequestBody() != null && operation.getRequestBody().getContent() != null
                && operation.getRequestBody().getContent().getMediaTypes() != null
                && operation.getRequestBody().getContent().getMediaTypes().values().stream().anyMatch(m -> m.getSchema() != null && m.getSchema().getRef() != null);
    }

    /** The problem answers many routes share, once under {@code components/responses}, each with a typical example. */
    private static void sharedAnswers(OpenAPI openAPI) {
        openAPI.getComponents()
                .addResponse(BAD_REQUEST, answer("Bad request: a malformed header, body or query parameter (a control character, "
                        + "JSON that does not parse, a value not of its type)", example("malformed-json", "Malformed JSON", 400,
                                "The body is not valid JSON: Unexpected end-of-input", "field", "prompt"), false, false))
                .addResponse(UNAUTHORIZED, answer("No API key, or one that is unknown, revoked or expired", example("missing-api-key",
                        "Missing API key", 401, "Send your API key as 'Authorization: Bearer <key>' (or 'X-API-Key: <key>')"), true, false))
                .addResponse(FORBIDDEN, answer("The key lacks the scope this route needs (x-required-scope)", example("missing-scope",
                        "Missing scope", 403, "This key may not do this: it needs the scope jobs:write", "scope", "jobs:write"), false, false))
                .addResponse(NOT_FOUND, answer("Nothing with this id, or not the key's tenant's (the same answer for both)",
                        example("not-found", "Not found", 404, "No job 15b6fe45-eb00-4b54-90d8-18b433218489"), false, false))
                .addResponse(UNPROCESSABLE, answer("The body is well-formed but not acceptable: an unknown field, a missing or invalid "
                        + "value; the problem names the field", EXAMPLE, false, false))
                .addResponse(TOO_MANY_REQUESTS, answer("Over the tenant's request rate, or too many failed authentications from this "
                        + "address: wait Retry-After seconds", example("rate-limited", "Too many requests", 429,
                                "This tenant may make 600 requests per minute; try again in 3 s"), false, true));
    }

    private static APIResponse answer(String description, Map<String, Object> example, boolean challenge, boolean retryAfter) {
        APIResponse response = OASFactory.createAPIResponse().description(description)
                .content(OASFactory.createContent().addMediaType(ProblemBody.MEDIA_TYPE, OASFactory.createMediaType()
                        .schema(OASFactory.createSchema().ref(SCHEMA)).example(example)));
        if (challenge) {
            response.addHeader("WWW-Authenticate", OASFactory.createHeader().description("Bearer realm=\"atelier\"")
                    .schema(OASFactory.createSchema().type(List.of(Schema.SchemaType.STRING))));
        }
        if (retryAfter) {
            response.addHeader("Retry-After", OASFactory.createHeader().description("Seconds to wait before trying again")
                    .schema(OASFactory.createSchema().type(List.of(Schema.SchemaType.INTEGER))));
        }
        return response;
    }

    /** Adds a shared problem answer under {@code code}, unless the operation documents that code itself. */
    public static void addResponse(Operation operation, String code, String shared) {
        if (operation.getResponses() == null) {
            operation.setResponses(OASFactory.createAPIResponses());
        }
        if (operation.getResponses().getAPIResponse(code) == null) {
            operation.getResponses().addAPIResponse(code, OASFactory.createAPIResponse().ref(shared));
        }
    }

    /** A 4xx or 5xx that a resource declared without a body (or that the scanner added, "Bad Request") has a problem's. */
    private static void problemBodies(Operation operation) {
        operation.getResponses().getAPIResponses().forEach((code, response) -> {
            if ((code.startsWith("4") || code.startsWith("5")) && response.getRef() == null
                    && (response.getContent() == null || response.getContent().getMediaTypes() == null || response.getContent().getMediaTypes().isEmpty())) {
                response.content(OASFactory.createContent().addMediaType(ProblemBody.MEDIA_TYPE, OASFactory.createMediaType()
                        .schema(OASFactory.createSchema().ref(SCHEMA)).example(example(code.equals("400") ? "malformed-json" : "invalid-request",
                                code.equals("400") ? "Malformed JSON" : "Invalid request", Integer.parseInt(code), response.getDescription()))));
            }
        });
    }

    private static void optionalMayBeNull(Schema schema, Map<String, Schema> components) {
        if (schema.getProperties() == null) {
            return;
        }
        List<String> required = schema.getRequired() == null ? List.of() : schema.getRequired();
        for (Map.Entry<String, Schema> e : new LinkedHashMap<>(schema.getProperties()).entrySet()) {
            Schema property = e.getValue();
            if (required.contains(e.getKey())) {
                continue;
            }
            if (property.getRef() != null) {
                // a reference to a plain value (an Instant, a UUID) is inlined, so that it may be null too
                Schema target = components.get(property.getRef().substring(property.getRef().lastIndexOf('/') + 1));
                if (target == null || target.getType() == null || target.getType().contains(Schema.SchemaType.OBJECT)
                        || target.getType().contains(Schema.SchemaType.ARRAY)) {
                    continue;
                }
                property = OASFactory.createSchema().type(new java.util.ArrayList<>(target.getType())).format(target.getFormat())
                        .description(property.getDescription() != null ? property.getDescription() : target.getDescription())
                        .examples(target.getExamples()).enumeration(target.getEnumeration());
                schema.addProperty(e.getKey(), property);
            }
            if (property.getType() != null && !property.getType().isEmpty() && !property.getType().contains(Schema.SchemaType.NULL)) {
                property.addType(Schema.SchemaType.NULL);
            }
        }
    }

    /**
     * The {@code default} answer: a problem, with the types this route answers ({@code x-problem-types}; the tests fail
     * on a type a route answers that is not listed for it or for every route).
     */
    private static void addDefault(Operation operation, List<String> types) {
        if (operation.getResponses() == null) {
            operation.setResponses(OASFactory.createAPIResponses());
        }
        if (operation.getResponses().getDefaultValue() == null) {
            String listed = types.isEmpty() ? "" : " Types on this route (`/problems/<type>`): " + String.join(", ", types)
                    + "; and on every route those listed in the Problem schema's x-problem-types.";
            operation.getResponses().setDefaultValue(OASFactory.createAPIResponse()
                    .description("A problem (RFC 9457): any other 4xx, and every 5xx." + listed)
                    .addExtension(TYPES, types)
                    .addHeader("Retry-After", OASFactory.createHeader().description("On a 429 or 503: seconds to wait before trying again")
                            .schema(OASFactory.createSchema().type(List.of(Schema.SchemaType.STRING))))
                    .addHeader("WWW-Authenticate", OASFactory.createHeader().description("On a 401: Bearer")
                            .schema(OASFactory.createSchema().type(List.of(Schema.SchemaType.STRING))))
                    .content(OASFactory.createContent().addMediaType(ProblemBody.MEDIA_TYPE, OASFactory.createMediaType()
                            .schema(OASFactory.createSchema().ref(SCHEMA)).example(EXAMPLE))));
        }
    }

    /**
     * Removes every component schema that no path, shared answer or used schema refers to. Read from the document as
     * JSON, where every reference is a {@code $ref} string, so no corner of the model can be missed.
     */
    private static void dropUnusedSchemas(OpenAPI openAPI) {
        Map<String, Schema> schemas = openAPI.getComponents().getSchemas();
        if (schemas == null || schemas.isEmpty()) {
            return;
        }
        com.fasterxml.jackson.databind.node.ObjectNode document;
        try {
            document = (com.fasterxml.jackson.databind.node.ObjectNode) new ObjectMapper().readTree(
                    io.smallrye.openapi.runtime.io.OpenApiSerializer.serialize(openAPI, io.smallrye.openapi.runtime.io.Format.JSON));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        JsonNode definitions = document.path("components").path("schemas");
        ((com.fasterxml.jackson.databind.node.ObjectNode) document.path("components")).remove("schemas");
        Set<String> used = new HashSet<>();
        Deque<JsonNode> toRead = new ArrayDeque<>(List.of(document));
        while (!toRead.isEmpty()) {
            toRead.pop().findValuesAsText("$ref").forEach(ref -> {
                String name = ref.substring(ref.lastIndexOf('/') + 1);
                if (ref.startsWith("#/components/schemas/") && definitions.has(name) && used.add(name)) {
                    toRead.push(definitions.get(name));
                }
            });
        }
        new HashSet<>(schemas.keySet()).stream().filter(name -> !used.contains(name)).forEach(openAPI.getComponents()::removeSchema);
    }
}
