package ai.atelier.cache;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * The key of one fal call's result: sha256 over the tenant, the fal endpoint and the payload exactly as sent (the model's
 * locked parameters included), written canonically (keys sorted, numbers in one form), with every input image's URL
 * replaced by the sha256 of its stored bytes: the same picture under another URL (an upload, a data URL, a presigned
 * URL that changes every time) is the same input; another tenant's identical request is another key.
 */
public final class CacheKey {

    private CacheKey() {
    }

    /** The key, or null when an input URL the payload carries has no known content hash (a row from before hashes). */
    public static String of(String tenant, String endpoint, JsonObject payload, Map<String, String> hashByUrl) {
        boolean[] unknown = { false };
        Object canonical = canonical(payload, hashByUrl, unknown);
        if (unknown[0]) {
            return null;
        }
        return sha256(tenant + "\n" + endpoint + "\n" + canonical);
    }

    /** The sha256 of bytes, in hex: the content hash ingest records for each input. */
    public static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(digest().digest(bytes));
    }

    static String sha256(String text) {
        return sha256(text.getBytes(StandardCharsets.UTF_8));
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Object canonical(Object value, Map<String, String> hashByUrl, boolean[] unknown) {
        if (value instanceof JsonObject o) {
            value = o.getMap();
        }
        if (value instanceof JsonArray a) {
            value = a.getList();
        }
        if (value instanceof Map<?, ?> m) {
            TreeMap<String, Object> sorted = new TreeMap<>();
            m.forEach((k, v) -> sorted.put(String.valueOf(k), canonical(v, hashByUrl, unknown)));
            JsonObject out = new JsonObject();
            sorted.forEach(out::put);
            return out;
        }
        if (value instanceof List<?> l) {
            JsonArray out = new JsonArray();
            l.forEach(v -> out.add(canonical(v, hashByUrl, unknown)));
            return out;
        }
        if (value instanceof Number n) {
            // 7, 7L and 7.0 are one value to fal; a row read back may carry any of them
            return new BigDecimal(n.toString()).stripTrailingZeros().toPlainString();
        }
        if (value instanceof String s && (s.startsWith("http://") || s.startsWith("https://") || s.startsWith("data:"))) {
            String hash = hashByUrl.get(s);
            if (hash != null) {
                return "sha256:" + hash;
            }
            if (s.startsWith("data:")) {
                unknown[0] = true; // an input image we cannot name by content: never cached
            }
        }
        return value;
    }
}
