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
        List<String> whole = new ServerSentEvents.Parser().feed(bytes);
        assertThat(whole).containsExactly("{\"output\":\"café ☕\"}", "line one\nline two", "cr\nonly", "last");
        for (int cut = 1; cut < bytes.length; cut++) {
            ServerSentEvents.Parser parser = new ServerSentEvents.Parser();
            List<String> events = new ArrayList<>(parser.feed(java.util.Arrays.copyOfRange(bytes, 0, cut)));
            events.addAll(parser.feed(java.util.Arrays.copyOfRange(bytes, cut, bytes.length)));
            events.addAll(parser.end());
            assertThat(events).as("cut at byte %d", cut).isEqualTo(whole);
        }
    }
}
