package ai.atelier.support;

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
 * cannot read multipart bodies, so for those only the body's presence is not checked.
 */
public final class ContractFilter implements Filter {

    private static volatile boolean installed;
    private static final Set<String> UNDOCUMENTED_PREFIXES = Set.of("/q/", "/playground", "/samples/", "/_sim/");

    private volatile OpenApiInteractionValidator validator;
    private volatile int validatorPort = -1;

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
        return answer;
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

    /** The document of the application under test (read again when a test profile restarts it on another port). */
    private OpenApiInteractionValidator validator(int port) {
        if (validator == null || validatorPort != port) {
            synchronized (this) {
                if (validator == null || validatorPort != port) {
                    String spec = RestAssured.given().filters(java.util.List.of()).accept("application/json")
                            .get(RestAssured.baseURI + ":" + port + "/q/openapi?format=json").then().statusCode(200).extract().asString();
                    validator = OpenApiInteractionValidator.createForInlineApiSpecification(spec).build();
                    validatorPort = port;
                }
            }
        }
        return validator;
    }
}
