package ai.atelier.models;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;

import io.vertx.core.json.JsonObject;

/**
 * fal's product photography app: a product photo becomes a professional studio shot. It takes no prompt;
 * the aspect ratio is fal's nested {@code {"ratio": "16:9"}}, offered here as a plain {@code aspect_ratio}.
 */
@Singleton
public class ProductPhotography implements ModelStrategy {

    static final String ENDPOINT = "fal-ai/image-apps-v2/product-photography";

    private static final List<ParamSpec> TUNABLE = List.of(
            ParamSpec.oneOf("aspect_ratio", List.of("1:1", "16:9", "9:16", "4:3", "3:4"), "1:1", "Shape of the picture"));

    @Override
    public String id() {
        return "product-photography";
    }

    @Override
    public String description() {
        return "Product photography: a product photo turned into a professional studio shot (no prompt)";
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
        return 1;
    }

    @Override
    public boolean acceptsPrompt() {
        return false;
    }

    @Override
    public boolean promptRequired() {
        return false;
    }

    @Override
    public Map<String, Object> locked() {
        return Map.of();
    }

    @Override
    public List<ParamSpec> tunable() {
        return TUNABLE;
    }

    @Override
    public List<FalCall> plan(String prompt, Map<String, Object> tuned) {
        return List.of(new FalCall(ENDPOINT, images -> {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("product_image_url", images.get(0));
            body.put("aspect_ratio", Map.of("ratio", tuned.getOrDefault("aspect_ratio", "1:1")));
            return new JsonObject(body);
        }));
    }
}
