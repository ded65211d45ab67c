package ai.atelier.models;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;

/** Qwen image edit plus LoRA with seed 000's settings: 28 steps, CFG 4, png, safety checker, regular acceleration. */
@Singleton
public class QwenImageEditPlusLora extends SingleCallModel {

    @Override
    public String id() {
        return "qwen-image-edit-plus-lora";
    }

    @Override
    public String description() {
        return "Qwen image edit plus LoRA: edits up to 3 photos by instruction";
    }

    @Override
    protected String endpointId() {
        return "fal-ai/qwen-image-edit-plus-lora";
    }

    @Override
    protected ImageField imageField() {
        return ImageField.IMAGE_URLS;
    }

    @Override
    public Map<String, Object> locked() {
        Map<String, Object> locked = new LinkedHashMap<>();
        locked.put("num_inference_steps", 28);
        locked.put("guidance_scale", 4);
        locked.put("output_format", "png");
        locked.put("enable_safety_checker", true);
        locked.put("acceleration", "regular");
        return locked;
    }

    @Override
    public List<ParamSpec> tunable() {
        return List.of(ParamSpec.loras(3),
                ParamSpec.integer("num_images", 1, 4, null, "How many pictures"),
                ParamSpec.text("negative_prompt", 2000, null, "What to keep out of the picture"),
                ParamSpec.imageSize(1, 14142, null),
                ParamSpec.seed());
    }
}
