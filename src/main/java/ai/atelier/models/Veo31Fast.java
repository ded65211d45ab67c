package ai.atelier.models;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;

/**
 * Google Veo 3.1 Fast: a clip of 4, 6 or 8 seconds (a string with its unit, {@code "8s"}: a bare {@code "8"} fails at
 * fal) from a prompt, or from a photo and a prompt. fal turns audio on by default (half as dear again) and rewrites
 * text-to-video prompts that fail its content policy: here both happen only when asked, at 720p unless asked.
 */
@Singleton
public class Veo31Fast extends VideoModel {

    public Veo31Fast() {
        super(video("veo-3.1-fast", "Google Veo 3.1 Fast: a 4, 6 or 8 s clip at 720p, 1080p or 4k, with sound if asked, from a prompt or a photo")
                .textToVideo("fal-ai/veo3.1/fast")
                .imageToVideo("fal-ai/veo3.1/fast/image-to-video")
                .locked("safety_tolerance", "4")
                .tunable(ParamSpec.oneOf("duration", List.of("4s", "6s", "8s"), "8s", "Length"),
                        ParamSpec.oneOf("resolution", List.of("720p", "1080p", "4k"), "720p", "Picture size (4k costs three times as much)"),
                        ParamSpec.bool("generate_audio", false, "Add sound: $0.15 a second instead of $0.10 (fal's default is on)"),
                        ParamSpec.bool("auto_fix", false, "Let fal rewrite a prompt that fails its content policy (fal's default is on for text-to-video)"),
                        ParamSpec.oneOf("aspect_ratio", List.of("16:9", "9:16"), null, "Shape of the clip (fal's default: 16:9, or the photo's)"),
                        ParamSpec.text("negative_prompt", 2000, null, "What to keep out of the clip"),
                        ParamSpec.seed())
                // one unit price ($0.05 at list) for every tier: 2 units a second, 3 with audio; 6 and 7 at 4k
                .pricedPerSecond(new CostBasis.PerSecond("duration", "resolution", "720p", "generate_audio",
                        Map.of("720p", 2.0, "1080p", 2.0, "4k", 6.0), Map.of("720p", 3.0, "1080p", 3.0, "4k", 7.0)))
                .maxPrompt(20_000)
                // fal-video.md §3: 69 to 73 s for 4 s at 720p, 60 to 120 s for 8 s at 1080p
                .typicalLatency(Duration.ofSeconds(90)));
    }
}
