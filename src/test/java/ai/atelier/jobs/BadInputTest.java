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
        falCallsBefore = submissions();
    }

    @AfterEach
    void nothingWasAccepted() {
        assertThat(Db.count()).as("jobs created by a rejected request").isEqualTo(jobsBefore);
        assertThat(submissions()).as("requests submitted to fal for a rejected request").isEqualTo(falCallsBefore);
    }

    /**
     * What fal was asked to run so far. Only submissions: a job an earlier test class left running still reads its
     * status, result and files meanwhile, and those reads are not this test's.
     */
    private static int submissions() {
        return (int) Simulator.requests().stream().filter(r -> "POST".equals(r.get("method")) && r.get("path") instanceof String path
                && (path.startsWith("/queue/") || path.startsWith("/run/"))).count();
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
        postJson(Map.of("model", "flux-schnell", "prompt", "p", "num_inference_steps", 7)).statusCode(422)
                .body("type", equalTo("/problems/unknown-field")).body("detail", containsString("Unknown field 'num_inference_steps'"))
                .body("detail", containsString("params")).body("field", equalTo("num_inference_steps"));
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
        // the test profile accepts bodies up to 8 MiB and files up to 4 MiB: three files of 3 MiB
        byte[] file = new byte[3 * 1024 * 1024];
        given().multiPart("model", "flux-general-i2i").multiPart("prompt", "p").multiPart("face_image", "x.png", file, "image/png")
                .multiPart("product_image", "y.png", file, "image/png").multiPart("background_image", "z.png", file, "image/png")
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

    private static ValidatableResponse postRaw(String path, String json) {
        return given().contentType(ContentType.JSON).body(json.getBytes(java.nio.charset.StandardCharsets.UTF_8)).post(path).then()
                .contentType("application/problem+json");
    }

    /** Jackson's and the SDKs' own words mean nothing to a client: no class or feature names in a detail. */
    private static void plainWords(ValidatableResponse r) {
        String detail = r.extract().path("detail");
        assertThat(detail).isNotBlank().doesNotContainPattern("[A-Z][A-Za-z]+(Exception|Feature|Constraints|Error)\\b")
                .doesNotContain("com.fasterxml").doesNotContain("software.amazon");
    }

    @Test
    void refusesANulCharacterInAnyTextWithA422NamingTheField() {
        String png = Images.dataUrl(Images.png(256, 256));
        postRaw("/v1/jobs", "{\"model\": \"flux-schnell\", \"prompt\": \"a\\u0000b\"}").statusCode(422)
                .body("type", equalTo("/problems/invalid-characters")).body("field", equalTo("prompt")).body("detail", containsString("NUL"));
        postRaw("/v1/jobs", "{\"model\": \"flux-general-i2i\", \"image_url\": \"" + png + "\", \"style\": {\"name\": \"x\\u0000\", \"description\": \"d\"}}")
                .statusCode(422).body("field", equalTo("style.name"));
        postRaw("/v1/jobs", "{\"model\": \"flux-general-i2i\", \"prompt\": \"p\", \"image_url\": \"" + png
                + "\", \"params\": {\"loras\": [{\"path\": \"https://x.example/a\\u0000.safetensors\"}]}}").statusCode(422)
                .body("field", org.hamcrest.Matchers.startsWith("params.loras"));
        given().multiPart("model", "flux-general-i2i").multiPart("prompt", "a\u0000b").multiPart("image", "p.png", Images.png(300, 300), "image/png")
                .post("/v1/jobs").then().statusCode(422).contentType("application/problem+json").body("field", equalTo("prompt"));
        postRaw("/api/flux/t2i", "{\"prompt\": \"a\\u0000b\"}").statusCode(422).body("field", equalTo("prompt"));
        postRaw("/v1/llm/completions", "{\"prompt\": \"a\\u0000b\"}").statusCode(422).body("field", equalTo("prompt"));
        given().urlEncodingEnabled(false).get("/v1/jobs?status=%00").then().statusCode(400).contentType("application/problem+json").body("parameter", equalTo("status"));
    }

    @Test
    void refusesALoneSurrogateInsteadOfSendingAQuestionMark() {
        postRaw("/v1/jobs", "{\"model\": \"flux-schnell\", \"prompt\": \"a\\ud800b\"}").statusCode(422)
                .body("field", equalTo("prompt")).body("detail", containsString("surrogate"));
        // a real pair is a character like any other: the emoji is not refused by the text rules (the job is refused for its model only)
        postRaw("/v1/jobs", "{\"model\": \"no-such-model\", \"prompt\": \"a \\ud83d\\ude00\"}").statusCode(422)
                .body("type", equalTo("/problems/unknown-model"));
    }

    @Test
    void refusesDuplicateKeysAndAnythingAfterTheDocument() {
        ValidatableResponse twice = postRaw("/v1/jobs", "{\"model\": \"llm\", \"model\": \"flux-schnell\", \"prompt\": \"p\"}").statusCode(400)
                .body("type", equalTo("/problems/malformed-json")).body("field", equalTo("model")).body("detail", containsString("more than once"));
        plainWords(twice);
        ValidatableResponse trailing = postRaw("/v1/jobs", "{\"model\": \"flux-schnell\", \"prompt\": \"p\"} {\"x\": 1}").statusCode(400)
                .body("detail", containsString("after the end"));
        plainWords(trailing);
        plainWords(postRaw("/v1/jobs", "{\"model\": \"flux-schnell\", \"prompt\": ").statusCode(400));
        plainWords(postRaw("/v1/jobs", "[" .repeat(5000)).statusCode(400));
        plainWords(postRaw("/v1/jobs", "{\"model\": \"flux-schnell\", \"prompt\": \"p\", \"deadline_seconds\": 1e308}").statusCode(400));
    }

    @Test
    void refusesOutOfRangeNumbersInsteadOfClampingThem() {
        postRaw("/v1/jobs", "{\"model\": \"flux-schnell\", \"prompt\": \"p\", \"params\": {\"seed\": 1e308}}").statusCode(422)
                .body("parameter", equalTo("seed"));
        postRaw("/v1/jobs", "{\"model\": \"flux-schnell\", \"prompt\": \"p\", \"params\": {\"seed\": 18446744073709551616}}").statusCode(422)
                .body("parameter", equalTo("seed"));
    }

    @Test
    void refusesAWebhookWithoutAUrl() {
        postJson(Map.of("model", "flux-schnell", "prompt", "p", "webhook", Map.of("events", List.of("completed")))).statusCode(422)
                .body("type", equalTo("/problems/invalid-webhook")).body("field", equalTo("webhook.url"));
    }

    @Test
    void refusesAPageSizeThatIsNotANumberWith400() {
        given().get("/v1/jobs?limit=abc").then().statusCode(400).contentType("application/problem+json")
                .body("type", equalTo("/problems/invalid-query")).body("parameter", equalTo("limit"));
    }

    @Test
    void refusesSeed001SamplerSettingsOutsideTheSeedsOwnRanges() {
        given().multiPart("image", "p.png", Images.png(300, 300), "image/png").multiPart("strength", "7").post("/api/flux/i2i").then()
                .statusCode(422).contentType("application/problem+json").body("parameter", equalTo("strength"));
        given().multiPart("image", "p.png", Images.png(300, 300), "image/png").multiPart("num_inference_steps", "0").post("/api/flux/i2i").then()
                .statusCode(422).body("parameter", equalTo("num_inference_steps"));
        postRaw("/api/flux/t2i", "{\"prompt\": \"p\", \"guidance_scale\": 99}").statusCode(422).body("parameter", equalTo("guidance_scale"));
    }

    @Test
    void refusesImagesThatEndEarlyOrAreCorrupt() {
        byte[] png = Images.png(300, 300);
        // 24 bytes: a PNG signature and the start of its header, nothing else
        postImage(java.util.Arrays.copyOf(png, 24), "a.png", "image/png").statusCode(422);
        // a JPEG's header segments without any scan or end
        postImage(new byte[] { (byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
                (byte) 0xFF, (byte) 0xC0, 0, 17, 8, 1, 0, 1, 0, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1 }, "a.jpg", "image/jpeg").statusCode(422);
        // a flipped byte in the header chunk: its CRC no longer matches
        byte[] badCrc = png.clone();
        badCrc[20] ^= 0x01;
        plainWords(postImage(badCrc, "c.png", "image/png").statusCode(422));
    }

    @Test
    void anLlmStreamWithARefusedImageUrlIsA4xxBeforeAnyEvent() {
        given().contentType(ContentType.JSON).accept("text/event-stream")
                .body(Map.of("prompt", "what is this", "image_urls", List.of("http://169.254.169.254/latest/meta-data/")))
                .post("/v1/llm/completions/stream").then().statusCode(422).contentType("application/problem+json")
                .body("type", equalTo("/problems/forbidden-image-url"));
    }
}
