package ai.atelier.storage;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.endsWith;

import java.util.Map;

import org.junit.jupiter.api.Test;

import ai.atelier.support.Db;
import ai.atelier.support.Images;
import ai.atelier.support.Management;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;

/** S3 down: a clear 503 problem, nothing half-accepted, and after a few failures the circuit opens and calls fail at once. */
@QuarkusTest
@TestProfile(StorageOutageTest.DeadS3.class)
class StorageOutageTest {

    /** S3 at a port nothing listens on. */
    public static class DeadS3 implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("quarkus.s3.endpoint-override", "http://127.0.0.1:9", "atelier.s3.breaker-threshold", "2",
                    "atelier.s3.breaker-open-for", "60s", "quarkus.s3.api-call-timeout", "5S");
        }
    }

    @Test
    void submitsFailWithA503AndTheCircuitOpens() {
        long before = Db.count();
        Map<String, Object> body = Map.of("model", "flux-general-i2i", "prompt", "p", "image_url", Images.dataUrl(Images.png(300, 300)));
        for (int i = 0; i < 2; i++) {
            given().contentType(ContentType.JSON).body(body).post("/v1/jobs").then().statusCode(503)
                    .contentType("application/problem+json").body("type", endsWith("/storage-unavailable"))
                    .body("detail", containsString("S3 failed"));
        }
        // open: no call goes out, the answer says so
        given().contentType(ContentType.JSON).body(body).post("/v1/jobs").then().statusCode(503)
                .body("detail", containsString("calls paused"));
        assertThat(Db.count()).isEqualTo(before);
        // S3 is shared by every replica: reported as a dependency, not a reason to take this instance out of the Service
        Management.given().get("/q/health/group/dependencies").then().statusCode(503)
                .body("checks.find { it.name == 'circuit-breakers' }.status", org.hamcrest.Matchers.equalTo("DOWN"))
                .body("checks.find { it.name == 'circuit-breakers' }.data.s3", org.hamcrest.Matchers.equalTo("open"))
                .body("checks.find { it.name == 'circuit-breakers' }.data.fal", org.hamcrest.Matchers.equalTo("closed"));
        Management.given().get("/q/health/ready").then().statusCode(200);
        // and in metrics: 2 is open
        String metrics = Management.metrics();
        assertThat(metrics).containsPattern("(?m)^atelier_circuit_breaker_state\\{name=\"s3\"\\} 2\\.0$")
                .containsPattern("(?m)^atelier_circuit_breaker_state\\{name=\"fal\"\\} 0\\.0$");
    }
}
