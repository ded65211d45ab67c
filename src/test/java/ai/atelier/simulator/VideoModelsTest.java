package ai.atelier.simulator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import ai.atelier.models.CostBasis;
import ai.atelier.models.FalCall;
import ai.atelier.models.Hailuo02Standard;
import ai.atelier.models.Kling25TurboPro;
import ai.atelier.models.ModelCatalog;
import ai.atelier.models.ModelStrategy;
import ai.atelier.models.Veo31Fast;
import ai.atelier.models.Wan25;
import ai.atelier.problem.Problem;
import io.vertx.core.json.JsonObject;

/**
 * Each video model sends fal exactly what its endpoint takes, text-to-video without a photo and image-to-video
 * with one: durations typed as the endpoint types them, the defaults fal would set expensively set cheaply, the
 * locked values, and nothing of the other mode. Every payload is checked against the simulator's copy of fal's
 * schema; a new model is one more test here (CatalogueDriftTest then checks all of its payloads and its price).
 */
class VideoModelsTest {

    static final String PHOTO = "https://images.example.com/product.png";
    static final Map<String, SimSchema> SCHEMAS = SimSchema.catalogue();

    /** The one call a request makes, checked against the schema of the endpoint it goes to. */
    static FalCall call(ModelStrategy model, Map<String, Object> params, int images) {
        List<FalCall> plan = model.plan("a red bicycle rolls down a hill", ModelCatalog.check(model, params), images);
        assertThat(plan).hasSize(1);
        return plan.get(0);
    }

    static JsonObject payload(ModelStrategy model, Map<String, Object> params, int images) {
        FalCall call = call(model, params, images);
        JsonObject payload = call.payload().apply(images == 0 ? List.of() : List.of(PHOTO));
        assertThat(SCHEMAS.get(call.endpointId()).validate(payload)).as("%s with %s", call.endpointId(), payload.encode()).isEmpty();
        return payload;
    }

    static String endpoint(ModelStrategy model, int images) {
        return call(model, Map.of(), images).endpointId();
    }

    static double units(ModelStrategy model, JsonObject payload, int images) {
        return model.costBasis(endpoint(model, images)).perSecond().units(payload.getMap());
    }

    @Test
    void klingSendsItsDurationAsAStringAndTheAspectRatioOnlyWithoutAPhoto() {
        Kling25TurboPro kling = new Kling25TurboPro();
        assertThat(endpoint(kling, 0)).isEqualTo("fal-ai/kling-video/v2.5-turbo/pro/text-to-video");
        assertThat(endpoint(kling, 1)).isEqualTo("fal-ai/kling-video/v2.5-turbo/pro/image-to-video");
        assertThat(payload(kling, Map.of(), 0)).isEqualTo(new JsonObject().put("prompt", "a red bicycle rolls down a hill")
                .put("duration", "5").put("aspect_ratio", "16:9"));
        assertThat(payload(kling, Map.of("duration", "10", "cfg_scale", 0.7), 1)).isEqualTo(new JsonObject()
                .put("prompt", "a red bicycle rolls down a hill").put("image_url", PHOTO).put("duration", "10").put("cfg_scale", 0.7));
        assertThat(units(kling, payload(kling, Map.of("duration", "10"), 1), 1)).isEqualTo(10.0);
        // image-to-video follows its photo: an aspect ratio is refused, not sent to be ignored
        assertThatThrownBy(() -> call(kling, Map.of("aspect_ratio", "9:16"), 1)).isInstanceOf(Problem.class)
                .hasMessageContaining("'aspect_ratio'").hasMessageContaining("text-to-video only");
        assertThat(kling.maxPromptLength()).isEqualTo(2500);
    }

    @Test
    void hailuoNeverRewritesThePromptUnlessAskedAndPicksTheResolutionOnlyFromAPhoto() {
        Hailuo02Standard hailuo = new Hailuo02Standard();
        JsonObject text = payload(hailuo, Map.of(), 0);
        assertThat(text).isEqualTo(new JsonObject().put("prompt", "a red bicycle rolls down a hill").put("duration", "6")
                .put("prompt_optimizer", false));
        JsonObject image = payload(hailuo, Map.of("resolution", "512P", "duration", "10"), 1);
        assertThat(image.getString("resolution")).isEqualTo("512P");
        assertThat(image.getString("duration")).isEqualTo("10");
        assertThat(image.getBoolean("prompt_optimizer")).isFalse();
        assertThat(payload(hailuo, Map.of(), 1).getString("resolution")).isEqualTo("768P");
        assertThat(payload(hailuo, Map.of("prompt_optimizer", true), 0).getBoolean("prompt_optimizer")).isTrue();
        assertThat(units(hailuo, text, 0)).isEqualTo(6.0);
        assertThat(units(hailuo, image, 1)).isEqualTo(3.8); // 10 s at 512P, 0.38 of a 768P second each
        assertThatThrownBy(() -> call(hailuo, Map.of("resolution", "768P"), 0)).isInstanceOf(Problem.class)
                .hasMessageContaining("image-to-video only");
    }

