package ai.atelier.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

import com.atlassian.oai.validator.OpenApiInteractionValidator;
import com.atlassian.oai.validator.model.Request;
import com.atlassian.oai.validator.model.SimpleResponse;
import com.atlassian.oai.validator.report.ValidationReport;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import ai.atelier.util.ServerSentEvents;

/**
 * Checks each event of a {@code text/event-stream} answer against the schema the OpenAPI document gives its events. The
 * validator reads only JSON bodies, so it is given a copy of the document in which every event stream is also offered as
 * {@code application/json} with the same schema, and each event's {@code data} is checked as such a body.
 */
public final class EventStreams {

    public static final String MEDIA_TYPE = "text/event-stream";

    private final OpenApiInteractionValidator validator;

    public EventStreams(String spec) {
        try {
            JsonNode doc = new ObjectMapper().readTree(spec);
            doc.path("paths").forEach(item -> item.forEach(op -> op.path("responses").forEach(response -> {
                JsonNode stream = response.path("content").path(MEDIA_TYPE);
                if (!stream.isMissingNode() && response.path("content") instanceof ObjectNode content) {
                    ObjectNode json = content.putObject("application/json");
                    json.set("schema", stream.path("schema"));
                }
            })));
            this.validator = OpenApiInteractionValidator.createForInlineApiSpecification(doc.toString()).build();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What is wrong with the events of this stream (its whole text) as answers of the operation: nothing, when all pass. */
    public List<String> check(String url, Request.Method method, String stream) {
        List<String> wrong = new ArrayList<>();
        for (String data : ServerSentEvents.dataOf(stream)) {
            wrong.addAll(checkEvent(url, method, data));
        }
        return wrong;
    }

    /** What is wrong with one event's data (JSON text) as an event of the operation's stream. */
    public List<String> checkEvent(String url, Request.Method method, String data) {
        SimpleResponse answer = SimpleResponse.Builder.status(200).withContentType("application/json").withBody(data).build();
        return validator.validateResponse(url, method, answer).getMessages().stream().filter(m -> m.getLevel() == ValidationReport.Level.ERROR)
                .map(m -> "event " + data + ": " + m.getKey() + ": " + m.getMessage()).toList();
    }
}
