package ai.atelier.jobs;

import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.vertx.core.json.JsonObject;

/**
 * The job row's JSON columns as Hibernate writes them: plain Jackson, field names as declared (not the
 * REST API's snake_case), for the places that write or read them without Hibernate.
 */
final class Columns {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private Columns() {
    }

    /** A value as a JSON column, converted in memory (no text round trip: this is on every submit). */
    @SuppressWarnings("unchecked")
    static JsonObject json(Object value) {
        return value == null ? null : new JsonObject(MAPPER.convertValue(value, Map.class));
    }

    /** A file as stored inside another column (a shoot style's output). */
    static JobFile file(Object stored) {
        return MAPPER.convertValue(stored, JobFile.class);
    }
}
