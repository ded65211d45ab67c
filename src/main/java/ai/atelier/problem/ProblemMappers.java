package ai.atelier.problem;

import java.util.Map;
import java.util.stream.Collectors;

import jakarta.validation.ConstraintViolationException;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;

import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;

import io.quarkus.logging.Log;
import io.quarkus.runtime.util.ExceptionUtil;

/** Turns every failure that reaches the HTTP layer into {@code application/problem+json}; unknown ones become a bare 500. */
public class ProblemMappers {

    @ServerExceptionMapper
    public Response problem(Problem p, UriInfo uri) {
        Response r = respond(p.status(), p.slug(), p.title(), p.getMessage(), uri, p.extensions());
        if (p.retryAfterSeconds() != null) {
            r.getHeaders().putSingle("Retry-After", String.valueOf(p.retryAfterSeconds()));
        }
        return r;
    }

    /**
     * A body Jackson could not read, said in plain words: Jackson's own messages name its classes and
     * features ({@code JsonReadFeature}, {@code StreamReadConstraints}), which mean nothing to a client.
     */
    @ServerExceptionMapper
    public Response invalidJson(JsonProcessingException e, UriInfo uri) {
        String where = path(e);
        if (e instanceof ai.atelier.http.JsonRules.RefusedText refused) {
            return respond(422, "invalid-characters", "Invalid characters", "The field '" + where + "' " + refused.refusal(), uri,
                    Map.of("field", where));
        }
        String message = String.valueOf(e.getOriginalMessage());
        String detail;
        if (e instanceof UnrecognizedPropertyException u) {
            // well-formed JSON this route does not understand: a 422 naming the field (a misspelt or camelCase
            // name must never be silently ignored), with the names it knows
            String field = where.isEmpty() ? u.getPropertyName() : where;
            return respond(422, "unknown-field", "Unknown field", "Unknown field '" + u.getPropertyName() + "'" + (u.getKnownPropertyIds() == null ? ""
                    : "; known fields: " + u.getKnownPropertyIds().stream().map(String::valueOf).sorted().collect(Collectors.joining(", "))),
                    uri, Map.of("field", field));
        } else if (message.startsWith("Duplicate field")) {
            String field = message.replaceAll("(?s)^Duplicate field '(.*)'.*$", "$1");
            return respond(400, "malformed-json", "Malformed JSON", "The field '" + field + "' appears more than once", uri, Map.of("field", field));
        } else if (message.startsWith("Trailing token")) {
            detail = "The body has more after the end of the JSON document";
        } else if (e instanceof com.fasterxml.jackson.core.exc.StreamConstraintsException) {
            detail = "The JSON body nests too deep, or has a number or a string longer than this service reads";
        } else if (e instanceof com.fasterxml.jackson.core.exc.InputCoercionException) {
            detail = "A number in the JSON body is out of range" + (where.isEmpty() ? "" : " at '" + where + "'");
        } else if (e instanceof MismatchedInputException) {
            detail = "The JSON body has a value of the wrong type" + (where.isEmpty() ? "" : " at '" + where + "'");
        } else {
            var at = e.getLocation();
            detail = "The body is not valid JSON" + (at == null || at.getLineNr() < 0 ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")");
        }
        return respond(400, "malformed-json", "Malformed JSON", detail, uri, where.isEmpty() ? Map.of() : Map.of("field", where));
    }

    /** Where in the document the error is, as a dotted path ({@code params.loras[0].path}), or empty. */
    private static String path(JsonProcessingException e) {
        if (e instanceof com.fasterxml.jackson.databind.JsonMappingException m && !m.getPath().isEmpty()) {
            StringBuilder b = new StringBuilder();
            for (var r : m.getPath()) {
                if (r.getFieldName() != null) {
                    b.append(b.length() == 0 ? "" : ".").append(r.getFieldName());
                } else if (r.getIndex() >= 0) {
                    b.append('[').append(r.getIndex()).append(']');
                }
            }
            return b.toString();
        }
        if (e instanceof com.fasterxml.jackson.core.exc.StreamReadException r && r.getProcessor() != null
                && r.getProcessor().getParsingContext() != null && r.getProcessor().getParsingContext().getCurrentName() != null) {
            return r.getProcessor().getParsingContext().getCurrentName();
        }
        return "";
    }

