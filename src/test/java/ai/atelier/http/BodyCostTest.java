package ai.atelier.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/** What BodyCost charges a JSON body, byte by byte and across chunks. */
class BodyCostTest {

    private static long cost(String... chunks) {
        BodyCost cost = new BodyCost();
        long total = 0;
        for (String chunk : chunks) {
            byte[] b = chunk.getBytes(StandardCharsets.UTF_8);
            total += cost.json(b, 0, b.length);
        }
        return total;
    }

    @Test
    void plainTextCostsFourBytesAByteAndStructureMore() {
        assertThat(cost("\"abcd\"")).isEqualTo(6 * 4);
        // { : , } outside strings: { : , are charged, the closing brace is not
        assertThat(cost("{\"a\":1,\"b\":2}")).isEqualTo(13 * 4 + 4 * BodyCost.STRUCTURE);
        // inside a string they are text
        assertThat(cost("\"{[:,]}\"")).isEqualTo(8 * 4);
    }

    @Test
    void latinOneStaysNarrowAndAnythingBeyondWidensTheWholeString() {
        // é is Latin-1 (UTF-8 C3 A9): the String stays one byte a character
        assertThat(cost("\"é\"")).isEqualTo(4 * 4);
        // ł is not (C5 82): every byte of the string, before and after, is charged as UTF-16
        // (the quotes 4 each; a, b, the two bytes of ł, c, d at 6), the wide byte in a chunk of its own
        assertThat(cost("\"ab", "ł", "cd\"")).isEqualTo(4 + 6 * 6 + 4);
        // the next string starts narrow again
        assertThat(cost("[\"ł\",\"ab\"]")).isEqualTo(cost("[\"ł\",") + 5 * 4);
    }

    @Test
    void anEscapedCodePointWidensAndAnEscapedQuoteDoesNotEndTheString() {
        // the quotes 4 each; a, the backslash, u and the four hex digits at 6
        assertThat(cost("\"a\\u0142\"")).isEqualTo(4 + 7 * 6 + 4);
        assertThat(cost("\"a\\\"{\"")).isEqualTo(6 * 4);
    }
}
