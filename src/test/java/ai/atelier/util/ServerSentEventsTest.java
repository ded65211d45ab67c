package ai.atelier.util;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** The SSE reader gets a stream cut anywhere: between events, inside a line, inside a UTF-8 character. */
class ServerSentEventsTest {

    @Test
    void eventsSurviveAnyCutIncludingInsideAMultiByteCharacter() {
        String stream = ": keep-alive\n\ndata: {\"output\":\"café ☕\"}\n\ndata: line one\r\ndata: line two\r\n\r\ndata: cr\rdata: only\r\revent: x\ndata: last\n\n";
        byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
        List<String> whole = text(new ServerSentEvents.Parser().feed(bytes));
        assertThat(whole).containsExactly("{\"output\":\"café ☕\"}", "line one\nline two", "cr\nonly", "last");
        for (int cut = 1; cut < bytes.length; cut++) {
            ServerSentEvents.Parser parser = new ServerSentEvents.Parser();
            List<String> events = new ArrayList<>(text(parser.feed(java.util.Arrays.copyOfRange(bytes, 0, cut))));
            events.addAll(text(parser.feed(io.netty.buffer.Unpooled.wrappedBuffer(bytes, cut, bytes.length - cut))));
            events.addAll(text(parser.end()));
            assertThat(events).as("cut at byte %d", cut).isEqualTo(whole);
        }
    }

    @Test
    void readsAChunkInPlaceFromItsReadableBytesOnly() {
        // a buffer whose array holds more than its readable bytes, on both sides
        byte[] backing = "XXXXdata: {\"a\":1}\n\nYYYY".getBytes(StandardCharsets.UTF_8);
        io.netty.buffer.ByteBuf chunk = io.netty.buffer.Unpooled.wrappedBuffer(backing, 4, backing.length - 8);
        assertThat(text(new ServerSentEvents.Parser().feed(chunk))).containsExactly("{\"a\":1}");
        assertThat(text(new ServerSentEvents.Parser().feed(io.netty.buffer.Unpooled.directBuffer().writeBytes(backing, 4, backing.length - 8))))
                .containsExactly("{\"a\":1}");
    }

    private static List<String> text(List<byte[]> events) {
        return events.stream().map(e -> new String(e, StandardCharsets.UTF_8)).toList();
    }
}
