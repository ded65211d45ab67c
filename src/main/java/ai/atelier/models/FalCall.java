package ai.atelier.models;

import java.util.List;
import java.util.function.Function;

import io.vertx.core.json.JsonObject;

/** One call to a fal endpoint: its id and the payload it gets for a list of image URLs. */
public record FalCall(String endpointId, Function<List<String>, JsonObject> payload) {
}
