package ai.atelier.models;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;

/**
 * FLUX general image-to-image: keeps a face or product recognisable. Image strength 0.5 goes in
 * {@code strength}, the field fal reads (seed 003 sent {@code image_strength}, which fal ignores).
 */
@Singleton
public class FluxGeneralImageToImage extends SingleCallModel {

    @Override
    public String id() {
        return "flux-general-i2i";
    }

    @Override
    public String description() {
        return "FLUX general image-to-image: strength 0.5, 7 steps, CFG 3.5, optional LoRAs";
    }

    @Override
    protected String endpointId() {
        return "fal-ai/flux-general/image-to-image";
    }

    @Override
    protected ImageField imageField() {
        return ImageField.IMAGE_URL;
    }

    @Override
    public Map<String, Object> locked() {
        Map<String, Object> locked = new LinkedHashMap<>();
        locked.put("strength", 0.5);
        locked.put("num_inference_steps", 7);
        locked.put("guidance_scale", 3.5);
        locked.put("enable_safety_checker", true);
        return locked;
    }

    @Override
    public List<ParamSpec> tunable() {
        return List.of(ParamSpec.loras(5),
                ParamSpec.imageSize(1, 14142, null),
                ParamSpec.integer("num_images", 1, 4, null, "How many pictures"),
                ParamSpec.text("negative_prompt", 2000, null, "What to keep out of the picture"),
                ParamSpec.oneOf("output_format", List.of("jpeg", "png"), "png", "File type of the outputs"),
                ParamSpec.seed());
    }
}
