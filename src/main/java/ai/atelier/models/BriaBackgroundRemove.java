package ai.atelier.models;

import java.util.List;

import jakarta.inject.Singleton;

import ai.atelier.fal.FalImage;
import io.vertx.core.json.JsonObject;

/** Bria background removal: the product cut out on transparency. One photo in, one picture out, nothing to tune. */
@Singleton
public class BriaBackgroundRemove extends SingleCallModel {

    public BriaBackgroundRemove() {
        super("bria-background-remove", "Bria background removal: the product cut out on a transparent background",
                "fal-ai/bria/background/remove", ImageField.IMAGE_URL, locked("sync_mode", false), List.of());
    }

    @Override
    public boolean acceptsPrompt() {
        return false;
    }

    /** fal's background removal answers one {@code image}, not a list. */
    @Override
    public List<FalImage> outputs(JsonObject result) {
        return FalImage.single(result, "image");
    }
}
