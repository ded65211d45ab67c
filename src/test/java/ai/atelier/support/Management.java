package ai.atelier.support;

import io.quarkus.arc.Arc;
import io.quarkus.vertx.http.HttpServer;
import io.restassured.RestAssured;
import io.restassured.specification.RequestSpecification;

/**
 * The management interface, where {@code /q/metrics} and {@code /q/health} are served: its own port (a free
 * one in tests, {@code quarkus.management.test-port=0}), which a client of the API never reaches.
 */
public final class Management {

    private Management() {
    }

    /** The port the running application's management interface listens on. */
    public static int port() {
        return Arc.container().instance(HttpServer.class).get().getManagementPort();
    }

    /** {@code http://localhost:<management port>}: paths keep their {@code /q/…} prefix. */
    public static String url() {
        return "http://localhost:" + port();
    }

    /** A RestAssured request to the management port. */
    public static RequestSpecification given() {
        return RestAssured.given().baseUri("http://localhost").port(port());
    }

    /** The Prometheus text of {@code /q/metrics}, as the operator's Prometheus scrapes it. */
    public static String metrics() {
        return given().get("/q/metrics").then().statusCode(200).extract().asString();
    }
}
