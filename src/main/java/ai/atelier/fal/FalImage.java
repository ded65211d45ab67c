package ai.atelier.fal;

import java.util.ArrayList;
import java.util.List;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * One output file in a fal result (fal-api.md §9): an {@code Image}/{@code File} object, with the
 * {@code file_size} fal gave (a video's copy must count exactly that many bytes). Where a result holds
 * them (an {@code images} list, a single {@code image} or {@code video}) is the model's to say.
 */
public record FalImage(String url, Integer width, Integer height, String contentType, Long fileSize) {

    /** The files of a list field ({@code images}); empty when there is none. */
    public static List<FalImage> list(JsonObject result, String field) {
        List<FalImage> out = new ArrayList<>();
        if (result.getValue(field) instanceof JsonArray images) {
            for (Object o : images) {
                if (o instanceof JsonObject i) {
                    out.add(of(i));
                }
            }
        }
        return out;
    }

    /** The file of a single-file field ({@code image}); empty when there is none. */
    public static List<FalImage> single(JsonObject result, String field) {
        return result.getValue(field) instanceof JsonObject i ? List.of(of(i)) : List.of();
    }

    private static FalImage of(JsonObject i) {
        return new FalImage(i.getString("url"), i.getInteger("width"), i.getInteger("height"), i.getString("content_type"),
                i.getValue("file_size") instanceof Number n ? n.longValue() : null);
    }
}
