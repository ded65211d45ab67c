package ai.atelier.simulator;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

/**
 * The simulator's stand-in for the LLMs behind {@code openrouter/router} and {@code openrouter/router/vision}:
 * answers that are a pure function of the input, so tests can know them in advance ({@link #categoriesFor},
 * {@link #backgroundPromptFor}), OpenRouter-shaped usage and cost, and scripted untidy answers, because a real
 * model does not always return the bare JSON it was asked for.
 */
public final class SimLlm {

    static final String VISION = "openrouter/router/vision";

    /** The keys of a categorisation answer, in the order the answer lists them. */
    public static final List<String> CATEGORY_KEYS = List.of("main_product_type", "subcategory", "target_audience", "price_range",
            "use_case", "style_design", "season_occasion", "industrial_type", "vibe");

    private static final Map<String, List<String>> SUBCATEGORIES = subcategories();

    /** Choices per key; subcategory is absent because it depends on the main type. */
    private static final Map<String, List<String>> CHOICES = Map.of(
            "main_product_type", List.copyOf(SUBCATEGORIES.keySet()),
            "target_audience", List.of("Men", "Women", "Unisex", "Kids", "Adults"),
            "price_range", List.of("Budget", "Mid-range", "Premium", "Luxury"),
            "use_case", List.of("Daily Use", "Casual Lifestyle", "Sports/Athletic", "Formal", "Outdoor"),
            "style_design", List.of("Modern", "Classic", "Minimalist", "Streetwear", "Elegant"),
            "season_occasion", List.of("All Season", "Spring/Summer", "Fall/Winter", "Formal Events"),
            "industrial_type", List.of("Footwear Manufacturing", "Fashion/Apparel", "Electronics Manufacturing", "Furniture", "Textile"),
            "vibe", List.of("Energetic", "Relaxing", "Professional", "Urban/Street", "Sophisticated"));

    /** USD per million tokens, input then output; models not listed cost {@link #DEFAULT_PRICE}. */
    private static final Map<String, BigDecimal[]> PRICES = Map.of(
            "google/gemini-2.5-pro", prices("1.25", "10"),
            "google/gemini-2.5-flash", prices("0.30", "2.50"),
            "openai/gpt-5-mini", prices("0.25", "2.00"));
    private static final BigDecimal[] DEFAULT_PRICE = prices("1.00", "4.00");

    /** What a vision model is billed for one picture, whatever its size (a flat figure, like Gemini's 258). */
    static final int TOKENS_PER_IMAGE = 258;

    static final Set<String> MODES = Set.of("prose", "fenced", "missing_keys", "extra_keys", "empty", "no_json", "error", "control_chars");

    private static final String STYLE_MARK = "The style type is: ";
    private static final Pattern SUBCATEGORY_LINE = Pattern.compile("(?m)^\\s*- subcategory:(.*)$");
    private static final Pattern WORD = Pattern.compile("\\s*\\S+\\s*");

    /** One scripted untidy answer, applied to the next {@code remaining} answers of the endpoint (any when null). */
    private static final class Script {
        final String mode;
        final String endpoint;
        int remaining;

        Script(String mode, String endpoint, int remaining) {
            this.mode = mode;
            this.endpoint = endpoint;
            this.remaining = remaining;
        }
    }

    private final List<Script> scripts = new ArrayList<>();

    // ---- deterministic answers -----------------------------------------------------------------

    /** The categories the vision model "sees" in a picture: byte k of the bytes' SHA-256 picks the value of key k. */
    public static JsonObject categoriesFor(byte[] imageBytes) {
        byte[] digest = sha256(imageBytes);
        JsonObject categories = new JsonObject(new LinkedHashMap<>());
        for (int k = 0; k < CATEGORY_KEYS.size(); k++) {
            String key = CATEGORY_KEYS.get(k);
            List<String> choices = key.equals("subcategory")
                    ? SUBCATEGORIES.get(categories.getString("main_product_type"))
                    : CHOICES.get(key);
            categories.put(key, choices.get((digest[k] & 0xff) % choices.size()));
        }
        return categories;
    }

