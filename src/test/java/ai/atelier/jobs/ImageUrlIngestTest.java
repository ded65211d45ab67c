package ai.atelier.jobs;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import ai.atelier.support.Jobs;
import ai.atelier.support.Simulator;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import ai.atelier.storage.ObjectStore;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.services.s3.S3AsyncClient;

/** An http(s) image URL is fetched (from an allowed host), checked and stored in S3 before the job is accepted. */
@QuarkusTest
class ImageUrlIngestTest {

    @Inject
    S3AsyncClient s3;

    @Inject
    ObjectStore store;

    @Test
    void refusesAnImageUrlServingMoreThanTheByteLimit() {
        // the test profile caps images at 4 MiB; S3 serves 5 MiB behind a valid PNG header
        byte[] big = java.util.Arrays.copyOf(ai.atelier.support.Images.png(300, 300), 5 * 1024 * 1024);
        s3.putObject(b -> b.bucket("atelier").key("test/big.png"), AsyncRequestBody.fromBytes(big)).join();
        long jobs = ai.atelier.support.Db.count();
        given().contentType(ContentType.JSON)
                .body(Map.of("model", "flux-general-i2i", "prompt", "p", "image_url", store.presignGet("test/big.png")))
                .post("/v1/jobs").then().statusCode(413).contentType("application/problem+json")
                .body("type", org.hamcrest.Matchers.equalTo("/problems/image-too-many-bytes"));
        assertThat(ai.atelier.support.Db.count()).isEqualTo(jobs);
    }

    @Test
    void fetchesAnImageUrlIntoS3() {
        Simulator.reset();
        // a picture served over HTTP by the simulator's CDN: generate one with a sync run first
        String url = given().baseUri(Simulator.url()).contentType(ContentType.JSON)
                .body(Map.of("prompt", "p", "image_size", Map.of("width", 280, "height", 300), "seed", 5))
                .post("/run/fal-ai/flux/schnell").then().statusCode(200).extract().path("images[0].url");
        byte[] served = given().urlEncodingEnabled(false).get(url).then().statusCode(200).extract().asByteArray();

        String id = given().contentType(ContentType.JSON).body(Map.of("model", "flux-general-i2i", "prompt", "p", "image_url", url))
                .post("/v1/jobs").then().statusCode(202).extract().path("id");
        JsonPath job = Jobs.awaitTerminal(id);
        assertThat(job.getString("status")).isEqualTo("succeeded");
        byte[] stored = s3.getObject(b -> b.bucket("atelier").key("tenants/default/jobs/" + id + "/inputs/0.png"), AsyncResponseTransformer.toBytes())
                .join().asByteArray();
        assertThat(stored).isEqualTo(served);
        assertThat(job.getInt("inputs[0].width")).isEqualTo(280);
    }
}
