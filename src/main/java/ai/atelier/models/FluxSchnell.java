package ai.atelier.models;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;

/** FLUX.1 [schnell] text-to-image, with the steps and CFG the product team fixed (seed 003). */
@Singleton
public class FluxSchnell extends SingleCallModel {

    @Override
    public String id() {
        return "flux-schnell";
    }

    @Override
    public String description() {
        return "FLUX.1 [schnell] text-to-image: fast, 7 steps, CFG 3.5";
    }

    @Override
    protected String endpointId() {
        return "fal-ai/flux/schnell";
    }

    @Override
    protected ImageField imageField() {
        return ImageField.NONE;
    }

    @Override
    public Map<String, Object> locked() {
        Map<String, Object> locked = new LinkedHashMap<>();
        locked.put("num_inference_steps", 7);
        locked.put("guidance_scale", 3.5);
        locked.put("enable_safety_checker", true);
        return locked;
    }

    @Override
    public List<ParamSpec> tunable() {
        return List.of(ParamSpec.imageSize(1, 14142, "square_hd"),
                ParamSpec.integer("num_images", 1, 4, null, "How many pictures"),
                ParamSpec.oneOf("output_format", List.of("jpeg", "png"), "png", "File type of the outputs"),
                ParamSpec.oneOf("acceleration", List.of("none", "regular", "high"), null, "fal's speed-up level"),
                ParamSpec.seed());
    }
}