    /** The background prompt the model writes when asked for one: built from the style and subcategory it was given. */
    public static String backgroundPromptFor(String prompt) {
        String style = "a clean studio";
        int mark = prompt.indexOf(STYLE_MARK);
        if (mark >= 0) {
            String line = prompt.substring(mark + STYLE_MARK.length()).lines().findFirst().orElse("").trim();
            if (line.endsWith(".")) {
                line = line.substring(0, line.length() - 1).trim();
            }
            if (!line.isEmpty()) {
                style = line;
            }
        }
        String subcategory = "product";
        Matcher m = SUBCATEGORY_LINE.matcher(prompt);
        if (m.find() && !m.group(1).isBlank()) {
            subcategory = m.group(1).trim();
        }
        return "Change only the background to " + style.substring(0, 1).toLowerCase(Locale.ROOT) + style.substring(1)
                + ", suited to this " + subcategory + ". Keep the " + subcategory
                + " exactly as it is in the original image: same shape, colours and details.";
    }

    /** The tidy answer: categories, a background prompt, or an echo, depending on what was asked. */
    static String answerFor(String endpointId, JsonObject body, List<byte[]> images) {
        String prompt = body.getString("prompt");
        if (VISION.equals(endpointId) && !images.isEmpty() && prompt.toLowerCase(Locale.ROOT).contains("categor")) {
            return categoriesFor(images.get(0)).encode();
        }
        if (prompt.contains("Change only the background to")) {
            return backgroundPromptFor(prompt);
        }
        return "Echo (" + body.getString("model") + "): " + prompt;
    }

    // ---- responses ------------------------------------------------------------------------------

    /** The router's output for a validated body, with the next matching script applied. */
    JsonObject respond(String endpointId, JsonObject body, List<byte[]> images) {
        String answer = answerFor(endpointId, body, images);
        String mode = nextMode(endpointId);
        if ("error".equals(mode)) {
            return result(body, images.size(), "", "Provider returned error"); // openrouter answers 200 on a provider failure
        }
        return result(body, images.size(), mode == null ? answer : untidy(mode, answer), null);
    }

    static JsonObject result(JsonObject body, int imageCount, String output, String error) {
        return new JsonObject().put("output", output).put("reasoning", null).put("partial", false).put("error", error)
                .put("usage", usage(body, imageCount, output));
    }

    /** Roughly four characters a token, as OpenRouter estimates; cost rounded to 8 decimals like its invoices. */
    static JsonObject usage(JsonObject body, int imageCount, String output) {
        String system = body.getValue("system_prompt") instanceof String s ? s : "";
        long prompt = ceilQuarter(system.length() + body.getString("prompt").length()) + (long) TOKENS_PER_IMAGE * imageCount;
        long completion = ceilQuarter(output.length());
        BigDecimal[] price = PRICES.getOrDefault(body.getString("model"), DEFAULT_PRICE);
        BigDecimal cost = BigDecimal.valueOf(prompt).multiply(price[0]).add(BigDecimal.valueOf(completion).multiply(price[1]))
                .movePointLeft(6).setScale(8, RoundingMode.HALF_UP);
        return new JsonObject().put("prompt_tokens", prompt).put("completion_tokens", completion)
                .put("total_tokens", prompt + completion).put("cost", cost.doubleValue());
    }

    /** Splits an answer for streaming: up to three words a chunk, whitespace kept so the chunks join to the answer. */
    static List<String> chunks(String output) {
        List<String> words = new ArrayList<>();
        Matcher m = WORD.matcher(output);
        while (m.find()) {
            words.add(m.group());
        }
        if (words.isEmpty() && !output.isEmpty()) {
            words.add(output); // whitespace only
        }
        List<String> chunks = new ArrayList<>();
        for (int i = 0; i < words.size(); i += 3) {
            chunks.add(String.join("", words.subList(i, Math.min(i + 3, words.size()))));
        }
        return chunks;
    }

