package ai.atelier.prompts;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

/**
 * Seed 002's nine product categories, the vision prompt that asks for them, and a parser for what
 * models really answer: JSON inside prose or code fences, keys spelt differently, keys missing or
 * added. A key that is missing becomes {@code "Unknown"} and is listed; an answer without the main
 * product type or with fewer than {@link #MIN_KNOWN} known keys is not usable.
 */
public final class Categories {

    public static final List<String> KEYS = List.of("main_product_type", "subcategory", "target_audience", "price_range", "use_case",
            "style_design", "season_occasion", "industrial_type", "vibe");

    /** The only closed set of the nine; anything else becomes Unknown. */
    static final Set<String> PRICE_RANGES = Set.of("Budget", "Mid-range", "Premium", "Luxury");

    static final int MIN_KNOWN = 5;

    public static final String UNKNOWN = "Unknown";

    /** Seed 002's prompt; the image goes in {@code image_urls}, not in the text as the seed had it. */
    public static final String VISION_PROMPT = """
            You are an expert product analyst for e-commerce. Analyze the product image provided.

            STEP 1: First, carefully describe what you see in the image. What is the main product?

            STEP 2: Then categorize the product into exactly 9 categories with specific classifications.

            Categories to determine:
            1. Main Product Type - Be very specific (Examples: Footwear, Electronics, Clothing, Food, Furniture, Accessories, Sports Equipment, Home Decor, Beauty Products, etc.)
            2. Subcategory - Detailed classification (Examples for Footwear: Sneakers, High-top Sneakers, Low-top Sneakers, Boots, Running Shoes, Sandals, Formal Shoes; for Electronics: Smartphone, Laptop, Camera, Headphones; for Clothing: T-shirt, Jeans, Dress, Jacket)
            3. Target Audience (Examples: Men, Women, Kids, Unisex, Teenagers, Adults, Professional, Athletes)
            4. Price Range (Budget, Mid-range, Premium, Luxury)
            5. Use Case (Examples: Daily Use, Professional, Sports/Athletic, Casual Lifestyle, Formal, Outdoor, Indoor, etc.)
            6. Style/Design (Examples: Modern, Classic, Vintage/Retro, Minimalist, Bold/Statement, Streetwear, Athletic, Elegant, etc.)
            7. Season/Occasion (Examples: All Season, Spring/Summer, Fall/Winter, Casual Daily, Formal Events, Sports/Active, etc.)
            8. Industrial Type (Examples: Footwear Manufacturing, Fashion/Apparel, Food & Beverage, Electronics Manufacturing, Furniture, Textile, etc.)
            9. Vibe (Examples: Fun, Relaxing, Energetic, Professional, Casual, Urban/Street, Sporty, Sophisticated, Youthful, etc.)

            CRITICAL INSTRUCTIONS:
            - Look VERY CAREFULLY at the actual product in the image
            - Only consider most exposed product in the image
            - Do NOT make assumptions - only categorize what you actually see
            - Be as specific and accurate as possible
            - If you see shoes, they are NOT clothing or swimwear - they are Footwear
            - If you see electronics, specify the exact type
            - Match all 9 categories to the actual product you see

            Respond with a JSON object in this EXACT format (no additional text):
            {"main_product_type": "category_value", "subcategory": "specific_subcategory", "target_audience": "audience_value", \
            "price_range": "price_value", "use_case": "use_case_value", "style_design": "style_value", "season_occasion": "season_value", \
            "industrial_type": "industry_value", "vibe": "vibe_value"}""";

    /** The router/vision request for the nine categories of these images. */
    public static JsonObject visionRequest(String model, double temperature, int maxTokens, List<String> imageUrls) {
        return new JsonObject().put("prompt", VISION_PROMPT).put("model", model).put("temperature", temperature).put("max_tokens", maxTokens)
                .put("image_urls", new io.vertx.core.json.JsonArray(List.copyOf(imageUrls)));
    }

    /** Spellings models use for the keys, normalised (lower case, letters and digits only). */
    private static final Map<String, String> ALIASES = aliases();

    private Categories() {
    }

    /** A usable answer: the nine values in order, and which keys the model left out. */
    public record Parsed(Map<String, String> values, List<String> missing) {
    }

