package ai.atelier.models;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItems;
import static org.hamcrest.Matchers.nullValue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;

@QuarkusTest
class ModelsTest {

    @Test
    void listsEveryModelWithLockedAndTunableParameters() {
        given().get("/v1/models").then().statusCode(200)
                .body("models.id", hasItems("flux-schnell", "flux-general-i2i", "qwen-image-edit-plus-lora", "qwen-multiple-angles",
                        "qwen-multi-angle-t2i", "flux-2-lora-edit"))
                .body("models.find { it.id == 'flux-general-i2i' }.locked.strength", equalTo(0.5f))
                .body("models.find { it.id == 'flux-general-i2i' }.locked.num_inference_steps", equalTo(7))
                .body("models.find { it.id == 'flux-general-i2i' }.fal_endpoints[0]", equalTo("fal-ai/flux-general/image-to-image"))
                .body("models.find { it.id == 'flux-schnell' }.tunable.find { it.name == 'num_images' }.max", equalTo(4.0f))
                .body("models.find { it.id == 'qwen-multi-angle-t2i' }.fal_endpoints.size()", equalTo(2));
    }

    @Test
    void listsTheVideoModelsWithTheirEndpointsAndDurationsAsFalTakesThem() {
        given().get("/v1/models").then().statusCode(200)
                .body("models.id", hasItems("kling-2.5-turbo-pro", "hailuo-02-standard", "veo-3.1-fast"))
                .body("models.find { it.id == 'veo-3.1-fast' }.fal_endpoints", equalTo(List.of("fal-ai/veo3.1/fast", "fal-ai/veo3.1/fast/image-to-video")))
                .body("models.find { it.id == 'veo-3.1-fast' }.min_images", equalTo(0))
                .body("models.find { it.id == 'veo-3.1-fast' }.max_images", equalTo(1))
                .body("models.find { it.id == 'veo-3.1-fast' }.locked.safety_tolerance", equalTo("4"))
                .body("models.find { it.id == 'veo-3.1-fast' }.tunable.find { it.name == 'duration' }.values", equalTo(List.of("4s", "6s", "8s")))
                .body("models.find { it.id == 'veo-3.1-fast' }.tunable.find { it.name == 'generate_audio' }.default_value", equalTo(false))
                .body("models.find { it.id == 'kling-2.5-turbo-pro' }.tunable.find { it.name == 'duration' }.values", equalTo(List.of("5", "10")))
                .body("models.find { it.id == 'hailuo-02-standard' }.tunable.find { it.name == 'prompt_optimizer' }.default_value", equalTo(false));
    }

    @Test
    void showsHowEachEndpointIsPricedAndTheVideoChoices() {
        given().get("/v1/models").then().statusCode(200)
                // a picture model: counted in fal's unit for the endpoint, with the input's megapixels where fal bills them
                .body("models.find { it.id == 'flux-general-i2i' }.price_basis", equalTo(List.of(
                        Map.of("endpoint", "fal-ai/flux-general/image-to-image", "counted_in", "pricing_unit", "inputs_billed", true))))
                .body("models.find { it.id == 'flux-schnell' }.price_basis[0].inputs_billed", equalTo(false))
                .body("models.find { it.id == 'flux-schnell' }.durations", nullValue())
                // a video model: seconds of output, units a second by resolution, silent and with audio, on both endpoints
                .body("models.find { it.id == 'veo-3.1-fast' }.price_basis.endpoint", equalTo(List.of("fal-ai/veo3.1/fast", "fal-ai/veo3.1/fast/image-to-video")))
                .body("models.find { it.id == 'veo-3.1-fast' }.price_basis.counted_in", equalTo(List.of("seconds", "seconds")))
                .body("models.find { it.id == 'veo-3.1-fast' }.price_basis[1].per_second", equalTo(Map.of("duration_param", "duration",
                        "resolution_param", "resolution", "default_resolution", "720p", "audio_param", "generate_audio",
                        "silent", Map.of("720p", 2.0f, "1080p", 2.0f, "4k", 6.0f), "with_audio", Map.of("720p", 3.0f, "1080p", 3.0f, "4k", 7.0f))))
                .body("models.find { it.id == 'veo-3.1-fast' }.price_basis[0].inputs_billed", nullValue())
                .body("models.find { it.id == 'veo-3.1-fast' }.durations", equalTo(List.of("4s", "6s", "8s")))
                .body("models.find { it.id == 'veo-3.1-fast' }.resolutions", equalTo(List.of("720p", "1080p", "4k")))
                // one rate at every resolution, audio or not, and no resolution to choose
                .body("models.find { it.id == 'kling-2.5-turbo-pro' }.price_basis[0].per_second.silent", equalTo(Map.of("*", 1.0f)))
                .body("models.find { it.id == 'kling-2.5-turbo-pro' }.price_basis[0].per_second.resolution_param", nullValue())
                .body("models.find { it.id == 'kling-2.5-turbo-pro' }.durations", equalTo(List.of("5", "10")))
                .body("models.find { it.id == 'kling-2.5-turbo-pro' }.resolutions", nullValue());
    }
}
