package ai.atelier.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.vertx.core.Vertx;

/**
 * On Linux every socket runs on Netty's epoll transport: a missing native library or a lost
 * {@code prefer-native-transport} would quietly fall back to NIO (about a tenth more CPU per job in
 * the benchmark), so it is checked here rather than noticed in a profile.
 */
@QuarkusTest
class NativeTransportTest {

    @Inject
    Vertx vertx;

    @Test
    void socketsRunOnEpollOnLinux() {
        assumeTrue(System.getProperty("os.name").toLowerCase(java.util.Locale.ROOT).contains("linux"), "epoll is Linux's");
        assertThat(vertx.isNativeTransportEnabled()).as("Vert.x native transport (%s)", vertx.unavailableNativeTransportCause()).isTrue();
        // and the HTTP server answers on it
        RestAssured.given().get("/").then().statusCode(200);
    }
}