    /** Why an answer was not usable, in words for the job's error. */
    public static final class Unusable extends RuntimeException {
        public Unusable(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Reads the nine categories out of a model's answer.
     *
     * @throws Unusable when no JSON object with the categories could be found
     */
    public static Parsed parse(String output) {
        if (output == null || output.isBlank()) {
            throw new Unusable("the vision model returned an empty answer");
        }
        JsonObject json = firstObject(output);
        if (json == null) {
            throw new Unusable("the vision model's answer has no JSON object: " + abbreviate(output));
        }
        json = unwrapped(json);
        Map<String, String> values = new LinkedHashMap<>();
        for (String key : json.fieldNames()) {
            String canonical = ALIASES.get(normalise(key));
            Object v = json.getValue(key);
            String value = v == null ? "" : clean(v);
            if (canonical != null && !values.containsKey(canonical) && !value.isBlank()) {
                values.put(canonical, value);
            }
        }
        if (values.get("price_range") != null) {
            String price = values.get("price_range");
            values.put("price_range", PRICE_RANGES.stream().filter(p -> p.equalsIgnoreCase(price.replace(' ', '-'))).findFirst().orElse(UNKNOWN));
        }
        if (!values.containsKey("main_product_type") || values.size() < MIN_KNOWN) {
            throw new Unusable("the vision model's answer names " + values.size() + " of the 9 categories"
                    + (values.containsKey("main_product_type") ? "" : ", not the main product type") + ": " + abbreviate(output));
        }
        Map<String, String> ordered = new LinkedHashMap<>();
        List<String> missing = new ArrayList<>();
        for (String key : KEYS) {
            String v = values.get(key);
            if (v == null) {
                missing.add(key);
            }
            ordered.put(key, v == null ? UNKNOWN : v);
        }
        return new Parsed(ordered, missing);
    }

    /** {@code {"categories": {...}}} and the like: the categories one level down, when the top has none of them. */
    private static JsonObject unwrapped(JsonObject json) {
        boolean known = json.fieldNames().stream().anyMatch(k -> ALIASES.containsKey(normalise(k)) && !(json.getValue(k) instanceof JsonObject));
        if (!known) {
            for (String k : json.fieldNames()) {
                if (json.getValue(k) instanceof JsonObject inner) {
                    return inner;
                }
            }
        }
        return json;
    }

    /** Seed 002's text form, one {@code - key: value} line per category, as the prompt writer gets them. */
    public static String asLines(Map<String, ?> categories) {
        StringBuilder b = new StringBuilder();
        List<String> order = new ArrayList<>(KEYS.stream().filter(categories::containsKey).toList());
        categories.keySet().stream().filter(k -> !order.contains(k)).forEach(order::add); // jsonb does not keep the order
        for (String key : order) {
            b.append(b.isEmpty() ? "" : "\n").append("- ").append(key).append(": ").append(categories.get(key));
        }
        return b.toString();
    }

    /**
     * The first balanced {@code {...}} that parses as a JSON object, scanning past code fences and prose;
     * strings are honoured, so a brace inside a value does not end the object early.
     */
    static JsonObject firstObject(String text) {
        for (int start = text.indexOf('{'); start >= 0; start = text.indexOf('{', start + 1)) {
            int end = matchingBrace(text, start);
            if (end < 0) {
                continue;
            }
            try {
                return new JsonObject(text.substring(start, end + 1));
            } catch (DecodeException notJson) {
                // try the next brace
            }
        }
        return null;
    }

    private static int matchingBrace(String s, int start) {
        int depth = 0;
        boolean inString = false;
        for (int i = start; i < s.length(); i++) {
            char c = s.charAt(i);
            if (inString) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '{') {
                depth++;
            } else if (c == '}' && --depth == 0) {
                return i;
            }
        }
        return -1;
    }

    private static String clean(Object v) {
        String s = v instanceof Iterable<?> list ? String.join(", ", java.util.stream.StreamSupport.stream(list.spliterator(), false)
                .map(String::valueOf).map(String::strip).filter(x -> !x.isEmpty()).toList()) : String.valueOf(v);
        s = s.strip();
        return s.length() > 100 ? s.substring(0, 100) : s;
    }

    private static String normalise(String key) {
        return key.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "");
    }

    private static String abbreviate(String s) {
        String one = s.replaceAll("\\s+", " ").strip();
        return one.length() > 120 ? one.substring(0, 120) + "…" : one;
    }

    private static Map<String, String> aliases() {
        Map<String, String> a = new LinkedHashMap<>();
        for (String key : KEYS) {
            a.put(normalise(key), key);
        }
        a.put("producttype", "main_product_type");
        a.put("mainproduct", "main_product_type");
        a.put("maincategory", "main_product_type");
        a.put("category", "main_product_type");
        a.put("subcategories", "subcategory");
        a.put("subtype", "subcategory");
        a.put("audience", "target_audience");
        a.put("targetaudiences", "target_audience");
        a.put("price", "price_range");
        a.put("pricerange", "price_range");
        a.put("usecases", "use_case");
        a.put("style", "style_design");
        a.put("styledesign", "style_design");
        a.put("design", "style_design");
        a.put("season", "season_occasion");
        a.put("occasion", "season_occasion");
        a.put("seasonoccasion", "season_occasion");
        a.put("industry", "industrial_type");
        a.put("industrytype", "industrial_type");
        a.put("mood", "vibe");
        return Map.copyOf(a);
    }
}