    @Test
    void veoIsSilentAt720pWithoutPromptFixesUnlessAskedAndLocksItsSafetyTolerance() {
        Veo31Fast veo = new Veo31Fast();
        assertThat(endpoint(veo, 0)).isEqualTo("fal-ai/veo3.1/fast");
        assertThat(endpoint(veo, 1)).isEqualTo("fal-ai/veo3.1/fast/image-to-video");
        for (int images : List.of(0, 1)) {
            JsonObject p = payload(veo, Map.of(), images);
            assertThat(p.getString("duration")).isEqualTo("8s");
            assertThat(p.getString("resolution")).isEqualTo("720p");
            assertThat(p.getBoolean("generate_audio")).isFalse();
            assertThat(p.getBoolean("auto_fix")).isFalse();
            assertThat(p.getString("safety_tolerance")).isEqualTo("4");
            assertThat(p.containsKey("aspect_ratio")).as("left to fal: 16:9, or the photo's shape").isFalse();
            assertThat(units(veo, p, images)).isEqualTo(16.0); // 8 s × 2 units: $0.80 at $0.05
        }
        JsonObject loud = payload(veo, Map.of("generate_audio", true, "duration", "4s", "resolution", "4k", "seed", 7), 1);
        assertThat(loud.getBoolean("generate_audio")).isTrue();
        assertThat(loud.getLong("seed")).isEqualTo(7);
        assertThat(units(veo, loud, 1)).isEqualTo(28.0); // 4 s × 7 units: $1.40, fal's $0.35 a second at 4k with audio
        // the locked value may be repeated, never changed; "8" without its unit is refused here, as fal refuses it
        assertThat(ModelCatalog.check(veo, Map.of("safety_tolerance", "4"))).isEmpty();
        assertThatThrownBy(() -> ModelCatalog.check(veo, Map.of("safety_tolerance", "6"))).hasMessageContaining("locked");
        assertThatThrownBy(() -> ModelCatalog.check(veo, Map.of("duration", "8"))).hasMessageContaining("must be one of [4s, 6s, 8s]");
        assertThatThrownBy(() -> ModelCatalog.check(veo, Map.of("duration", 8))).hasMessageContaining("must be one of");
    }

    @Test
    void wanMakes720pWithoutExpandingThePromptUnlessAskedWithItsSafetyCheckerOn() {
        Wan25 wan = new Wan25();
        assertThat(endpoint(wan, 0)).isEqualTo("fal-ai/wan-25-preview/text-to-video");
        assertThat(endpoint(wan, 1)).isEqualTo("fal-ai/wan-25-preview/image-to-video");
        assertThat(payload(wan, Map.of(), 0)).isEqualTo(new JsonObject().put("prompt", "a red bicycle rolls down a hill").put("duration", "5")
                .put("resolution", "720p").put("enable_prompt_expansion", false).put("aspect_ratio", "16:9").put("enable_safety_checker", true));
        JsonObject image = payload(wan, Map.of("resolution", "1080p", "duration", "10", "seed", 3), 1);
        assertThat(image.getString("image_url")).isEqualTo(PHOTO);
        assertThat(image.containsKey("aspect_ratio")).isFalse();
        assertThat(image.getBoolean("enable_safety_checker")).isTrue();
        assertThat(units(wan, payload(wan, Map.of(), 0), 0)).isEqualTo(10.0); // 5 s × 2: $0.50 at 720p
        assertThat(units(wan, image, 1)).isEqualTo(30.0); // 10 s × 3: $1.50 at 1080p
        assertThatThrownBy(() -> ModelCatalog.check(wan, Map.of("enable_safety_checker", false))).hasMessageContaining("locked");
        assertThatThrownBy(() -> call(wan, Map.of("aspect_ratio", "1:1"), 1)).hasMessageContaining("text-to-video only");
    }

    @Test
    void videoModelsDeclareTheirOutputDeadlineAndLatency() {
        for (ModelStrategy model : List.of(new Kling25TurboPro(), new Hailuo02Standard(), new Veo31Fast(), new Wan25())) {
            assertThat(model.output()).isEqualTo(ModelStrategy.Output.VIDEO);
            assertThat(model.minImages()).isZero();
            assertThat(model.maxImages()).isEqualTo(1);
            assertThat(model.requestDeadline()).contains(Duration.ofMinutes(20));
            assertThat(model.typicalLatency()).isPresent();
            assertThat(model.typicalLatency().get()).isLessThan(model.requestDeadline().get());
            assertThat(model.costBasis(model.endpoints().get(0)).kind()).isEqualTo(CostBasis.Kind.SECONDS);
            // the clip is read from fal's `video` file object
            assertThat(model.outputs(new JsonObject().put("video", new JsonObject().put("url", "https://v3.fal.media/files/x/output.mp4")
                    .put("content_type", "video/mp4").put("file_size", 123)))).singleElement()
                    .satisfies(f -> assertThat(f.url()).endsWith("output.mp4"));
        }
    }

    @Test
    void aDurationIsReadInEveryFormAnEndpointTakes() {
        assertThat(CostBasis.PerSecond.seconds("5")).isEqualTo(5.0);
        assertThat(CostBasis.PerSecond.seconds("8s")).isEqualTo(8.0);
        assertThat(CostBasis.PerSecond.seconds(6)).isEqualTo(6.0);
        assertThatThrownBy(() -> CostBasis.PerSecond.seconds("eight")).isInstanceOf(IllegalArgumentException.class);
    }
}
