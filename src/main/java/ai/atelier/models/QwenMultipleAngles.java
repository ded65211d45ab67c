package ai.atelier.models;

import java.util.ArrayList;
import java.util.List;

import jakarta.inject.Singleton;

/** Qwen multiple angles: turns the camera around the subject of one photo. fal's endpoint takes no prompt. */
@Singleton
public class QwenMultipleAngles extends SingleCallModel {

    /** The camera controls, shared with {@link QwenMultiAngleFromText}. */
    static final List<ParamSpec> ANGLES = List.of(
            ParamSpec.number("rotate_right_left", -90, 90, 45.0, "Degrees to turn the camera; positive turns left"),
            ParamSpec.number("move_forward", 0, 10, null, "0 keeps the distance, 10 is a close-up"),
            ParamSpec.number("vertical_angle", -1, 1, null, "-1 bird's-eye, 1 worm's-eye"),
            ParamSpec.bool("wide_angle_lens", null, "Wide-angle lens look"));

    public QwenMultipleAngles() {
        super("qwen-multiple-angles", "Qwen multiple angles: the same subject seen from another camera angle",
                "fal-ai/qwen-image-edit-plus-lora-gallery/multiple-angles", ImageField.IMAGE_URLS,
                locked("lora_scale", 1.25, "guidance_scale", 1, "num_inference_steps", 6, "acceleration", "regular", "output_format", "png",
                        "enable_safety_checker", true),
                withAngles(ParamSpec.integer("num_images", 1, 4, null, "How many pictures"), ParamSpec.imageSize(1, 14142, null),
                        ParamSpec.seed()));
    }

    static List<ParamSpec> withAngles(ParamSpec... more) {
        List<ParamSpec> all = new ArrayList<>(ANGLES);
        all.addAll(List.of(more));
        return List.copyOf(all);
    }

    @Override
    public int maxImages() {
        return 1;
    }

    @Override
    public boolean acceptsPrompt() {
        return false;
    }
}
