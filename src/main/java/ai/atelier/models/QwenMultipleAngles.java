package ai.atelier.models;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;

/** Qwen multiple angles: turns the camera around the subject of one photo. fal's endpoint takes no prompt. */
@Singleton
public class QwenMultipleAngles extends SingleCallModel {

    static final String ENDPOINT = "fal-ai/qwen-image-edit-plus-lora-gallery/multiple-angles";

    @Override
    public String id() {
        return "qwen-multiple-angles";
    }

    @Override
    public String description() {
        return "Qwen multiple angles: the same subject seen from another camera angle";
    }

    @Override
    protected String endpointId() {
        return ENDPOINT;
    }

    @Override
    protected ImageField imageField() {
        return ImageField.IMAGE_URLS;
    }

    @Override
    public int maxImages() {
        return 1;
    }

    @Override
    public boolean acceptsPrompt() {
        return false;
    }

    @Override
    public boolean promptRequired() {
        return false;
    }

    @Override
    public Map<String, Object> locked() {
        return lockedAngles();
    }

    static Map<String, Object> lockedAngles() {
        Map<String, Object> locked = new LinkedHashMap<>();
        locked.put("lora_scale", 1.25);
        locked.put("guidance_scale", 1);
        locked.put("num_inference_steps", 6);
        locked.put("acceleration", "regular");
        locked.put("output_format", "png");
        locked.put("enable_safety_checker", true);
        return locked;
    }

    @Override
    public List<ParamSpec> tunable() {
        return List.of(angles().get(0), angles().get(1), angles().get(2), angles().get(3),
                ParamSpec.integer("num_images", 1, 4, null, "How many pictures"),
                ParamSpec.imageSize(1, 14142, null),
                ParamSpec.seed());
    }

    static List<ParamSpec> angles() {
        return List.of(ParamSpec.number("rotate_right_left", -90, 90, 45.0, "Degrees to turn the camera; positive turns left"),
                ParamSpec.number("move_forward", 0, 10, null, "0 keeps the distance, 10 is a close-up"),
                ParamSpec.number("vertical_angle", -1, 1, null, "-1 bird's-eye, 1 worm's-eye"),
                ParamSpec.bool("wide_angle_lens", null, "Wide-angle lens look"));
    }
}
