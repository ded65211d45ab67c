package ai.atelier.models;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;

/** FLUX.2 LoRA edit: up to three reference photos and up to three LoRAs. */
@Singleton
public class Flux2LoraEdit extends SingleCallModel {

    @Override
    public String id() {
        return "flux-2-lora-edit";
    }

    @Override
    public String description() {
        return "FLUX.2 LoRA edit: edits with up to 3 reference photos and 3 LoRAs";
    }

    @Override
    protected String endpointId() {
        return "fal-ai/flux-2/lora/edit";
    }

    @Override
    protected ImageField imageField() {
        return ImageField.IMAGE_URLS;
    }

    @Override
    public Map<String, Object> locked() {
        Map<String, Object> locked = new LinkedHashMap<>();
        locked.put("output_format", "png");
        locked.put("enable_safety_checker", true);
        return locked;
    }

    @Override
    public List<ParamSpec> tunable() {
        return List.of(ParamSpec.loras(3),
                ParamSpec.integer("num_inference_steps", 4, 50, null, "Denoising steps (fal default 28)"),
                ParamSpec.number("guidance_scale", 0, 20, null, "Prompt adherence (fal default 2.5)"),
                ParamSpec.integer("num_images", 1, 4, null, "How many pictures"),
                ParamSpec.imageSize(512, 2048, null),
                ParamSpec.oneOf("acceleration", List.of("none", "regular", "high"), "regular", "fal's speed-up level"),
                ParamSpec.seed());
    }
}
