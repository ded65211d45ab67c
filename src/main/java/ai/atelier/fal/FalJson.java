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
        byte[] bytes = body.getBytes();
        try {
            return new JsonObject(printable(PLAIN.readValue(bytes, MAP)));
        } catch (java.io.IOException e) {
            byte[] decodable = decodable(bytes);
            if (decodable == null) {
                throw new DecodeException("not a JSON object: " + e.getMessage());
            }
            return object(Buffer.buffer(decodable));
        }
    }

    /**
     * The bytes with every malformed UTF-8 sequence replaced by U+FFFD, as a text decoder reads them; null when there was
     * none. The JSON reader refuses malformed UTF-8 anywhere, and an answer fal garbled in one log line is still an answer.
     */
    static byte[] decodable(byte[] bytes) {
        byte[] decoded = new String(bytes, java.nio.charset.StandardCharsets.UTF_8).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return java.util.Arrays.equals(decoded, bytes) ? null : decoded;
    }

    /** A fal answer's body (the Mutiny client's buffer) as a JSON object, as {@link #object(Buffer)} reads it. */
    static JsonObject object(io.vertx.mutiny.core.buffer.Buffer body) {
        return object(body == null ? null : body.getDelegate());
    }

    static JsonObject object(String body) {
        return body == null ? null : object(Buffer.buffer(body));
    }

    /** The value with every string (keys too) printable: the value itself when none needed it (the common case, no copy). */
    @SuppressWarnings("unchecked")
    static <T> T printable(T value) {
        if (value instanceof String s) {
            return (T) TextRules.printable(s);
        }
        if (value instanceof Map<?, ?> m) {
            Map<String, Object> out = null;
            int seen = 0;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                String key = String.valueOf(e.getKey());
                String k = TextRules.printable(key);
                Object v = printable(e.getValue());
                if (out == null && (k != key || v != e.getValue())) {
                    // the first change: the entries before it as they were, then the rest as made printable
                    out = new LinkedHashMap<>(Math.max(4, m.size() * 2));
                    int copied = 0;
                    for (Map.Entry<?, ?> before : m.entrySet()) {
                        if (copied++ == seen) {
                            break;
                        }
                        out.put(String.valueOf(before.getKey()), before.getValue());
                    }
                }
                seen++;
                if (out != null) {
                    out.put(k, v);
                }
            }
            return out == null ? value : (T) out;
        }
        if (value instanceof List<?> l) {
            List<Object> out = null;
            for (int i = 0; i < l.size(); i++) {
                Object v = printable(l.get(i));
                if (out == null && v != l.get(i)) {
                    out = new ArrayList<>(l.subList(0, i));
                }
                if (out != null) {
                    out.add(v);
                }
            }
            return out == null ? value : (T) out;
        }
        return value;
    }
}
