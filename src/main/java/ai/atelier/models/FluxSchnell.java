package ai.atelier.models;

import java.util.List;

import jakarta.inject.Singleton;

/** FLUX.1 [schnell] text-to-image, with the steps and CFG the product team fixed (seed 003). */
@Singleton
public class FluxSchnell extends SingleCallModel {

    public FluxSchnell() {
        super("flux-schnell", "FLUX.1 [schnell] text-to-image: fast, 7 steps, CFG 3.5", "fal-ai/flux/schnell", ImageField.NONE,
                locked("num_inference_steps", 7, "guidance_scale", 3.5, "enable_safety_checker", true),
                List.of(ParamSpec.imageSize(1, 14142, "square_hd"),
                        ParamSpec.integer("num_images", 1, 4, null, "How many pictures"),
                        ParamSpec.oneOf("output_format", List.of("jpeg", "png"), "png", "File type of the outputs"),
                        ParamSpec.oneOf("acceleration", List.of("none", "regular", "high"), null, "fal's speed-up level"),
                        ParamSpec.seed()));
    }
}
