package ai.atelier.support;

import java.util.List;
import java.util.Set;

import com.atlassian.oai.validator.OpenApiInteractionValidator;
import com.atlassian.oai.validator.report.ValidationReport;
import com.atlassian.oai.validator.restassured.RestAssuredRequest;
import com.atlassian.oai.validator.restassured.RestAssuredResponse;

import io.restassured.RestAssured;
import io.restassured.filter.Filter;
import io.restassured.filter.FilterContext;
import io.restassured.response.Response;
import io.restassured.specification.FilterableRequestSpecification;
import io.restassured.specification.FilterableResponseSpecification;

/**
 * Checks every request a test sends to Atelier, and Atelier's answer, against the OpenAPI document Atelier serves
 * ({@code /q/openapi}): a route whose behaviour and document disagree fails the test that called it. Requests to
 * other servers (the fal simulator, S3) and to Quarkus's own endpoints ({@code /q/…}) and static pages pass unchecked.
 *
 * <p>What is checked: every answer (status documented, content type, body against its schema: problem answers against
 * {@code Problem}); and the request, when Atelier accepted it. A request Atelier refused with a 4xx is the test's
 * deliberate bad input (a malformed body, an unknown field): its answer is checked, the request is not. The validator
 * cannot read multipart bodies, so for those only the body's presence is not checked. It reads no event stream either:
 * each event's {@code data} of a {@code text/event-stream} answer is checked against the document's event schema
 * ({@link EventStreams}).
 */
public final class ContractFilter implements Filter {

    private static volatile boolean installed;
    private static final Set<String> UNDOCUMENTED_PREFIXES = Set.of("/q/", "/playground", "/samples/", "/_sim/");

    private volatile OpenApiInteractionValidator validator;
    private volatile java.util.Map<String, java.util.regex.Pattern> templates = java.util.Map.of();
    private volatile java.util.Map<String, java.util.Set<String>> problemTypes = java.util.Map.of();
    private volatile java.util.Set<String> everyRoute = java.util.Set.of();
    private volatile int validatorPort = -1;
    private volatile EventStreams events;

    /** Adds the filter to RestAssured's global filters, once for this class loader. */
    public static synchronized void install() {
        if (!installed) {
            RestAssured.filters(new ContractFilter());
            installed = true;
        }
    }

    @Override
    public Response filter(FilterableRequestSpecification request, FilterableResponseSpecification response, FilterContext ctx) {
        String path = request.getDerivedPath();
        boolean atelier = request.getPort() == RestAssured.port && request.getURI().startsWith(RestAssured.baseURI)
                && UNDOCUMENTED_PREFIXES.stream().noneMatch(path::startsWith) && !path.equals("/");
        if (!atelier) {
            return ctx.next(request, response);
        }
        OpenApiInteractionValidator check = validator(request.getPort());
        Response answer = ctx.next(request, response);
        ValidationReport report = check.validate(RestAssuredRequest.of(request), RestAssuredResponse.of(answer));
        boolean refused = answer.statusCode() >= 400 && answer.statusCode() < 500;
        String type = String.valueOf(request.getContentType());
        java.util.List<ValidationReport.Message> errors = report.getMessages().stream()
                .filter(m -> m.getLevel() == ValidationReport.Level.ERROR)
                .filter(m -> !(refused && m.getKey().startsWith("validation.request.")))
                .filter(m -> !(type.startsWith("multipart/") && m.getKey().equals("validation.request.body.missing")))
                .toList();
        if (!errors.isEmpty()) {
            throw new AssertionError(request.getMethod() + " " + path + " answered " + answer.statusCode()
                    + " and disagrees with the OpenAPI document:\n" + errors.stream().map(ContractFilter::describe).collect(java.util.stream.Collectors.joining("\n")));
        }
        checkProblemType(request.getMethod(), path, answer);
        if (String.valueOf(answer.contentType()).startsWith(EventStreams.MEDIA_TYPE)) {
            // the validator reads no event stream: each event's data is checked against the schema the document gives it
            List<String> wrongEvents = events.check(path, com.atlassian.oai.validator.model.Request.Method.valueOf(request.getMethod().toUpperCase()),
                    answer.asString());
            if (!wrongEvents.isEmpty()) {
                throw new AssertionError(request.getMethod() + " " + path + " sent events that disagree with the OpenAPI document:\n  "
                        + String.join("\n  ", wrongEvents));
            }
        }
        return answer;
    }

