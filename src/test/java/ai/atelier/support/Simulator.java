package ai.atelier.support;

import static io.restassured.RestAssured.given;

import java.util.List;
import java.util.Map;

import org.eclipse.microprofile.config.ConfigProvider;

import io.restassured.http.ContentType;

/** Drives the fal simulator's test API: reset, latency, faults, and the journal of every request it got. */
public final class Simulator {

    private Simulator() {
    }

    public static String url() {
        return ConfigProvider.getConfig().getValue("atelier-local.simulator-url", String.class);
    }

    public static void reset() {
        given().baseUri(url()).post("/_sim/reset").then().statusCode(204);
    }

    public static void settings(long queueMs, long latencyMs) {
        given().baseUri(url()).contentType(ContentType.JSON).body(Map.of("queue_ms", queueMs, "latency_ms", latencyMs))
                .put("/_sim/settings").then().statusCode(200);
    }

    public static void fault(Map<String, Object> spec) {
        given().baseUri(url()).contentType(ContentType.JSON).body(spec).post("/_sim/faults").then().statusCode(204);
    }

    public static List<Map<String, Object>> requests() {
        return given().baseUri(url()).get("/_sim/requests").then().statusCode(200).extract().jsonPath().getList("requests");
    }

    /** Submits straight to fal's queue, as a run does before it records the id; answers fal's request id. */
    public static String submitted(String endpointId, Map<String, Object> body) {
        return given().baseUri(url()).contentType(ContentType.JSON).body(body).post("/queue/" + endpointId).then().statusCode(200)
                .extract().path("request_id");
    }

    /** Every POST to the queue for this endpoint, oldest first. */
    @SuppressWarnings("unchecked")
    public static List<Map<String, Object>> submissions(String endpointId) {
        return requests().stream().filter(r -> "POST".equals(r.get("method")) && ("/queue/" + endpointId).equals(r.get("path")))
                .map(r -> (Map<String, Object>) r.get("body")).toList();
    }
}
