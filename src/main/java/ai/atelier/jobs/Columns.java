package ai.atelier.jobs;

import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.vertx.core.json.JsonObject;

/**
 * The job row's JSON columns: plain Jackson, field names as declared (not the REST API's snake_case),
 * converted in memory (no text round trip: these are on every submit and every transition).
 */
public final class Columns {

    // a field a later release adds to a column's records (a file's, say) must not make this version fail on its rows
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .disable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private Columns() {
    }

    /** A value (a map, a record) as a JSON column; null stays SQL NULL. */
    @SuppressWarnings("unchecked")
    public static JsonObject json(Object value) {
        return value == null ? null : new JsonObject(MAPPER.convertValue(value, Map.class));
    }

    /**
     * A value as JSON text for a parameter the statement casts ({@code $n::text::jsonb}): one serialisation, where a
     * {@link JsonObject} parameter is first converted to a map and then serialised by the driver. For the columns every
     * job writes (its accept and its end); null stays SQL NULL.
     */
    public static String text(Object value) {
        if (value == null) {
            return null;
        }
        try {
            return MAPPER.writeValueAsString(value);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("Not a JSON column value: " + value.getClass().getName(), e);
        }
    }

    /** A JSON column as a mutable map (nested objects are maps and lists, as the driver decodes them). */
    static Map<String, Object> map(JsonObject column) {
        return column == null ? null : new LinkedHashMap<>(column.getMap());
    }

    static JobFiles files(JsonObject column) {
        return column == null ? JobFiles.of(java.util.List.of()) : MAPPER.convertValue(column.getMap(), JobFiles.class);
    }

    /** A file as stored inside another column (a shoot style's output). */
    public static JobFile file(Object stored) {
        return MAPPER.convertValue(stored, JobFile.class);
    }
}