    /**
     * A problem's {@code type} is one the document lists for that route ({@code x-problem-types} of its {@code default}
     * answer) or for every route ({@code x-problem-types} of the {@code Problem} schema). With
     * {@code -Dcontract.collect-problems=true} the types seen are written to {@code target/problem-types-observed.txt} instead.
     */
    private void checkProblemType(String method, String path, Response answer) {
        String contentType = String.valueOf(answer.contentType());
        if (!contentType.startsWith("application/problem+json")) {
            return;
        }
        String type = answer.jsonPath().getString("type");
        String slug = type == null ? "" : type.substring(type.lastIndexOf('/') + 1);
        String template = templates.entrySet().stream().filter(e -> e.getValue().matcher(path).matches()).map(java.util.Map.Entry::getKey)
                .findFirst().orElse(path);
        String operation = method.toUpperCase(java.util.Locale.ROOT) + " " + template;
        if (Boolean.getBoolean("contract.collect-problems")) {
            synchronized (ContractFilter.class) {
                try {
                    java.nio.file.Files.writeString(java.nio.file.Path.of("target", "problem-types-observed.txt"), operation + " " + slug + "\n",
                            java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
            return;
        }
        java.util.Set<String> listed = problemTypes.getOrDefault(operation, java.util.Set.of());
        if (!everyRoute.contains(slug) && !listed.contains(slug)) {
            throw new AssertionError(operation + " answered a problem of type '" + slug + "' that the OpenAPI document does not list for it"
                    + " (add it to the route's \"problems\" in src/main/resources/openapi/examples.json)");
        }
    }

    /** A message with the ones nested in it (a failed allOf/oneOf says why only there). */
    private static String describe(ValidationReport.Message m) {
        StringBuilder out = new StringBuilder("  " + m.getKey() + ": " + m.getMessage());
        for (ValidationReport.Message nested : m.getNestedMessages()) {
            out.append("\n  ").append(describe(nested));
        }
        m.getAdditionalInfo().forEach(info -> out.append("\n    ").append(info));
        return out.toString();
    }

    private void readProblemTypes(String spec) {
        try {
            com.fasterxml.jackson.databind.JsonNode doc = new com.fasterxml.jackson.databind.ObjectMapper().readTree(spec);
            java.util.Map<String, java.util.regex.Pattern> paths = new java.util.LinkedHashMap<>();
            java.util.Map<String, java.util.Set<String>> types = new java.util.HashMap<>();
            doc.path("paths").fields().forEachRemaining(p -> {
                paths.put(p.getKey(), java.util.regex.Pattern.compile(p.getKey().replaceAll("\\{[^}]+}", "[^/]+")));
                p.getValue().fields().forEachRemaining(op -> {
                    java.util.Set<String> listed = new java.util.HashSet<>();
                    op.getValue().path("responses").path("default").path("x-problem-types").forEach(t -> listed.add(t.asText()));
                    types.put(op.getKey().toUpperCase(java.util.Locale.ROOT) + " " + p.getKey(), listed);
                });
            });
            java.util.Set<String> all = new java.util.HashSet<>();
            doc.path("components").path("schemas").path("Problem").path("x-problem-types").forEach(t -> all.add(t.asText()));
            templates = paths;
            problemTypes = types;
            everyRoute = all;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * A validator of the document that does not ask for the key: the tests' profile (like dev mode) serves a request
     * without one as the anonymous tenant, which the document, written for production, does not offer. Which key each
     * route takes is checked by DocumentedAccessTest and TenantsTest.
     */
    public static OpenApiInteractionValidator validatorFor(String spec) {
        return OpenApiInteractionValidator.createForInlineApiSpecification(spec)
                .withLevelResolver(com.atlassian.oai.validator.report.LevelResolver.create()
                        .withLevel("validation.request.security.missing", ValidationReport.Level.IGNORE).build())
                .build();
    }

    /** The document of the application under test (read again when a test profile restarts it on another port). */
    private OpenApiInteractionValidator validator(int port) {
        if (validator == null || validatorPort != port) {
            synchronized (this) {
                if (validator == null || validatorPort != port) {
                    String spec = RestAssured.given().filters(java.util.List.of()).accept("application/json")
                            .get(RestAssured.baseURI + ":" + port + "/q/openapi?format=json").then().statusCode(200).extract().asString();
                    validator = validatorFor(spec);
                    events = new EventStreams(spec);
                    readProblemTypes(spec);
                    validatorPort = port;
                }
            }
        }
        return validator;
    }
}
