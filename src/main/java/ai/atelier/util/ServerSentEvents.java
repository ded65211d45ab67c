package ai.atelier.util;

import java.util.ArrayList;
import java.util.List;

import io.smallrye.mutiny.Multi;
import io.vertx.mutiny.core.buffer.Buffer;

/**
 * Reads a {@code text/event-stream} body (WHATWG HTML, "Server-sent events") as it arrives: chunks are
 * cut anywhere, so lines are reassembled; each event's {@code data:} lines are joined with newlines.
 * Comments (keep-alives) and other fields are skipped.
 */
public final class ServerSentEvents {

    private ServerSentEvents() {
    }

    /** The data of each event of the stream, in order. */
    public static Multi<String> data(Multi<Buffer> chunks) {
        return Multi.createFrom().deferred(() -> {
            Parser parser = new Parser();
            return chunks.onItem().transformToIterable(b -> parser.feed(b.getBytes()))
                    .onCompletion().switchTo(() -> Multi.createFrom().iterable(parser.end()));
        });
    }

    /** The data of each event of a whole stream's text (the API document's examples, a test's recorded stream). */
    public static List<String> dataOf(String stream) {
        Parser parser = new Parser();
        List<String> events = new ArrayList<>(parser.feed(stream.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        events.addAll(parser.end());
        return events;
    }

    /**
     * One stream's state: the bytes of the line being read (decoded as UTF-8 only once the line is whole,
     * so a character cut between two chunks survives) and the data lines of the event being read.
     */
    static final class Parser {
        private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();
        private final List<String> data = new ArrayList<>();
        private boolean lastWasCr;

        List<String> feed(byte[] bytes) {
            List<String> events = new ArrayList<>();
            // a line's bytes are copied a run at a time: ByteArrayOutputStream.write(int) takes a lock per byte, which
            // made this loop a few percent of the server's CPU with every job's status streaming at once
            int start = 0;
            for (int i = 0; i < bytes.length; i++) {
                byte c = bytes[i];
                if (c == '\n' && lastWasCr) {
                    lastWasCr = false; // the LF of a CRLF: its CR ended the line
                    start = i + 1;
                    continue;
                }
                lastWasCr = c == '\r';
                if (c == '\n' || c == '\r') {
                    line.write(bytes, start, i - start);
                    endLine(events);
                    start = i + 1;
                }
            }
            line.write(bytes, start, bytes.length - start);
            return events;
        }

        List<String> end() {
            List<String> events = new ArrayList<>();
            if (line.size() > 0) {
                endLine(events);
            }
            endLine(events);
            return events;
        }

        private void endLine(List<String> events) {
            String l = line.toString(java.nio.charset.StandardCharsets.UTF_8);
            line.reset();
            if (l.isEmpty()) {
                if (!data.isEmpty()) {
                    events.add(String.join("\n", data));
                    data.clear();
                }
            } else if (l.startsWith("data:")) {
                data.add(l.startsWith("data: ") ? l.substring(6) : l.substring(5));
            }
        }
    }
}
