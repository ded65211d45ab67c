package ai.atelier.support;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Set;

import io.restassured.path.json.JsonPath;

/** Waits on a job through the public API. */
public final class Jobs {

    private static final Set<String> TERMINAL = Set.of("succeeded", "failed", "cancelled");

    private Jobs() {
    }

    public static JsonPath awaitTerminal(String id) {
        return awaitTerminal(id, null);
    }

    /** As {@code key}'s tenant (null: the test profile's anonymous tenant). */
    public static JsonPath awaitTerminal(String id, String key) {
        JsonPath[] last = new JsonPath[1];
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> {
            var request = key == null ? given() : given().header("Authorization", "Bearer " + key);
            last[0] = request.get("/v1/jobs/" + id).then().statusCode(200).extract().jsonPath();
            return TERMINAL.contains(last[0].getString("status"));
        });
        return last[0];
    }
}
