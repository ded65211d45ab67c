package ai.atelier.prompts;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.endsWith;

import java.util.List;
import java.util.Map;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import ai.atelier.simulator.Png;
import ai.atelier.support.Images;
import ai.atelier.support.Jobs;
import ai.atelier.support.Simulator;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import software.amazon.awssdk.services.s3.S3AsyncClient;

/** Background replacement and removal, product photography, and seed 004's choice of init image, through the jobs API. */
@QuarkusTest
class BackgroundModelsTest {

    @Inject
    S3AsyncClient s3;

    @BeforeEach
    void reset() {
        Simulator.reset();
        Simulator.settings(0, 30);
    }

    private byte[] s3Object(String key) {
        return ai.atelier.support.Objects.bytes(s3, key);
    }

    private static JsonPath run(Map<String, Object> body) {
        String id = given().contentType(ContentType.JSON).body(body).post("/v1/jobs").then().statusCode(202).extract().path("id");
        return Jobs.awaitTerminal(id);
    }

    @Test
    void backgroundReplacementTakesAPromptOrAReferencePhotoNeverBoth() {
        JsonPath byPrompt = run(Map.of("model", "bria-background-replace", "image_url", Images.dataUrl(Images.png(300, 270)),
                "prompt", "on a wooden table by a window", "params", Map.of("seed", 3, "num_images", 2)));
        assertThat(byPrompt.getString("status")).isEqualTo("succeeded");
        assertThat(byPrompt.getList("outputs")).hasSize(2);
        Map<String, Object> sent = Simulator.submissions("fal-ai/bria/background/replace").get(0);
        assertThat(sent).containsEntry("prompt", "on a wooden table by a window").containsEntry("num_images", 2).containsEntry("seed", 3)
                .doesNotContainKey("ref_image_url");
        assertThat(s3Object(byPrompt.getString("outputs[1].key"))).isEqualTo(Png.render(300, 270, 4));

        Simulator.reset();
        JsonPath byReference = run(Map.of("model", "bria-background-replace", "image_url", Images.dataUrl(Images.png(300, 280)),
                "reference_image_url", Images.dataUrl(Images.png(400, 300))));
        assertThat(byReference.getString("status")).isEqualTo("succeeded");
        Map<String, Object> withRef = Simulator.submissions("fal-ai/bria/background/replace").get(0);
        assertThat(withRef).doesNotContainKey("prompt");
        assertThat((String) withRef.get("image_url")).contains("/inputs/0.png");
        assertThat((String) withRef.get("ref_image_url")).contains("/inputs/1.png");
        assertThat(byReference.getList("inputs.role")).containsExactly("input", "reference");
        assertThat(byReference.getInt("outputs[0].width")).isEqualTo(300);

        given().contentType(ContentType.JSON).body(Map.of("model", "bria-background-replace", "image_url", Images.dataUrl(Images.png(300, 300)),
                "prompt", "a beach", "reference_image_url", Images.dataUrl(Images.png(300, 300)))).post("/v1/jobs").then().statusCode(422)
                .body("type", endsWith("/prompt-and-reference"));
        given().contentType(ContentType.JSON).body(Map.of("model", "bria-background-replace", "image_url", Images.dataUrl(Images.png(300, 300))))
                .post("/v1/jobs").then().statusCode(422).body("type", endsWith("/missing-prompt"));
        // a second photo is the reference background only when it says so, never by its position
        given().contentType(ContentType.JSON).body(Map.of("model", "bria-background-replace", "prompt", "a beach", "image_urls",
                List.of(Images.dataUrl(Images.png(300, 300)), Images.dataUrl(Images.png(300, 300))))).post("/v1/jobs").then().statusCode(422)
                .body("type", endsWith("/wrong-image-count"));
    }

