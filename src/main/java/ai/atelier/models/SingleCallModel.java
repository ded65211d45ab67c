package ai.atelier.models;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * The shape most fal models share: one endpoint, a prompt, images in {@code image_url} or
 * {@code image_urls}. A model is declared by what it is (id, endpoint, locked values, tunable
 * ranges); the payload is built here: tunable defaults, then what the request tuned, then the locked
 * fields last, so nothing a request says can override them.
 */
public abstract class SingleCallModel implements ModelStrategy {

    /** Where a model's input images go in fal's payload, and how many it takes. */
    protected enum ImageField {
        NONE(0),
        IMAGE_URL(1),
        IMAGE_URLS(3);

        final int max;

        ImageField(int max) {
            this.max = max;
        }
    }

    private final String id;
    private final String description;
    private final String endpointId;
    private final ImageField imageField;
    private final Map<String, Object> locked;
    private final List<ParamSpec> tunable;

    protected SingleCallModel(String id, String description, String endpointId, ImageField imageField, Map<String, Object> locked,
            List<ParamSpec> tunable) {
        this.id = id;
        this.description = description;
        this.endpointId = endpointId;
        this.imageField = imageField;
        this.locked = locked;
        this.tunable = tunable;
    }

    /** An ordered, unmodifiable map from alternating names and values: {@code locked("steps", 7, "cfg", 3.5)}. */
    protected static Map<String, Object> locked(Object... namesAndValues) {
        Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            map.put((String) namesAndValues[i], namesAndValues[i + 1]);
        }
        return java.util.Collections.unmodifiableMap(map);
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public String description() {
        return description;
    }

    String endpointId() {
        return endpointId;
    }

    @Override
    public List<String> endpoints() {
        return List.of(endpointId);
    }

    @Override
    public Map<String, Object> locked() {
        return locked;
    }

    @Override
    public List<ParamSpec> tunable() {
        return tunable;
    }

    @Override
    public boolean acceptsPrompt() {
        return true;
    }

    @Override
    public boolean promptRequired() {
        return acceptsPrompt();
    }

    @Override
    public int minImages() {
        return imageField == ImageField.NONE ? 0 : 1;
    }

    @Override
    public int maxImages() {
        return imageField.max;
    }

    /** Most image endpoints answer {@code images: [...]} (fal-api.md §9); one that answers a single {@code image} says so. */
    @Override
    public List<ai.atelier.fal.FalImage> outputs(JsonObject result) {
        return ai.atelier.fal.FalImage.list(result, "images");
    }

    @Override
    public List<FalCall> plan(String prompt, Map<String, Object> tuned) {
        return List.of(new FalCall(endpointId, images -> payload(prompt, images, tuned)));
    }

    /** fal's payload; a model whose fields are named or shaped otherwise adjusts this one. */
    JsonObject payload(String prompt, List<String> images, Map<String, Object> tuned) {
        Map<String, Object> body = new LinkedHashMap<>();
        if (prompt != null && acceptsPrompt()) {
            body.put("prompt", prompt);
        }
        switch (imageField) {
            case IMAGE_URL -> body.put("image_url", images.get(0));
            case IMAGE_URLS -> body.put("image_urls", new JsonArray(List.copyOf(images)));
            case NONE -> {
            }
        }
        for (ParamSpec p : tunable) {
            if (p.defaultValue() != null) {
                body.put(p.name(), p.defaultValue());
            }
        }
        body.putAll(tuned);
        body.putAll(locked);
        return new JsonObject(body);
    }
}
