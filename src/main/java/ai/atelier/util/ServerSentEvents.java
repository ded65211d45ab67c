package ai.atelier.util;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import io.netty.buffer.ByteBuf;
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

    /**
     * The data of each event of the stream, in order, as UTF-8 bytes: never decoded here, so a reader that wants a few
     * fields (fal's status events, which carry every log line so far) reads them from the bytes once.
     */
    public static Multi<byte[]> events(Multi<Buffer> chunks) {
        return Multi.createFrom().deferred(() -> {
            Parser parser = new Parser();
            return chunks.onItem().transformToIterable(b -> parser.feed(b.getDelegate().getByteBuf()))
                    .onCompletion().switchTo(() -> Multi.createFrom().iterable(parser.end()));
        });
    }

    /** The data of each event of the stream, in order, as text. */
    public static Multi<String> data(Multi<Buffer> chunks) {
        return events(chunks).map(ServerSentEvents::text);
    }

    /** The data of each event of a whole stream's text (the API document's examples, a test's recorded stream). */
    public static List<String> dataOf(String stream) {
        Parser parser = new Parser();
        List<String> events = new ArrayList<>();
        parser.feed(stream.getBytes(StandardCharsets.UTF_8)).forEach(e -> events.add(text(e)));
        parser.end().forEach(e -> events.add(text(e)));
        return events;
    }

    private static String text(byte[] data) {
        return new String(data, StandardCharsets.UTF_8);
    }

    /**
     * One stream's state, all bytes: a line cut between two chunks (only then copied aside) and the data of the event
     * being read. Nothing is decoded, so a character cut between chunks survives, and a whole line in one chunk goes
     * from the chunk straight into its event's data. Both buffers are written a run of bytes at a time, never a byte
     * (ByteArrayOutputStream takes its lock per call), and reused from event to event.
     */
    static final class Parser {
        private static final byte[] DATA = "data:".getBytes(StandardCharsets.US_ASCII);

        private final ByteArrayOutputStream partial = new ByteArrayOutputStream(0);
        private final ByteArrayOutputStream data = new ByteArrayOutputStream(0);
        private boolean hasData;
        private boolean lastWasCr;

        /** The events a chunk completes (none, often): reads the buffer's readable bytes in place when it has an array. */
        List<byte[]> feed(ByteBuf chunk) {
            if (chunk.hasArray()) {
                return feed(chunk.array(), chunk.arrayOffset() + chunk.readerIndex(), chunk.readableBytes());
            }
            byte[] bytes = new byte[chunk.readableBytes()];
            chunk.getBytes(chunk.readerIndex(), bytes);
            return feed(bytes, 0, bytes.length);
        }

        List<byte[]> feed(byte[] bytes) {
            return feed(bytes, 0, bytes.length);
        }

        List<byte[]> feed(byte[] bytes, int offset, int length) {
            List<byte[]> events = List.of();
            int start = offset;
            int end = offset + length;
            for (int i = offset; i < end; i++) {
                byte c = bytes[i];
                if (c == '\n' && lastWasCr) {
                    lastWasCr = false; // the LF of a CRLF: its CR ended the line
                    start = i + 1;
                    continue;
                }
                lastWasCr = c == '\r';
                if (c == '\n' || c == '\r') {
                    byte[] event;
                    if (partial.size() > 0) {
                        partial.write(bytes, start, i - start);
                        event = endLine(partial.toByteArray());
                        partial.reset();
                    } else {
                        event = endLine(bytes, start, i - start);
                    }
                    if (event != null) {
                        if (events.isEmpty()) {
                            events = new ArrayList<>(2);
                        }
                        events.add(event);
                    }
                    start = i + 1;
                }
            }
            partial.write(bytes, start, end - start);
            return events;
        }

        List<byte[]> end() {
            List<byte[]> events = new ArrayList<>(1);
            if (partial.size() > 0) {
                byte[] event = endLine(partial.toByteArray());
                partial.reset();
                if (event != null) {
                    events.add(event);
                }
            }
            byte[] last = endLine(new byte[0]); // the stream ended: so does its last event
            if (last != null) {
                events.add(last);
            }
            return events;
        }

        private byte[] endLine(byte[] line) {
            return endLine(line, 0, line.length);
        }

        /** A whole line: an empty one ends the event (its data, or null when it had none); a data line adds to it. */
        private byte[] endLine(byte[] line, int offset, int length) {
            if (length == 0) {
                if (!hasData) {
                    return null;
                }
                byte[] event = data.toByteArray();
                data.reset();
                hasData = false;
                return event;
            }
            if (java.util.Arrays.equals(line, offset, offset + Math.min(length, DATA.length), DATA, 0, DATA.length)) {
                int from = offset + DATA.length;
                if (from < offset + length && line[from] == ' ') {
                    from++;
                }
                if (hasData) {
                    data.write('\n');
                }
                data.write(line, from, offset + length - from);
                hasData = true;
            }
            return null;
        }
    }
}
