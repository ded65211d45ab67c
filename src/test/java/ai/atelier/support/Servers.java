package ai.atelier.support;

import static io.restassured.RestAssured.given;

/** Stops and starts the local servers under a running application, for outage tests (through the simulator's test API). */
public final class Servers {

    private Servers() {
    }

    private static void run(String command) {
        given().baseUri(Simulator.url()).post("/_sim/local/" + command).then().statusCode(204);
    }

    public static void stopS3() {
        run("s3-stop");
    }

    public static void startS3() {
        run("s3-start");
    }

    public static void stopRedis() {
        run("redis-stop");
    }

    public static void startRedis() {
        run("redis-start");
    }
}
