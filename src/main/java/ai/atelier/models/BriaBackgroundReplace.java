package ai.atelier.models;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;

import io.vertx.core.json.JsonObject;

/**
 * Bria background replacement: the product stays, the background becomes what the prompt says, or
 * what a second photo (the reference background) shows. fal takes exactly one of {@code prompt} and
 * {@code ref_image_url}; the request gives a prompt or a reference photo, never both.
 */
@Singleton
public class BriaBackgroundReplace implements ModelStrategy {

    static final String ENDPOINT = "fal-ai/bria/background/replace";

    private static final List<ParamSpec> TUNABLE = List.of(
            ParamSpec.text("negative_prompt", 2000, null, "What to keep out of the new background"),
            ParamSpec.integer("num_images", 1, 4, null, "How many pictures"),
            ParamSpec.bool("fast", null, "Bria's fast mode (default on at fal)"),
            ParamSpec.seed());

    @Override
    public String id() {
        return "bria-background-replace";
    }

    @Override
    public String description() {
        return "Bria background replacement: keeps the product, replaces the background from a prompt or a reference photo (2nd image)";
    }

    @Override
    public List<String> endpoints() {
        return List.of(ENDPOINT);
    }

    @Override
    public int minImages() {
        return 1;
    }

    @Override
    public int maxImages() {
        return 2;
    }

    @Override
    public boolean acceptsPrompt() {
        return true;
    }

    /** A prompt, unless the request brings a reference background photo: checked by the service with the images. */
    @Override
    public boolean promptRequired() {
        return false;
    }

    @Override
    public Map<String, Object> locked() {
        return Map.of("refine_prompt", true, "sync_mode", false);
    }

    @Override
    public List<ParamSpec> tunable() {
        return TUNABLE;
    }

    @Override
    public List<FalCall> plan(String prompt, Map<String, Object> tuned) {
        return List.of(new FalCall(ENDPOINT, images -> {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("image_url", images.get(0));
            if (images.size() > 1) {
                body.put("ref_image_url", images.get(1));
            } else {
                body.put("prompt", prompt);
            }
            body.putAll(tuned);
            body.putAll(locked());
            return new JsonObject(body);
        }));
    }
}
