package ai.atelier.models;

import java.util.List;

import jakarta.inject.Singleton;

/** Qwen image edit plus LoRA with seed 000's settings: 28 steps, CFG 4, png, safety checker, regular acceleration. */
@Singleton
public class QwenImageEditPlusLora extends SingleCallModel {

    public QwenImageEditPlusLora() {
        super("qwen-image-edit-plus-lora", "Qwen image edit plus LoRA: edits up to 3 photos by instruction",
                "fal-ai/qwen-image-edit-plus-lora", ImageField.IMAGE_URLS,
                locked("num_inference_steps", 28, "guidance_scale", 4, "output_format", "png", "enable_safety_checker", true,
                        "acceleration", "regular"),
                List.of(ParamSpec.loras(3),
                        ParamSpec.integer("num_images", 1, 4, null, "How many pictures"),
                        ParamSpec.text("negative_prompt", 2000, null, "What to keep out of the picture"),
                        ParamSpec.imageSize(1, 14142, null),
                        ParamSpec.seed()));
    }
}