    /** Quarkus ships its own mapper for this subtype; ours must be at least as specific to win. */
    @ServerExceptionMapper
    public Response mismatchedInput(MismatchedInputException e, UriInfo uri) {
        return invalidJson(e, uri);
    }

    @ServerExceptionMapper
    public Response constraintViolation(ConstraintViolationException e, UriInfo uri) {
        String detail = e.getConstraintViolations().stream()
                .map(v -> lastNode(v.getPropertyPath().toString()) + " " + v.getMessage()).sorted().collect(Collectors.joining("; "));
        return respond(422, "invalid-request", "Invalid request", detail, uri, Map.of());
    }

    @ServerExceptionMapper
    public Response webApplication(WebApplicationException e, UriInfo uri) {
        int status = e.getResponse().getStatus();
        Throwable root = ExceptionUtil.getRootCause(e);
        if (root instanceof JsonProcessingException json) {
            return invalidJson(json, uri);
        }
        if (status == 413) {
            return respond(413, "body-too-large", "Content too large", "The request body is larger than this service accepts", uri, Map.of());
        }
        if (status >= 500) {
            Log.errorf(e, "Unhandled %s on %s", status, uri.getPath());
            return respond(status, "internal-error", "Internal error", "Something went wrong on our side", uri, Map.of());
        }
        String title = Response.Status.fromStatusCode(status) != null ? Response.Status.fromStatusCode(status).getReasonPhrase() : "Error";
        return respond(status, slug(title), title, e.getMessage(), uri, Map.of());
    }

    /** A sync call to fal (an LLM completion, a product analysis) that failed: fal's refusal is the client's problem, the rest ours. */
    @ServerExceptionMapper
    public Response fal(ai.atelier.fal.FalException e, UriInfo uri) {
        if (e.status() == 422) {
            return respond(422, "fal-rejected", "fal rejected the request", e.getMessage(), uri, Map.of("code", e.code()));
        }
        int status = "fal_circuit_open".equals(e.code()) ? 503 : e.status() == 0 && e.getMessage().contains("did not answer") ? 504 : 502;
        return respond(status, "fal-failed", "fal failed", "fal: " + e.getMessage(), uri, Map.of("code", e.code()));
    }

    /** S3 down while accepting: nothing was stored, the client may try again. */
    @ServerExceptionMapper
    public Response storageUnavailable(ai.atelier.storage.ObjectStore.Unavailable e, UriInfo uri) {
        return respond(503, "storage-unavailable", "Storage unavailable", e.getMessage() + "; nothing was accepted, try again", uri, Map.of());
    }

    @ServerExceptionMapper
    public Response llmUnusable(ai.atelier.llm.LlmAnswer.Unusable e, UriInfo uri) {
        return respond(502, "llm-unusable", "Unusable LLM answer", e.getMessage(), uri, Map.of("code", e.code()));
    }

    @ServerExceptionMapper
    public Response categoriesUnusable(ai.atelier.prompts.Categories.Unusable e, UriInfo uri) {
        return respond(502, "categories-unusable", "Unusable categories", e.getMessage(), uri, Map.of("code", "categories_unusable"));
    }

    @ServerExceptionMapper
    public Response unexpected(Exception e, UriInfo uri) {
        Log.errorf(e, "Unhandled failure on %s", uri.getPath());
        return respond(500, "internal-error", "Internal error", "Something went wrong on our side", uri, Map.of());
    }

    private static String lastNode(String path) {
        int dot = path.lastIndexOf('.');
        return dot < 0 ? path : path.substring(dot + 1);
    }

    private static String slug(String title) {
        return title.toLowerCase().replaceAll("[^a-z0-9]+", "-");
    }

    /** The response for a problem raised outside a resource method (a filter). */
    public static Response toResponse(Problem p, String path) {
        return Response.status(p.status()).type(ProblemBody.MEDIA_TYPE)
                .entity(ProblemBody.of(p.status(), p.slug(), p.title(), p.getMessage(), path, p.extensions())).build();
    }

    static Response respond(int status, String slug, String title, String detail, UriInfo uri, Map<String, Object> ext) {
        return Response.status(status).type(ProblemBody.MEDIA_TYPE)
                .entity(ProblemBody.of(status, slug, title, detail, uri == null ? null : uri.getPath(), ext)).build();
    }
}
