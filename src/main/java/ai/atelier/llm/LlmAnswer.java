package ai.atelier.llm;

import java.util.LinkedHashMap;
import java.util.Map;

import io.vertx.core.json.JsonObject;

/**
 * What fal's OpenRouter router answered: the text, the reasoning when asked for, an error when the
 * provider failed (the router answers 200 with {@code error} set), and the token usage with its cost.
 */
public record LlmAnswer(String model, String output, String reasoning, String error, JsonObject usage) {

    /** An answer with nothing usable in it; {@link #code()} goes into the job's error. */
    public static final class Unusable extends RuntimeException {
        private final String code;

        public Unusable(String code, String message) {
            super(message, null, false, false);
            this.code = code;
        }

        public String code() {
            return code;
        }
    }

    public static LlmAnswer of(JsonObject result, String model) {
        Object usage = result.getValue("usage");
        return new LlmAnswer(model, result.getString("output", ""), result.getString("reasoning"), result.getString("error"),
                usage instanceof JsonObject u ? u : null);
    }

    /** The answer's text, or {@link Unusable} naming {@code who} when there is none. */
    public String requireOutput(String who) {
        if (output == null || output.isBlank()) {
            throw error != null && !error.isBlank()
                    ? new Unusable("llm_error", who + " failed: " + error)
                    : new Unusable("llm_empty_output", who + " returned an empty answer");
        }
        return output;
    }

    /** The answer as a prompt for fal: tidied (fences, quotes, labels dropped); empty is {@link Unusable}. */
    public String requirePrompt() {
        String text = ai.atelier.prompts.Prompts.tidy(requireOutput("the prompt model"));
        if (text.isBlank()) {
            throw new Unusable("prompt_empty", "the prompt model returned an empty prompt");
        }
        return text;
    }

    /** The cost in US dollars fal's router reported, if it did. */
    public Double cost() {
        return usage == null || !(usage.getValue("cost") instanceof Number n) ? null : n.doubleValue();
    }

    public Integer totalTokens() {
        return usage == null ? null : usage.getInteger("total_tokens");
    }

    /** What a stage records of the call: model, cost and usage. */
    public JsonObject measured() {
        JsonObject m = new JsonObject().put("model", model).put("cost_usd", cost());
        if (usage != null) {
            m.put("usage", usage.copy());
        }
        return m;
    }

    /** {@link #measured()} as a plain map, for a stage's record. */
    public Map<String, Object> measuredMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", model);
        m.put("cost_usd", cost());
        if (usage != null) {
            m.put("usage", usage.getMap());
        }
        return m;
    }

    /** The answer as a job stores it. */
    public Map<String, Object> asResult() {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("model", model);
        r.put("output", output);
        if (reasoning != null) {
            r.put("reasoning", reasoning);
        }
        r.put("usage", usage == null ? null : usage.getMap());
        r.put("cost_usd", cost());
        return r;
    }
}
