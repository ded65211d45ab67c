package ai.atelier.fal;

import java.util.ArrayList;
import java.util.List;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/** One output file in a fal result: {@code images[]} items (section 9 of fal's API) or a single {@code image}. */
public record FalImage(String url, Integer width, Integer height, String contentType) {

    public static List<FalImage> read(JsonObject result) {
        List<FalImage> out = new ArrayList<>();
        if (result.getValue("images") instanceof JsonArray images) {
            for (Object o : images) {
                if (o instanceof JsonObject i) {
                    out.add(of(i));
                }
            }
        } else if (result.getValue("image") instanceof JsonObject i) {
            out.add(of(i));
        }
        return out;
    }

    private static FalImage of(JsonObject i) {
        return new FalImage(i.getString("url"), i.getInteger("width"), i.getInteger("height"), i.getString("content_type"));
    }
}