    private static String untidy(String mode, String answer) {
        return switch (mode) {
            case "prose" -> "Sure! Here is my analysis of the product.\n\n" + pretty(answer) + "\n\nLet me know if you need anything else.";
            case "fenced" -> "```json\n" + pretty(answer) + "\n```";
            case "missing_keys" -> json(answer).map(o -> {
                o.remove("season_occasion");
                o.remove("vibe");
                return o.encode();
            }).orElse(answer);
            case "extra_keys" -> json(answer).map(o -> o.put("confidence", 0.92).put("notes", "Looks new.").encode()).orElse(answer);
            case "empty" -> "";
            case "no_json" -> "I cannot determine the product category from this image.";
            // a terminal's colours around the answer, as a model that learned them from logs may write them
            case "control_chars" -> "\u001b[1m" + answer + "\u001b[0m\u0007";
            default -> throw new IllegalStateException("unknown mode " + mode);
        };
    }

    private static String pretty(String answer) {
        return json(answer).map(JsonObject::encodePrettily).orElse(answer);
    }

    private static Optional<JsonObject> json(String answer) {
        if (!answer.startsWith("{")) {
            return Optional.empty();
        }
        try {
            return Optional.of(new JsonObject(answer));
        } catch (DecodeException notJson) {
            return Optional.empty();
        }
    }

    // ---- scripts ---------------------------------------------------------------------------------

    /** Queues {@code {"mode", "times"=1, "endpoint"?}}; IllegalArgumentException when the spec is not one. */
    void script(JsonObject spec) {
        if (spec == null) {
            throw new IllegalArgumentException("A JSON body with a mode is required");
        }
        String mode = spec.getValue("mode") instanceof String s ? s : null;
        if (mode == null || !MODES.contains(mode)) {
            throw new IllegalArgumentException("Unknown mode " + spec.getValue("mode") + "; expected one of " + MODES.stream().sorted().toList());
        }
        Object count = spec.containsKey("times") ? spec.getValue("times") : 1;
        if (!(count instanceof Integer times) || times < 1) {
            throw new IllegalArgumentException("times must be a positive integer");
        }
        if (spec.getValue("endpoint") != null && !(spec.getValue("endpoint") instanceof String)) {
            throw new IllegalArgumentException("endpoint must be an endpoint id");
        }
        synchronized (scripts) {
            scripts.add(new Script(mode, spec.getString("endpoint"), times));
        }
    }

    void clearScripts() {
        synchronized (scripts) {
            scripts.clear();
        }
    }

    /** Takes one use of the oldest script for this endpoint (exact id match), or null when none applies. */
    private String nextMode(String endpointId) {
        synchronized (scripts) {
            for (Iterator<Script> it = scripts.iterator(); it.hasNext();) {
                Script s = it.next();
                if (s.endpoint == null || s.endpoint.equals(endpointId)) {
                    if (--s.remaining <= 0) {
                        it.remove();
                    }
                    return s.mode;
                }
            }
        }
        return null;
    }

    // ---- helpers ---------------------------------------------------------------------------------

    private static long ceilQuarter(long chars) {
        return (chars + 3) / 4;
    }

    private static BigDecimal[] prices(String in, String out) {
        return new BigDecimal[] { new BigDecimal(in), new BigDecimal(out) };
    }

    private static Map<String, List<String>> subcategories() {
        Map<String, List<String>> m = new LinkedHashMap<>();
        m.put("Footwear", List.of("Sneakers", "Boots", "Running Shoes", "Sandals"));
        m.put("Electronics", List.of("Headphones", "Smartphone", "Camera"));
        m.put("Clothing", List.of("T-shirt", "Jacket", "Dress"));
        m.put("Accessories", List.of("Watch", "Handbag", "Sunglasses"));
        m.put("Home Decor", List.of("Vase", "Lamp", "Cushion"));
        m.put("Beauty Products", List.of("Perfume", "Lipstick", "Serum"));
        return m;
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
