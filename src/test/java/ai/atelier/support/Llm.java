package ai.atelier.support;

import static io.restassured.RestAssured.given;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.restassured.http.ContentType;

/** Scripts the simulator's LLM answers and reads what its router endpoints were asked. */
public final class Llm {

    public static final String ROUTER = "openrouter/router";
    public static final String VISION = "openrouter/router/vision";

    private Llm() {
    }

    /** The next {@code times} answers of {@code endpoint} are untidy in this way (prose, fenced, missing_keys, empty, no_json, error…). */
    public static void script(String mode, int times, String endpoint) {
        Map<String, Object> body = new LinkedHashMap<>(Map.of("mode", mode, "times", times));
        if (endpoint != null) {
            body.put("endpoint", endpoint);
        }
        given().baseUri(Simulator.url()).contentType(ContentType.JSON).body(body).post("/_sim/llm").then().statusCode(204);
    }

    /** Every queue submission to the router (text) endpoint, oldest first. */
    public static List<Map<String, Object>> routerCalls() {
        return Simulator.submissions(ROUTER);
    }

    public static List<Map<String, Object>> visionCalls() {
        return Simulator.submissions(VISION);
    }
}
