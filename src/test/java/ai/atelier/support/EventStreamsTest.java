package ai.atelier.support;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import com.atlassian.oai.validator.model.Request;

/** The check ContractFilter makes of every event stream a test reads: each event's data against the document's schema. */
class EventStreamsTest {

    private static final String SPEC = """
            {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {"/v1/jobs/{id}/events": {"get": {
              "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
              "responses": {"200": {"description": "events", "content": {"text/event-stream": {"schema": {"$ref": "#/components/schemas/E"}}}}}}}},
             "components": {"schemas": {"E": {"type": "object", "required": ["status", "percent"], "properties": {
               "status": {"type": "string", "enum": ["queued", "succeeded"]}, "percent": {"type": "integer"}}}}}}
            """;

    @Test
    void eventsOfTheDocumentedShapePassAndOthersAreNamed() {
        EventStreams events = new EventStreams(SPEC);
        String good = "id:1-0\nevent:progress\ndata:{\"status\":\"queued\",\"percent\":10}\n\n:keep-alive\n\nid:2-0\ndata:{\"status\":\"succeeded\",\"percent\":100}\n\n";
        assertThat(events.check("/v1/jobs/x/events", Request.Method.GET, good)).isEmpty();
        String bad = "id:1-0\ndata:{\"status\":\"queued\",\"percent\":10}\n\nid:2-0\ndata:{\"status\":\"done\",\"percent\":\"all\"}\n\n";
        assertThat(events.check("/v1/jobs/x/events", Request.Method.GET, bad)).isNotEmpty()
                .allSatisfy(w -> assertThat(w).startsWith("event {\"status\":\"done\""));
        assertThat(events.checkEvent("/v1/jobs/x/events", Request.Method.GET, "{\"percent\":1}")).isNotEmpty();
    }
}