    @Test
    void backgroundRemovalGivesOnePictureAtThePhotosSize() {
        JsonPath done = run(Map.of("model", "bria-background-remove", "image_url", Images.dataUrl(Images.png(310, 290))));
        assertThat(done.getString("status")).isEqualTo("succeeded");
        assertThat(done.getList("outputs")).hasSize(1);
        assertThat(done.getInt("outputs[0].width")).isEqualTo(310);
        assertThat(done.getInt("outputs[0].height")).isEqualTo(290);
        assertThat(Simulator.submissions("fal-ai/bria/background/remove")).singleElement()
                .satisfies(b -> assertThat(b.keySet()).containsExactlyInAnyOrder("image_url", "sync_mode"));
        given().contentType(ContentType.JSON).body(Map.of("model", "bria-background-remove", "image_url", Images.dataUrl(Images.png(300, 300)),
                "prompt", "x")).post("/v1/jobs").then().statusCode(422).body("type", endsWith("/prompt-not-accepted"));
    }

    @Test
    void productPhotographySendsFalsNestedAspectRatio() {
        JsonPath done = run(Map.of("model", "product-photography", "image_url", Images.dataUrl(Images.png(300, 300)),
                "params", Map.of("aspect_ratio", "16:9")));
        assertThat(done.getString("status")).isEqualTo("succeeded");
        assertThat(done.getInt("outputs[0].width")).isEqualTo(1024);
        assertThat(done.getInt("outputs[0].height")).isEqualTo(576);
        Map<String, Object> sent = Simulator.submissions("fal-ai/image-apps-v2/product-photography").get(0);
        assertThat(sent).containsEntry("aspect_ratio", Map.of("ratio", "16:9")).doesNotContainKey("prompt");
        assertThat((String) sent.get("product_image_url")).contains("/inputs/0.png");
        given().contentType(ContentType.JSON).body(Map.of("model", "product-photography", "image_url", Images.dataUrl(Images.png(300, 300)),
                "params", Map.of("aspect_ratio", "2:1"))).post("/v1/jobs").then().statusCode(422);
    }

    @Test
    void seed004sRuleFaceElseFirstProductElseBackgroundIsTheInitImage() {
        byte[] product1 = Images.png(300, 260);
        byte[] product2 = Images.png(300, 270);
        byte[] face = Images.png(280, 300);
        byte[] background = Images.png(320, 300);

        JsonPath withFace = run(Map.of("model", "flux-general-i2i", "prompt", "portrait with the bag", "product_images",
                List.of(Images.dataUrl(product1), Images.dataUrl(product2)), "face_image", Images.dataUrl(face), "background_image",
                Images.dataUrl(background)));
        assertThat(withFace.getString("status")).isEqualTo("succeeded");
        assertThat(withFace.getString("init_image.role")).isEqualTo("face");
        assertThat(withFace.getString("init_image.reason")).contains("face photo");
        // the face goes first and is the one image this model gets; all four are kept
        assertThat(withFace.getList("inputs.role")).containsExactly("face", "product", "product", "background");
        assertThat(s3Object(withFace.getString("inputs[0].key"))).isEqualTo(face);
        String sentUrl = (String) Simulator.submissions("fal-ai/flux-general/image-to-image").get(0).get("image_url");
        assertThat(sentUrl).contains(withFace.getString("inputs[0].key"));

        JsonPath noFace = run(Map.of("model", "flux-general-i2i", "prompt", "p", "background_image", Images.dataUrl(background),
                "product_images", List.of(Images.dataUrl(product2), Images.dataUrl(product1))));
        assertThat(noFace.getString("init_image.role")).isEqualTo("product");
        assertThat(s3Object(noFace.getString("inputs[0].key"))).isEqualTo(product2);

        JsonPath onlyBackground = run(Map.of("model", "flux-general-i2i", "prompt", "p", "background_image", Images.dataUrl(background)));
        assertThat(onlyBackground.getString("init_image.role")).isEqualTo("background");
        assertThat(onlyBackground.getString("init_image.reason")).contains("no face or product");

        // the same rule for uploads: the part names say the roles
        String id = given().multiPart("model", "flux-general-i2i").multiPart("prompt", "p")
                .multiPart("product_image", "p.png", product1, "image/png").multiPart("face_image", "f.png", face, "image/png")
                .post("/v1/jobs").then().statusCode(202).extract().path("id");
        JsonPath upload = Jobs.awaitTerminal(id);
        assertThat(upload.getString("init_image.role")).isEqualTo("face");
        assertThat(s3Object(upload.getString("inputs[0].key"))).isEqualTo(face);
    }
}
