package ai.atelier.models;

import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;

import io.vertx.core.json.JsonObject;

/**
 * fal's product photography app: a product photo becomes a professional studio shot. It takes no prompt;
 * the aspect ratio is fal's nested {@code {"ratio": "16:9"}}, offered here as a plain {@code aspect_ratio}.
 */
@Singleton
public class ProductPhotography extends SingleCallModel {

    public ProductPhotography() {
        super("product-photography", "Product photography: a product photo turned into a professional studio shot (no prompt)",
                "fal-ai/image-apps-v2/product-photography", ImageField.IMAGE_URL, Map.of(),
                List.of(ParamSpec.oneOf("aspect_ratio", List.of("1:1", "16:9", "9:16", "4:3", "3:4"), "1:1", "Shape of the picture")));
    }

    @Override
    public boolean acceptsPrompt() {
        return false;
    }

    /** fal names the photo {@code product_image_url} and nests the ratio. */
    @Override
    JsonObject payload(String prompt, List<String> images, Map<String, Object> tuned) {
        JsonObject body = super.payload(prompt, images, tuned);
        body.put("product_image_url", body.remove("image_url"));
        body.put("aspect_ratio", new JsonObject().put("ratio", body.getValue("aspect_ratio")));
        return body;
    }
}
