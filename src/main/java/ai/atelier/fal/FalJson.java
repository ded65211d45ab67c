package ai.atelier.fal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import ai.atelier.http.TextRules;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

/**
 * fal's answers as JSON objects, read without the rules a request is held to, every string made printable. The
 * application's JSON codec refuses control characters in any string (a request must not carry them), and fal's text
 * may hold them (a log line's ANSI colours, an LLM's stray byte): read through it, such an answer failed as "not
 * JSON", and a job whose result held one could never finish. Made printable ({@link TextRules#printable}), nothing
 * fal sends can reach a row or the live store that the codec could not read back.
 */
final class FalJson {

    private static final ObjectMapper PLAIN = new ObjectMapper();
    private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() {
    };

    private FalJson() {
    }

    /** The body as a JSON object; {@link DecodeException} when it is not one. */
    static JsonObject object(Buffer body) {
        if (body == null || body.length() == 0) {
            return null;
        }
        try {
            return new JsonObject(printable(PLAIN.readValue(body.getBytes(), MAP)));
        } catch (java.io.IOException e) {
            throw new DecodeException("not a JSON object: " + e.getMessage());
        }
    }

    static JsonObject object(String body) {
        return body == null ? null : object(Buffer.buffer(body));
    }

    /** The value with every string (keys too) printable; the value itself when nothing needed it. */
    @SuppressWarnings("unchecked")
    static <T> T printable(T value) {
        if (value instanceof String s) {
            return (T) TextRules.printable(s);
        }
        if (value instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>(Math.max(4, m.size() * 2));
            m.forEach((k, v) -> out.put(TextRules.printable(String.valueOf(k)), printable(v)));
            return (T) out;
        }
        if (value instanceof List<?> l) {
            List<Object> out = new ArrayList<>(l.size());
            l.forEach(v -> out.add(printable(v)));
            return (T) out;
        }
        return value;
    }
}
