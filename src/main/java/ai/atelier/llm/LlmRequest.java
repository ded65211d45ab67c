package ai.atelier.llm;

import java.util.List;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import ai.atelier.models.LlmCompletion;
import ai.atelier.problem.Problem;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/** An LLM completion as clients ask for it; fal's router fields, checked before anything is paid. */
public record LlmRequest(
        @Schema(description = "What to answer") String prompt,
        @Schema(description = "OpenRouter model id; default from atelier.llm.completion-model", examples = "openai/gpt-5-mini") String model,
        @Schema(description = "Instructions that frame the answer") String systemPrompt,
        @Schema(description = "0 to 2") Double temperature,
        @Schema(description = "Longest answer, in tokens (1 to 200000)") Integer maxTokens,
        @Schema(description = "Also return the model's reasoning where it gives one") Boolean reasoning,
        @Schema(description = "Images for the vision endpoint: http(s) URLs or data URLs") List<String> imageUrls) {

    /** Checks the request; answers the checked copy with the default model filled in. */
    public LlmRequest checked(String defaultModel) {
        if (prompt == null || prompt.isBlank()) {
            throw Problem.invalid("missing-prompt", "Missing prompt", "An LLM completion needs a non-empty prompt");
        }
        if (prompt.length() > 100_000) {
            throw Problem.invalid("prompt-too-long", "Prompt too long", "A prompt may have at most 100000 characters");
        }
        String m = model == null || model.isBlank() ? defaultModel : checkModel(model);
        if (systemPrompt != null && systemPrompt.length() > 20_000) {
            throw Problem.invalid("system-prompt-too-long", "System prompt too long", "system_prompt may have at most 20000 characters");
        }
        if (temperature != null && (temperature < 0 || temperature > 2)) {
            throw Problem.invalid("invalid-temperature", "Invalid temperature", "temperature must be from 0 to 2");
        }
        if (maxTokens != null && (maxTokens < 1 || maxTokens > 200_000)) {
            throw Problem.invalid("invalid-max-tokens", "Invalid max_tokens", "max_tokens must be from 1 to 200000");
        }
        if (imageUrls != null && imageUrls.size() > 4) {
            throw Problem.invalid("too-many-images", "Too many images", "At most 4 images");
        }
        return new LlmRequest(prompt, m, systemPrompt, temperature, maxTokens, reasoning, imageUrls);
    }

    /** An OpenRouter model id as given (stripped), null when absent; a 422 when it cannot be one. */
    public static String checkModel(String model) {
        if (model == null || model.isBlank()) {
            return null;
        }
        String m = model.strip();
        if (m.length() > 200 || !m.matches("[A-Za-z0-9._:/\\-]+")) {
            throw Problem.invalid("invalid-llm-model", "Invalid LLM model", "model must be an OpenRouter model id such as openai/gpt-5-mini");
        }
        return m;
    }

    public String endpoint() {
        return imageUrls == null || imageUrls.isEmpty() ? LlmCompletion.ROUTER : LlmCompletion.VISION;
    }

    /** fal's payload: only the fields the router takes, only when set. */
    public JsonObject payload() {
        JsonObject body = new JsonObject().put("prompt", prompt).put("model", model);
        if (systemPrompt != null && !systemPrompt.isBlank()) {
            body.put("system_prompt", systemPrompt);
        }
        if (temperature != null) {
            body.put("temperature", temperature);
        }
        if (maxTokens != null) {
            body.put("max_tokens", maxTokens);
        }
        if (reasoning != null) {
            body.put("reasoning", reasoning);
        }
        if (imageUrls != null && !imageUrls.isEmpty()) {
            body.put("image_urls", new JsonArray(List.copyOf(imageUrls)));
        }
        return body;
    }
}
