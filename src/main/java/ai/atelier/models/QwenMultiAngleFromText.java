package ai.atelier.models;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import jakarta.inject.Singleton;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * Multi-angle from text (seed 001's {@code qwen-multi-angle/t2i}): FLUX schnell draws the subject,
 * then Qwen multiple angles turns the camera around the picture it drew. Two fal calls, one job.
 */
@Singleton
public class QwenMultiAngleFromText implements ModelStrategy {

    private static final Set<String> GENERATE_PARAMS = Set.of("image_size", "seed");

    private final FluxSchnell generator;
    private final QwenMultipleAngles turner;

    public QwenMultiAngleFromText(FluxSchnell generator, QwenMultipleAngles turner) {
        this.generator = generator;
        this.turner = turner;
    }

    @Override
    public String id() {
        return "qwen-multi-angle-t2i";
    }

    @Override
    public String description() {
        return "Multi-angle from text: FLUX schnell draws the subject, Qwen multiple angles turns the camera";
    }

    @Override
    public List<String> endpoints() {
        return List.of(generator.endpointId(), turner.endpointId());
    }

    @Override
    public int minImages() {
        return 0;
    }

    @Override
    public int maxImages() {
        return 0;
    }

    @Override
    public boolean acceptsPrompt() {
        return true;
    }

    @Override
    public boolean promptRequired() {
        return true;
    }

    /** Locked fields of both calls, named {@code generate.*} and {@code turn.*}. */
    @Override
    public Map<String, Object> locked() {
        Map<String, Object> locked = new LinkedHashMap<>();
        generator.locked().forEach((k, v) -> locked.put("generate." + k, v));
        turner.locked().forEach((k, v) -> locked.put("turn." + k, v));
        return locked;
    }

    @Override
    public List<ParamSpec> tunable() {
        return QwenMultipleAngles.withAngles(ParamSpec.imageSize(1, 14142, "square_hd"), ParamSpec.seed());
    }

    /** Both steps answer {@code images}: the generated picture for the turn, then the turned one. */
    @Override
    public List<ai.atelier.fal.FalImage> outputs(JsonObject result) {
        return turner.outputs(result);
    }

    @Override
    public List<FalCall> plan(String prompt, Map<String, Object> tuned) {
        Map<String, Object> generate = new HashMap<>();
        Map<String, Object> turn = new HashMap<>();
        tuned.forEach((k, v) -> (GENERATE_PARAMS.contains(k) ? generate : turn).put(k, v));
        if (tuned.containsKey("seed")) {
            turn.put("seed", tuned.get("seed"));
        }
        return List.of(
                new FalCall(generator.endpointId(), images -> generator.payload(prompt, images, generate)),
                new FalCall(turner.endpointId(), images -> {
                    JsonObject body = turner.payload(null, images, turn);
                    body.put("image_urls", new JsonArray(List.of(images.get(0))));
                    return body;
                }));
    }
}
