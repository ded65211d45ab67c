package ai.atelier.models;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;

/**
 * Wan 2.5 (preview): a clip of 5 or 10 seconds (a string) at 480p, 720p or 1080p from a prompt, or from a photo and a
 * prompt. fal's defaults are its dearest tier (1080p, $0.15 a second) and an LLM rewrite of the prompt: here 720p
 * and the prompt as written, unless asked. The safety checker stays on.
 */
@Singleton
public class Wan25 extends VideoModel {

    public Wan25() {
        super(video("wan-2.5", "Wan 2.5: a 5 or 10 s clip at 480p, 720p or 1080p from a prompt, or from a photo and a prompt")
                .textToVideo("fal-ai/wan-25-preview/text-to-video")
                .imageToVideo("fal-ai/wan-25-preview/image-to-video")
                .locked("enable_safety_checker", true)
                .tunable(ParamSpec.oneOf("duration", List.of("5", "10"), "5", "Length in seconds"),
                        ParamSpec.oneOf("resolution", List.of("480p", "720p", "1080p"), "720p", "Picture size: $0.05, $0.10, $0.15 a second (fal's default is 1080p)"),
                        ParamSpec.bool("enable_prompt_expansion", false, "Let an LLM expand the prompt (fal's default is on; it adds time)"),
                        ParamSpec.text("negative_prompt", 500, null, "What to keep out of the clip"),
                        ParamSpec.seed())
                .textOnly(ParamSpec.oneOf("aspect_ratio", List.of("16:9", "9:16", "1:1"), "16:9", "Shape of the clip (text-to-video only)"))
                // the unit is the 480p second ($0.05): 720p bills two of them, 1080p three
                .pricedPerSecond(new CostBasis.PerSecond("duration", "resolution", "1080p", null, Map.of("480p", 1.0, "720p", 2.0, "1080p", 3.0),
                        Map.of("480p", 1.0, "720p", 2.0, "1080p", 3.0)))
                // fal's model page: "1-2 minutes"
                .typicalLatency(Duration.ofMinutes(2)));
    }
}
