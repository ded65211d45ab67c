package ai.atelier.models;

import java.util.List;

import jakarta.inject.Singleton;

/**
 * FLUX general image-to-image: keeps a face or product recognisable. Image strength 0.5 goes in
 * {@code strength}, the field fal reads (seed 003 sent {@code image_strength}, which fal ignores).
 */
@Singleton
public class FluxGeneralImageToImage extends SingleCallModel {

    public FluxGeneralImageToImage() {
        super("flux-general-i2i", "FLUX general image-to-image: strength 0.5, 7 steps, CFG 3.5, optional LoRAs",
                "fal-ai/flux-general/image-to-image", ImageField.IMAGE_URL,
                locked("strength", 0.5, "num_inference_steps", 7, "guidance_scale", 3.5, "enable_safety_checker", true),
                List.of(ParamSpec.loras(5),
                        ParamSpec.imageSize(1, 14142, null),
                        ParamSpec.integer("num_images", 1, 4, null, "How many pictures"),
                        ParamSpec.text("negative_prompt", 2000, null, "What to keep out of the picture"),
                        ParamSpec.oneOf("output_format", List.of("jpeg", "png"), "png", "File type of the outputs"),
                        ParamSpec.seed()));
    }

    /** FLUX counts input plus output megapixels (fal-api.md §12). */
    @Override
    public boolean billsInputs(String endpointId) {
        return true;
    }
}
