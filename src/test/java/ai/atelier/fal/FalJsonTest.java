package ai.atelier.fal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.vertx.core.json.JsonObject;

/** fal's JSON made printable: what needs it is copied, in order, and what does not is the same object. */
class FalJsonTest {

    @Test
    void replacesControlCharactersAtAnyDepthKeepingOrder() {
        JsonObject read = FalJson.object("{\"a\":1,\"b\":\"ok\",\"c\":{\"x\":[\"fine\",\"bell\\u0007\",{\"k\\u001b\":true}]},\"d\":\"\\u001b[0m\",\"e\":null}");
        assertThat(read.encode()).isEqualTo("{\"a\":1,\"b\":\"ok\",\"c\":{\"x\":[\"fine\",\"bell\uFFFD\",{\"k\uFFFD\":true}]},\"d\":\"\uFFFD[0m\",\"e\":null}");
        assertThat(List.copyOf(read.fieldNames())).containsExactly("a", "b", "c", "d", "e");
    }

    @Test
    void aValueThatNeedsNothingIsNotCopied() {
        Map<String, Object> clean = new LinkedHashMap<>(Map.of("images", List.of(Map.of("url", "https://fal.media/x.png", "width", 256))));
        assertThat(FalJson.printable(clean)).isSameAs(clean);
        List<String> logs = List.of("a", "b\tc");
        assertThat(FalJson.printable(logs)).isSameAs(logs);
    }
}
