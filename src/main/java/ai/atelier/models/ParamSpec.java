package ai.atelier.models;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import ai.atelier.net.IpLiterals;
import ai.atelier.net.UrlGuard;

/**
 * One parameter a request may tune, with the range fal's schema allows (or a tighter one of ours),
 * and the conversion from what a client sent to exactly what fal receives.
 */
public record ParamSpec(String name, Type type, Double min, Double max, List<String> values, Object defaultValue, Integer maxItems,
        String description) {

    /** The kinds of values fal's schemas use. */
    public enum Type { INTEGER, NUMBER, BOOLEAN, ENUM, STRING, SEED, IMAGE_SIZE, LORAS }

    /** fal's toolkit takes https URLs of up to 2048 characters. */
    static final int MAX_LORA_PATH = 2048;

    static final Set<String> SIZE_PRESETS = Set.of("square_hd", "square", "portrait_4_3", "portrait_16_9", "landscape_4_3", "landscape_16_9");

    public static ParamSpec integer(String name, int min, int max, Integer def, String description) {
        return new ParamSpec(name, Type.INTEGER, (double) min, (double) max, List.of(), def, null, description);
    }

    public static ParamSpec number(String name, double min, double max, Double def, String description) {
        return new ParamSpec(name, Type.NUMBER, min, max, List.of(), def, null, description);
    }

    public static ParamSpec bool(String name, Boolean def, String description) {
        return new ParamSpec(name, Type.BOOLEAN, null, null, List.of(), def, null, description);
    }

    public static ParamSpec oneOf(String name, List<String> values, String def, String description) {
        return new ParamSpec(name, Type.ENUM, null, null, values, def, null, description);
    }

    public static ParamSpec text(String name, int maxLength, String def, String description) {
        return new ParamSpec(name, Type.STRING, 0.0, (double) maxLength, List.of(), def, null, description);
    }

    public static ParamSpec seed() {
        return new ParamSpec("seed", Type.SEED, 0.0, null, List.of(), null, null, "Same seed, same inputs: same picture");
    }

    public static ParamSpec imageSize(int minSide, int maxSide, String def) {
        return new ParamSpec("image_size", Type.IMAGE_SIZE, (double) minSide, (double) maxSide, List.copyOf(SIZE_PRESETS.stream().sorted().toList()),
                def, null, "A preset name or {\"width\", \"height\"} in pixels");
    }

    public static ParamSpec loras(int maxItems) {
        return new ParamSpec("loras", Type.LORAS, 0.0, 4.0, List.of(), null, maxItems,
                "Up to " + maxItems + " LoRAs: [{\"path\": https URL, \"scale\": 0..4}]");
    }

    /**
     * Checks a client value and returns what fal should receive.
     *
     * @throws IllegalArgumentException with a message fit for the client when the value is unusable
     */
    public Object coerce(Object value) {
        if (value == null) {
            throw new IllegalArgumentException("must not be null");
        }
        return switch (type) {
            case INTEGER -> {
                long v = wholeNumber(value);
                checkRange(v);
                yield (int) v;
            }
            case NUMBER -> {
                if (!(value instanceof Number n)) {
                    throw new IllegalArgumentException("must be a number");
                }
                checkRange(n.doubleValue());
                yield n.doubleValue();
            }
            case BOOLEAN -> {
                if (!(value instanceof Boolean b)) {
                    throw new IllegalArgumentException("must be true or false");
                }
                yield b;
            }
            case ENUM -> {
                if (!(value instanceof String s) || !values.contains(s)) {
                    throw new IllegalArgumentException("must be one of " + values);
                }
                yield s;
            }
            case STRING -> {
                if (!(value instanceof String s)) {
                    throw new IllegalArgumentException("must be a string");
                }
                if (s.length() > max) {
                    throw new IllegalArgumentException("must be at most " + max.intValue() + " characters");
                }
                yield s;
            }
            case SEED -> {
                BigInteger v = value instanceof BigInteger b ? b : BigInteger.valueOf(wholeNumber(value));
                if (v.signum() < 0) {
                    throw new IllegalArgumentException("must be 0 or more");
                }
                if (v.bitLength() > 63) {
                    throw new IllegalArgumentException("must be at most " + Long.MAX_VALUE);
                }
                yield v.longValue();
            }
            case IMAGE_SIZE -> imageSizeValue(value);
            case LORAS -> lorasValue(value);
        };
    }

    private Object imageSizeValue(Object value) {
        if (value instanceof String s) {
            if (!SIZE_PRESETS.contains(s)) {
                throw new IllegalArgumentException("must be one of " + values + " or {\"width\", \"height\"}");
            }
            return s;
        }
        if (value instanceof Map<?, ?> m) {
            if (!m.keySet().equals(Set.of("width", "height"))) {
                throw new IllegalArgumentException("must have exactly the fields width and height");
            }
            Map<String, Object> size = new LinkedHashMap<>();
            for (String side : List.of("width", "height")) {
                long v = wholeNumber(m.get(side));
                if (v < min || v > max) {
                    throw new IllegalArgumentException(side + " must be from " + min.intValue() + " to " + max.intValue());
                }
                size.put(side, (int) v);
            }
            return size;
        }
        throw new IllegalArgumentException("must be one of " + values + " or {\"width\", \"height\"}");
    }

    private Object lorasValue(Object value) {
        if (!(value instanceof List<?> list)) {
            throw new IllegalArgumentException("must be a list of {\"path\", \"scale\"}");
        }
        if (maxItems != null && list.size() > maxItems) {
            throw new IllegalArgumentException("takes at most " + maxItems + " LoRAs, got " + list.size());
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (Object item : list) {
            if (!(item instanceof Map<?, ?> m) || !(m.get("path") instanceof String path) || path.isBlank()) {
                throw new IllegalArgumentException("each LoRA needs a non-empty \"path\"");
            }
            for (Object key : m.keySet()) {
                if (!"path".equals(key) && !"scale".equals(key)) {
                    throw new IllegalArgumentException("a LoRA has only \"path\" and \"scale\", not \"" + key + "\"");
                }
            }
            checkLoraPath(path);
            Map<String, Object> lora = new LinkedHashMap<>();
            lora.put("path", path);
            if (m.get("scale") != null) {
                if (!(m.get("scale") instanceof Number n) || n.doubleValue() < min || n.doubleValue() > max) {
                    throw new IllegalArgumentException("a LoRA scale must be a number from 0 to 4");
                }
                lora.put("scale", n.doubleValue());
            }
            out.add(lora);
        }
        return out;
    }

    /**
     * fal fetches a LoRA path itself, from inside its network, so a path is an https URL to a public
     * host, judged without DNS (this runs at submit): no other schemes ({@code file:}, {@code gopher:}),
     * no user info, no IP literal of a non-public address in any form a resolver reads
     * ({@code 127.1}, {@code [::1]}), no names only an internal resolver knows.
     */
    static void checkLoraPath(String path) {
        if (path.length() > MAX_LORA_PATH) {
            throw new IllegalArgumentException("each LoRA path must be an https URL of at most " + MAX_LORA_PATH + " characters, got "
                    + path.length());
        }
        if (path.codePoints().anyMatch(c -> Character.isWhitespace(c) || Character.isSpaceChar(c) || Character.isISOControl(c))) {
            throw new IllegalArgumentException("each LoRA path must be an https URL without spaces or control characters");
        }
        URI uri;
        try {
            uri = new URI(path);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("each LoRA path must be a valid https URL");
        }
        if (!"https".equalsIgnoreCase(uri.getScheme())) {
            throw new IllegalArgumentException("each LoRA path must be an https URL of at most " + MAX_LORA_PATH + " characters");
        }
        if (uri.getRawAuthority() != null && uri.getRawAuthority().contains("@")) {
            throw new IllegalArgumentException("each LoRA path must be an https URL without a user name or password (user@) before the host");
        }
        String host = IpLiterals.hostOf(uri);
        if (host == null) {
            throw new IllegalArgumentException("each LoRA path must be an https URL with a host");
        }
        InetAddress literal;
        try {
            literal = IpLiterals.literal(host);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("each LoRA path must name a host or a valid IP address; '" + host + "' is neither (a host "
                    + "ending in a number must be an IPv4 address, without a trailing dot)");
        }
        if (literal != null) {
            if (!UrlGuard.isPublic(literal)) {
                throw new IllegalArgumentException("each LoRA path must point at a public host, not at the loopback, private or otherwise "
                        + "non-public address " + host + (host.equals(literal.getHostAddress()) ? "" : " (" + literal.getHostAddress() + ")"));
            }
            return;
        }
        String name = host.endsWith(".") ? host.substring(0, host.length() - 1) : host; // a trailing dot names the same host
        if (name.equals("localhost") || name.endsWith(".localhost") || name.endsWith(".local") || name.endsWith(".internal")
                || !name.contains(".")) {
            throw new IllegalArgumentException("each LoRA path must point at a public host with a domain name, not '" + host + "'");
        }
    }

    private static long wholeNumber(Object value) {
        if (value instanceof Integer || value instanceof Long || value instanceof Short) {
            return ((Number) value).longValue();
        }
        if (value instanceof BigInteger b && b.bitLength() < 63) {
            return b.longValue();
        }
        if (value instanceof Double d && d == Math.rint(d) && !d.isInfinite()) {
            // beyond 2^53 a double is no longer an exact whole number, and a cast would clamp 1e308 to 2^63-1
            if (Math.abs(d) > 9_007_199_254_740_992d) {
                throw new IllegalArgumentException("is out of range (" + d + ")");
            }
            return d.longValue();
        }
        if (value instanceof BigInteger) {
            throw new IllegalArgumentException("is out of range (" + value + ")");
        }
        throw new IllegalArgumentException("must be a whole number");
    }

    private void checkRange(double v) {
        if ((min != null && v < min) || (max != null && v > max)) {
            throw new IllegalArgumentException("must be from " + fmt(min) + " to " + fmt(max) + ", got " + fmt(v));
        }
    }

    private static String fmt(Double d) {
        return d == null ? "∞" : d == Math.rint(d) ? String.valueOf(d.longValue()) : String.valueOf(d);
    }
}
