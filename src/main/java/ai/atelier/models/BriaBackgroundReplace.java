package ai.atelier.models;

import java.util.List;

import jakarta.inject.Singleton;

import io.vertx.core.json.JsonObject;

/**
 * Bria background replacement: the product stays, the background becomes what the prompt says, or
 * what a second photo (the reference background) shows. fal takes exactly one of {@code prompt} and
 * {@code ref_image_url}; the request gives a prompt or a reference photo, never both.
 */
@Singleton
public class BriaBackgroundReplace extends SingleCallModel {

    public BriaBackgroundReplace() {
        super("bria-background-replace",
                "Bria background replacement: keeps the product, replaces the background from a prompt or a reference photo (2nd image)",
                "fal-ai/bria/background/replace", ImageField.IMAGE_URL, locked("refine_prompt", true, "sync_mode", false),
                List.of(ParamSpec.text("negative_prompt", 2000, null, "What to keep out of the new background"),
                        ParamSpec.integer("num_images", 1, 4, null, "How many pictures"),
                        ParamSpec.bool("fast", null, "Bria's fast mode (default on at fal)"),
                        ParamSpec.seed()));
    }

    @Override
    public int maxImages() {
        return 2;
    }

    /** A prompt, unless the request brings a reference background photo: checked by the service with the images. */
    @Override
    public boolean promptRequired() {
        return false;
    }

    @Override
    public boolean takesReferenceImage() {
        return true;
    }

    /** The product photo in {@code image_url}; the reference background, when given, instead of the prompt. */
    @Override
    JsonObject payload(String prompt, List<String> images, java.util.Map<String, Object> tuned) {
        JsonObject body = super.payload(images.size() > 1 ? null : prompt, images.subList(0, 1), tuned);
        if (images.size() > 1) {
            body.put("ref_image_url", images.get(1));
        }
        return body;
    }
}
