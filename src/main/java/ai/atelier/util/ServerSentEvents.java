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
            return chunks.onItem().transformToIterable(b -> parser.feed(b.toString()))
                    .onCompletion().switchTo(() -> Multi.createFrom().iterable(parser.end()));
        });
    }

    /** One stream's state: the partial line and the data lines of the event being read. */
    static final class Parser {
        private final StringBuilder line = new StringBuilder();
        private final List<String> data = new ArrayList<>();
        private boolean lastWasCr;

        List<String> feed(String text) {
            List<String> events = new ArrayList<>();
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                if (c == '\n' && lastWasCr) {
                    lastWasCr = false;
                    continue;
                }
                lastWasCr = c == '\r';
                if (c == '\n' || c == '\r') {
                    endLine(events);
                } else {
                    line.append(c);
                }
            }
            return events;
        }

        List<String> end() {
            List<String> events = new ArrayList<>();
            if (!line.isEmpty()) {
                endLine(events);
            }
            endLine(events);
            return events;
        }

        private void endLine(List<String> events) {
            String l = line.toString();
            line.setLength(0);
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
