package ai.atelier.models;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * The shape most fal models share: one endpoint, a prompt, images in {@code image_url} or
 * {@code image_urls}, locked fields first, then tunable defaults, then what the request tuned.
 */
public abstract class SingleCallModel implements ModelStrategy {

    /** Where a model's input images go in fal's payload. */
    protected enum ImageField { NONE, IMAGE_URL, IMAGE_URLS }

    protected abstract String endpointId();

    protected abstract ImageField imageField();

    @Override
    public List<String> endpoints() {
        return List.of(endpointId());
    }

    @Override
    public boolean acceptsPrompt() {
        return true;
    }

    @Override
    public boolean promptRequired() {
        return true;
    }

    @Override
    public int minImages() {
        return imageField() == ImageField.NONE ? 0 : 1;
    }

    @Override
    public int maxImages() {
        return switch (imageField()) {
            case NONE -> 0;
            case IMAGE_URL -> 1;
            case IMAGE_URLS -> 3;
        };
    }

    @Override
    public List<FalCall> plan(String prompt, Map<String, Object> tuned) {
        return List.of(new FalCall(endpointId(), images -> payload(prompt, images, tuned)));
    }

    protected JsonObject payload(String prompt, List<String> images, Map<String, Object> tuned) {
        Map<String, Object> body = new LinkedHashMap<>();
        if (prompt != null && acceptsPrompt()) {
            body.put("prompt", prompt);
        }
        switch (imageField()) {
            case IMAGE_URL -> body.put("image_url", images.get(0));
            case IMAGE_URLS -> body.put("image_urls", new JsonArray(List.copyOf(images)));
            case NONE -> {
            }
        }
        for (ParamSpec p : tunable()) {
            if (p.defaultValue() != null) {
                body.put(p.name(), p.defaultValue());
            }
        }
        body.putAll(tuned);
        body.putAll(locked()); // last: nothing a request says can override a locked field
        return new JsonObject(body);
    }
}
