package ai.atelier.models;

import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;

import io.vertx.core.json.JsonObject;

/**
 * An LLM completion through fal's OpenRouter router, as an async job: submit, poll, read the answer
 * from the job. With an image it goes to the router's vision endpoint.
 */
@Singleton
public class LlmCompletion extends SingleCallModel {

    public static final String ROUTER = "openrouter/router";
    public static final String VISION = "openrouter/router/vision";
    public static final String DEFAULT_MODEL = "google/gemini-2.5-flash";

    public LlmCompletion() {
        super("llm", "LLM completion (OpenRouter through fal): text in, text out; with an image, the vision endpoint", ROUTER,
                ImageField.IMAGE_URLS, Map.of(),
                List.of(ParamSpec.text("model", 200, DEFAULT_MODEL, "Any OpenRouter model id, e.g. openai/gpt-5-mini"),
                        ParamSpec.text("system_prompt", 20_000, null, "Instructions that frame the answer"),
                        ParamSpec.number("temperature", 0, 2, null, "0 is focused, 2 is inventive"),
                        ParamSpec.integer("max_tokens", 1, 200_000, null, "Longest answer, in tokens"),
                        ParamSpec.bool("reasoning", null, "Also return the model's reasoning, where it gives one")));
    }

    @Override
    public List<String> endpoints() {
        return List.of(ROUTER, VISION);
    }

    @Override
    public int minImages() {
        return 0;
    }

    @Override
    public int maxImages() {
        return 4;
    }

    @Override
    public Output output() {
        return Output.TEXT;
    }

    /** A completion answers text: no pictures. */
    @Override
    public List<ai.atelier.fal.FalImage> outputs(JsonObject result) {
        return List.of();
    }

    @Override
    public List<FalCall> plan(String prompt, Map<String, Object> tuned, int images) {
        return List.of(new FalCall(images > 0 ? VISION : ROUTER, urls -> payload(prompt, urls, tuned)));
    }

    /** The text router takes no {@code image_urls} at all, not even an empty list. */
    @Override
    JsonObject payload(String prompt, List<String> images, Map<String, Object> tuned) {
        JsonObject body = super.payload(prompt, images, tuned);
        if (images.isEmpty()) {
            body.remove("image_urls");
        }
        return body;
    }
}
