package ai.atelier.problem;

import java.util.List;
import java.util.Map;

import org.eclipse.microprofile.openapi.OASFactory;
import org.eclipse.microprofile.openapi.OASFilter;
import org.eclipse.microprofile.openapi.models.OpenAPI;
import org.eclipse.microprofile.openapi.models.Operation;
import org.eclipse.microprofile.openapi.models.media.Schema;

/**
 * Puts the problem answers in the OpenAPI document: a {@code Problem} schema (RFC 9457: {@code type}, {@code title},
 * {@code status}, {@code detail}, {@code instance}, plus extension members such as {@code field}) and, on every
 * operation, a {@code default} response of {@code application/problem+json} with it. Every 4xx and 5xx Atelier sends
 * is such a body, so a generated client can read all of them one way; the tests check each answer against it.
 */
public class ProblemResponses implements OASFilter {

    static final String SCHEMA = "Problem";
    static final String TYPES = "x-problem-types";

    /** What a refused field looks like: the most common problem a client meets while writing its first request. */
    private static final Map<String, Object> EXAMPLE = new java.util.LinkedHashMap<>();

    static {
        EXAMPLE.put("type", "/problems/unknown-field");
        EXAMPLE.put("title", "Unknown field");
        EXAMPLE.put("status", 422);
        EXAMPLE.put("detail", "Unknown field 'imageUrl'");
        EXAMPLE.put("instance", "/v1/jobs");
        EXAMPLE.put("field", "imageUrl");
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
        // Jackson writes an absent value as null in these records: an optional property may be null on the wire
        Map<String, Schema> components = openAPI.getComponents().getSchemas();
        components.values().forEach(schema -> optionalMayBeNull(schema, components));
        if (openAPI.getPaths() == null || openAPI.getPaths().getPathItems() == null) {
            return;
        }
        ai.atelier.http.OpenApiExamples.Examples examples = ai.atelier.http.OpenApiExamples.load();
        List<String> everyRoute = examples.everyRouteProblems() == null ? List.of() : examples.everyRouteProblems();
        openAPI.getComponents().getSchemas().get(SCHEMA).addExtension(TYPES, everyRoute);
        openAPI.getPaths().getPathItems().forEach((path, item) -> {
            Map<org.eclipse.microprofile.openapi.models.PathItem.HttpMethod, Operation> operations = item.getOperations();
            if (operations != null) {
                operations.forEach((method, operation) -> {
                    var example = examples.operations().get(method.name() + " " + path);
                    addDefault(operation, example == null || example.problems() == null ? List.of() : example.problems());
                });
            }
        });
    }

    private static void optionalMayBeNull(Schema schema, Map<String, Schema> components) {
        if (schema.getProperties() == null) {
            return;
        }
        List<String> required = schema.getRequired() == null ? List.of() : schema.getRequired();
        for (Map.Entry<String, Schema> e : new java.util.LinkedHashMap<>(schema.getProperties()).entrySet()) {
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
                        .examples(target.getExamples());
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
                    .description("A problem (RFC 9457): every 4xx and 5xx answer." + listed)
                    .addExtension(TYPES, types)
                    .addHeader("Retry-After", OASFactory.createHeader().description("On a 429 or 503: seconds to wait before trying again")
                            .schema(OASFactory.createSchema().type(List.of(Schema.SchemaType.STRING))))
                    .addHeader("WWW-Authenticate", OASFactory.createHeader().description("On a 401: Bearer")
                            .schema(OASFactory.createSchema().type(List.of(Schema.SchemaType.STRING))))
                    .content(OASFactory.createContent().addMediaType(ProblemBody.MEDIA_TYPE, OASFactory.createMediaType()
                            .schema(OASFactory.createSchema().ref(SCHEMA)).example(EXAMPLE))));
        }
    }
}
