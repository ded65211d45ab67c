package ai.atelier.models;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;

/**
 * MiniMax Hailuo 02 Standard: a clip of 6 or 10 seconds (a string) from a prompt (always 768P) or from a photo and a
 * prompt (512P or 768P). MiniMax rewrites prompts unless told not to: here it does only when asked.
 */
@Singleton
public class Hailuo02Standard extends VideoModel {

    public Hailuo02Standard() {
        super(video("hailuo-02-standard", "MiniMax Hailuo 02 Standard: a 6 or 10 s clip (768P, or 512P from a photo) from a prompt, or from a photo and a prompt")
                .textToVideo("fal-ai/minimax/hailuo-02/standard/text-to-video")
                .imageToVideo("fal-ai/minimax/hailuo-02/standard/image-to-video")
                .tunable(ParamSpec.oneOf("duration", List.of("6", "10"), "6", "Length in seconds"),
                        ParamSpec.bool("prompt_optimizer", false, "Let MiniMax rewrite the prompt (fal's default is on)"))
                .imageOnly(ParamSpec.oneOf("resolution", List.of("512P", "768P"), "768P", "Picture size (image-to-video only; text-to-video is 768P)"))
                // $0.045 a second at 768P, about $0.017 at 512P (fal-video.md §2): 0.38 of the 768P second, the unit
                .pricedPerSecond(new CostBasis.PerSecond("duration", "resolution", "768P", null, Map.of("768P", 1.0, "512P", 0.38),
                        Map.of("768P", 1.0, "512P", 0.38)))
                .maxPrompt(2000)
                // fal publishes no figure for Hailuo 02; partner video models run minutes (fal-video.md §3)
                .typicalLatency(Duration.ofMinutes(3)));
    }
}
