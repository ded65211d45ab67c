package ai.atelier.models;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItems;

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
}
