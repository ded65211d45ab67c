package ai.atelier.jobs;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Base64;
import java.util.Map;

import org.junit.jupiter.api.Test;

import ai.atelier.support.Images;
import ai.atelier.support.Jobs;
import ai.atelier.support.Simulator;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/** With atelier.fal.input-mode=data-url, fal gets the stored input bytes inline instead of a presigned URL. */
@QuarkusTest
@TestProfile(DataUrlInputModeTest.DataUrls.class)
class DataUrlInputModeTest {

    public static class DataUrls implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("atelier.fal.input-mode", "data-url");
        }
    }

    @Test
    void sendsTheStoredInputAsADataUrl() {
        Simulator.reset();
        byte[] upload = Images.png(260, 270);
        String id = given().multiPart("model", "flux-general-i2i").multiPart("prompt", "p").multiPart("image", "in.png", upload, "image/png")
                .post("/v1/jobs").then().statusCode(202).extract().path("id");
        assertThat(Jobs.awaitTerminal(id).getString("status")).isEqualTo("succeeded");
        String sent = (String) Simulator.submissions("fal-ai/flux-general/image-to-image").get(0).get("image_url");
        assertThat(sent).startsWith("data:image/png;base64,");
        assertThat(Base64.getDecoder().decode(sent.substring(sent.indexOf(',') + 1))).isEqualTo(upload);
    }
}
