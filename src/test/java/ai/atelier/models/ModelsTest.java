package ai.atelier.models;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItems;

import java.util.List;

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
}
