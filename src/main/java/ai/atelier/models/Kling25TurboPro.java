package ai.atelier.models;

import java.time.Duration;
import java.util.List;

import jakarta.inject.Singleton;

/**
 * Kling 2.5 Turbo Pro: a clip of 5 or 10 seconds (a string, as fal takes it) from a prompt, or from a photo and a
 * prompt. It makes 1080p without audio and has no resolution to choose; $0.07 a second of output.
 */
@Singleton
public class Kling25TurboPro extends VideoModel {

    public Kling25TurboPro() {
        super(video("kling-2.5-turbo-pro", "Kling 2.5 Turbo Pro: a 5 or 10 s clip (1080p, no audio) from a prompt, or from a photo and a prompt")
                .textToVideo("fal-ai/kling-video/v2.5-turbo/pro/text-to-video")
                .imageToVideo("fal-ai/kling-video/v2.5-turbo/pro/image-to-video")
                .tunable(ParamSpec.oneOf("duration", List.of("5", "10"), "5", "Length in seconds"),
                        ParamSpec.text("negative_prompt", 2500, null, "What to keep out of the clip (fal's default: blur, distort, and low quality)"),
                        ParamSpec.number("cfg_scale", 0, 1, null, "How closely the clip follows the prompt (fal's default: 0.5)"))
                .textOnly(ParamSpec.oneOf("aspect_ratio", List.of("16:9", "9:16", "1:1"), "16:9", "Shape of the clip (text-to-video only)"))
                .pricedPerSecond(CostBasis.PerSecond.flat("duration", 1))
                .maxPrompt(2500)
                // fal-video.md §3: 79 to 151 s for a 5 s clip
                .typicalLatency(Duration.ofMinutes(2)));
    }
}
