package ai.atelier.jobs;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import ai.atelier.support.Db;
import ai.atelier.support.Images;
import ai.atelier.support.Simulator;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.ValidatableResponse;

/** Every kind of bad input gets a clear 4xx problem+json, and none of them creates a job or reaches fal. */
@QuarkusTest
class BadInputTest {

    private long jobsBefore;
    private int falCallsBefore;

    @BeforeEach
    void count() {
        Simulator.reset();
        jobsBefore = Db.count();
        falCallsBefore = Simulator.requests().size();
    }

    @AfterEach
    void nothingWasAccepted() {
        assertThat(Db.count()).as("jobs created by a rejected request").isEqualTo(jobsBefore);
        assertThat(Simulator.requests()).as("calls to fal for a rejected request").hasSize(falCallsBefore);
    }

    private static ValidatableResponse postJson(Object body) {
        return given().contentType(ContentType.JSON).body(body).post("/v1/jobs").then()
                .contentType("application/problem+json");
    }

    private static ValidatableResponse postImage(byte[] bytes, String name, String declaredType) {
        return given().multiPart("model", "flux-general-i2i").multiPart("prompt", "p").multiPart("image", name, bytes, declaredType)
                .post("/v1/jobs").then().contentType("application/problem+json");
    }

    @Test
    void rejectsAMissingPrompt() {
        postJson(Map.of("model", "flux-schnell")).statusCode(422).body("type", equalTo("/problems/missing-prompt"))
                .body("detail", containsString("prompt")).body("status", equalTo(422));
    }

    @Test
    void rejectsAnUnknownModel() {
        postJson(Map.of("model", "dall-e", "prompt", "p")).statusCode(422).body("type", equalTo("/problems/unknown-model"))
                .body("detail", containsString("flux-schnell"));
    }

    @Test
    void rejectsChangingALockedParameterAndNamesIt() {
        postJson(Map.of("model", "flux-general-i2i", "prompt", "p", "image_url", Images.dataUrl(Images.png(256, 256)),
                "params", Map.of("strength", 0.9))).statusCode(422).body("type", equalTo("/problems/locked-parameter"))
                .body("parameter", equalTo("strength")).body("detail", containsString("locked to 0.5"));
    }

    @Test
    void rejectsAParameterTheModelDoesNotHave() {
        postJson(Map.of("model", "flux-general-i2i", "prompt", "p", "image_url", Images.dataUrl(Images.png(256, 256)),
                "params", Map.of("image_strength", 0.5))).statusCode(422).body("type", equalTo("/problems/unknown-parameter"))
                .body("parameter", equalTo("image_strength"));
    }

    @Test
    void rejectsOutOfRangeValues() {
        postJson(Map.of("model", "flux-schnell", "prompt", "p", "params", Map.of("num_images", 9))).statusCode(422)
                .body("type", equalTo("/problems/invalid-parameter")).body("detail", containsString("from 1 to 4"));
        postJson(Map.of("model", "flux-schnell", "prompt", "p", "params", Map.of("image_size", Map.of("width", 0, "height", 10))))
                .statusCode(422).body("parameter", equalTo("image_size"));
    }

    @Test
    void rejectsMalformedJson() {
        given().contentType(ContentType.JSON).body("{\"model\": \"flux-schnell\", \"prompt\": ").post("/v1/jobs").then().statusCode(400)
                .contentType("application/problem+json").body("type", equalTo("/problems/malformed-json"));
    }

    @Test
    void rejectsUnknownTopLevelFieldsInsteadOfIgnoringThem() {
        postJson(Map.of("model", "flux-schnell", "prompt", "p", "num_inference_steps", 7)).statusCode(400)
                .body("type", equalTo("/problems/malformed-json")).body("detail", containsString("Unknown field 'num_inference_steps'"))
                .body("detail", containsString("params"));
    }

    @Test
    void rejectsAFileThatIsNotAnImageWhateverItClaims() {
        postImage("just some text, not a picture".getBytes(), "photo.png", "image/png").statusCode(422)
                .body("type", equalTo("/problems/unsupported-image"));
    }

    @Test
    void rejectsAnImageSmallerThan256px() {
        postImage(Images.png(255, 400), "small.png", "image/png").statusCode(422).body("type", equalTo("/problems/image-too-small"))
                .body("detail", containsString("255×400"));
    }

    @Test
    void rejectsAnImageOverThePixelLimit() {
        // the test profile sets atelier.ingest.max-pixels=16777216 (4096²)
        postImage(Images.png(4097, 4097), "huge.png", "image/png").statusCode(422).body("type", equalTo("/problems/image-too-large"));
    }

    @Test
    void rejectsAnImageOverTheByteLimit() {
        // the test profile sets atelier.ingest.max-bytes=4 MiB; a real PNG header followed by 5 MiB
        byte[] png = Images.png(300, 300);
        byte[] big = java.util.Arrays.copyOf(png, 5 * 1024 * 1024);
        postImage(big, "big.png", "image/png").statusCode(413).body("type", equalTo("/problems/image-too-many-bytes"));
    }

    @Test
    void rejectsABodyOverTheRequestLimit() {
        byte[] body = new byte[9 * 1024 * 1024]; // the test profile accepts bodies up to 8 MiB
        given().multiPart("model", "flux-general-i2i").multiPart("prompt", "p").multiPart("image", "x.png", body, "image/png")
                .post("/v1/jobs").then().statusCode(413).contentType("application/problem+json")
                .body("type", equalTo("/problems/body-too-large"));
    }

    @Test
    void rejectsImageUrlsPointingInsideTheNetwork() {
        for (String url : List.of("http://127.0.0.1:5432/x.png", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.7/a.png",
                "http://192.168.1.1/a.png", "http://[::1]/a.png", "http://0.0.0.0/a.png")) {
            postJson(Map.of("model", "flux-general-i2i", "prompt", "p", "image_url", url)).statusCode(422)
                    .body("type", equalTo("/problems/forbidden-image-url"));
        }
    }

    @Test
    void rejectsNonHttpImageUrls() {
        postJson(Map.of("model", "flux-general-i2i", "prompt", "p", "image_url", "file:///etc/passwd")).statusCode(422)
                .body("type", equalTo("/problems/unusable-image-url"));
    }

    @Test
    void rejectsTheWrongNumberOfImages() {
        postJson(Map.of("model", "flux-general-i2i", "prompt", "p")).statusCode(422).body("type", equalTo("/problems/wrong-image-count"));
    }

    @Test
    void answersAnUnknownJobWith404Problem() {
        given().get("/v1/jobs/00000000-0000-0000-0000-000000000000").then().statusCode(404).contentType("application/problem+json")
                .body("type", equalTo("/problems/not-found"));
    }
}
