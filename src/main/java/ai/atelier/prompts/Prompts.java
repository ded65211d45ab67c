package ai.atelier.prompts;

import java.util.Map;

/**
 * The two ways a prompt is written: a template (deterministic and free) or an instruction to an LLM
 * (seed 002's wording). Both start with "Change only the background to", the phrasing background
 * replacement models follow best, and keep the product unchanged.
 */
public final class Prompts {

    private Prompts() {
    }

    /**
     * The template prompt for a style: the style, then what the categories say of the product, then the
     * client's own words. Without a style, the client's prompt (and the categories' hint) is all there is.
     */
    public static String template(Style style, Map<String, ?> categories, String clientPrompt) {
        String product = categories == null ? "product" : lower(value(categories, "subcategory", value(categories, "main_product_type", "product")));
        StringBuilder b = new StringBuilder();
        if (style != null) {
            b.append("Change only the background to ").append(lowerFirst(trimPeriod(style.description()))).append(". Keep the ")
                    .append(product).append(" exactly as it is in the original image.");
        }
        if (categories != null) {
            String audience = value(categories, "target_audience", null);
            String vibe = value(categories, "vibe", null);
            String look = value(categories, "style_design", null);
            StringBuilder hint = new StringBuilder();
            if (look != null) {
                hint.append(lower(look)).append(" ");
            }
            hint.append(product);
            if (audience != null) {
                hint.append(" for ").append(lower(audience));
            }
            if (vibe != null) {
                hint.append("; mood: ").append(lower(vibe));
            }
            b.append(b.isEmpty() ? "" : " ").append("The product: ").append(hint).append(".");
        }
        if (clientPrompt != null && !clientPrompt.isBlank()) {
            b.append(b.isEmpty() ? "" : " ").append(clientPrompt.strip());
        }
        return b.toString();
    }

    /** Seed 002's instruction to the prompt-writing LLM; the client's words, when any, go last. */
    public static String llmInstruction(Style style, Map<String, ?> categories, String clientPrompt) {
        String styleText = style == null ? "a clean, neutral studio backdrop" : style.description();
        StringBuilder b = new StringBuilder();
        if (categories != null) {
            b.append("Based on these product categories:\n").append(Categories.asLines(categories)).append("\n\n");
        }
        b.append("""
                Generate a detailed, professional image generation prompt for an image-to-image background replacement task.

                The style type is: %s

                Requirements:
                - The prompt must START with "Change only the background to..."
                - The prompt must be specific about keeping the original product unchanged
                - The prompt must be suitable for e-commerce photography
                - The prompt should be creative and detailed
                - The prompt should match the product's categories and the requested style type
                - Length: 2-3 sentences maximum
                """.formatted(styleText));
        if (clientPrompt != null && !clientPrompt.isBlank()) {
            b.append("- Also follow these instructions from the client: ").append(clientPrompt.strip()).append('\n');
        }
        b.append("\nReturn ONLY the prompt text, nothing else.");
        return b.toString();
    }

    /** The router request that asks the prompt LLM for one prompt (seed 002's instruction). */
    public static io.vertx.core.json.JsonObject writerRequest(Style style, Map<String, ?> categories, String clientPrompt, String model,
            double temperature) {
        return new io.vertx.core.json.JsonObject().put("prompt", llmInstruction(style, categories, clientPrompt)).put("model", model)
                .put("temperature", temperature);
    }

    /** What an LLM returned, made fit for fal: quotes, fences and labels some models add are dropped. */
    public static String tidy(String output) {
        if (output == null) {
            return "";
        }
        String s = output.strip();
        if (s.startsWith("```")) {
            s = s.replaceAll("^```[a-zA-Z]*\\s*", "").replaceAll("\\s*```$", "");
        }
        s = s.replaceFirst("(?i)^prompt:\\s*", "");
        if (s.length() > 1 && s.startsWith("\"") && s.endsWith("\"")) {
            s = s.substring(1, s.length() - 1);
        }
        return s.strip();
    }

    private static String value(Map<String, ?> categories, String key, String fallback) {
        Object v = categories.get(key);
        return v == null || Categories.UNKNOWN.equals(v) || String.valueOf(v).isBlank() ? fallback : String.valueOf(v);
    }

    private static String lower(String s) {
        return s == null ? null : s.toLowerCase(java.util.Locale.ROOT);
    }

    private static String lowerFirst(String s) {
        return s.isEmpty() ? s : Character.toLowerCase(s.charAt(0)) + s.substring(1);
    }

    private static String trimPeriod(String s) {
        String t = s.strip();
        return t.endsWith(".") ? t.substring(0, t.length() - 1) : t;
    }
}
