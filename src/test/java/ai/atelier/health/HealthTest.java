package ai.atelier.health;

import static ai.atelier.support.Management.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItems;
import static org.hamcrest.Matchers.not;

import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;

import ai.atelier.support.Servers;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;

/**
 * Readiness follows PostgreSQL only; Redis and S3, which every replica shares, are reported in the
 * dependencies group (see {@link Dependencies} for why). Health is served on the management port, where
 * the kubelet probes it; the API's port does not answer it.
 */
@QuarkusTest
class HealthTest {

    @Test
    void readinessIsPostgresAndTheDependenciesGroupShowsRedisAndS3() {
        given().get("/q/health/ready").then().statusCode(200).body("status", equalTo("UP"))
                .body("checks.name", not(hasItems("s3"))).body("checks.name", not(hasItems("redis")));
        given().get("/q/health/group/dependencies").then().statusCode(200).body("status", equalTo("UP"))
                .body("checks.name", hasItems("s3", "redis"))
                .body("checks.find { it.name == 's3' }.data.bucket", equalTo("atelier"));
        given().get("/q/health/live").then().statusCode(200).body("status", equalTo("UP"));
    }

    @Test
    void healthIsOnTheManagementPortOnly() {
        given().get("/q/health/ready").then().statusCode(200);
        RestAssured.given().get("/q/health/ready").then().statusCode(404);
        RestAssured.given().get("/q/health").then().statusCode(404);
    }

    @Test
    void withRedisDownTheInstanceStaysReadyAndKeepsWorking() {
        Servers.stopRedis();
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> given().get("/q/health/group/dependencies").statusCode() == 503);
            given().get("/q/health/group/dependencies").then().body("checks.find { it.name == 'redis' }.status", equalTo("DOWN"));
            given().get("/q/health/ready").then().statusCode(200).body("status", equalTo("UP"));
            // and it still does its work: a submit is accepted and runs to its end, read from PostgreSQL
            String id = RestAssured.given().contentType("application/json").body(Map.of("model", "flux-schnell", "prompt", "without redis"))
                    .post("/v1/jobs").then().statusCode(202).extract().path("id");
            await().atMost(Duration.ofSeconds(30)).until(() -> "succeeded".equals(RestAssured.given().get("/v1/jobs/" + id).path("status")));
        } finally {
            Servers.startRedis();
        }
        await().atMost(Duration.ofSeconds(15)).until(() -> given().get("/q/health/group/dependencies").statusCode() == 200);
    }

    @Test
    void withS3DownTheInstanceStaysReady() {
        Servers.stopS3();
        try {
            await().atMost(Duration.ofSeconds(15)).until(() -> given().get("/q/health/group/dependencies").statusCode() == 503);
            given().get("/q/health/ready").then().statusCode(200);
        } finally {
            Servers.startS3();
        }
        await().atMost(Duration.ofSeconds(15)).until(() -> given().get("/q/health/group/dependencies").statusCode() == 200);
    }
}
