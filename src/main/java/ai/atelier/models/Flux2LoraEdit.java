package ai.atelier.models;

import java.util.List;

import jakarta.inject.Singleton;

/** FLUX.2 LoRA edit: up to three reference photos and up to three LoRAs. */
@Singleton
public class Flux2LoraEdit extends SingleCallModel {

    public Flux2LoraEdit() {
        super("flux-2-lora-edit", "FLUX.2 LoRA edit: edits with up to 3 reference photos and 3 LoRAs", "fal-ai/flux-2/lora/edit",
                ImageField.IMAGE_URLS,
                locked("output_format", "png", "enable_safety_checker", true),
                List.of(ParamSpec.loras(3),
                        ParamSpec.integer("num_inference_steps", 4, 50, null, "Denoising steps (fal default 28)"),
                        ParamSpec.number("guidance_scale", 0, 20, null, "Prompt adherence (fal default 2.5)"),
                        ParamSpec.integer("num_images", 1, 4, null, "How many pictures"),
                        ParamSpec.imageSize(512, 2048, null),
                        ParamSpec.oneOf("acceleration", List.of("none", "regular", "high"), "regular", "fal's speed-up level"),
                        ParamSpec.seed()));
    }

    /** FLUX counts input plus output megapixels (fal-api.md §12). */
    @Override
    public boolean billsInputs(String endpointId) {
        return true;
    }
}
