package ai.atelier.http;

/**
 * What a request body will cost the heap once it is read, worked out from its bytes as they arrive, so that
 * it can be reserved ({@link BodyMemory}) before the bytes are kept, let alone parsed. Figures measured with
 * Jackson 2.21 on Java 17 (see the README's HTTP settings):
 * <ul>
 * <li><b>multipart</b>: {@value #MULTIPART} bytes a byte. A file's bytes are copied out of the decoder as they
 * come and joined into one array at its end (for a moment both), while Netty's decoder keeps what it has
 * read of the raw body, up to 10 MB, before discarding it.</li>
 * <li><b>JSON</b> (and any other body a resource reads whole): {@value #TEXT} bytes a byte. Jackson holds a
 * string as UTF-16 chars while it reads it (2 bytes a character), then builds the {@code String} through a
 * {@code StringBuilder} (1 byte a Latin-1 character each): a 12 MB data URL costs 48 MB at that moment.
 * The body itself is let go as it is read, and what follows (the decoded image, about 3/4 of its data URL)
 * costs less than that peak.</li>
 * <li>A string with a character beyond Latin-1 (a UTF-8 lead byte from 0xC4, or any {@code \}{@code u}
 * escape) is UTF-16 in the builder and the {@code String} too: {@value #WIDE_TEXT} bytes a byte, from its
 * first byte on.</li>
 * <li>Each {@code {}, {@code [}, {@code :} or {@code ,} outside a string: {@value #STRUCTURE} bytes more. A
 * map, a list or an entry with its boxed value costs up to about 50 (measured); a body of {@code [{},{},…]}
 * would otherwise cost 20 times its size.</li>
 * </ul>
 * One instance per request: it remembers where in a string the body is between chunks.
 */
final class BodyCost {

    static final int MULTIPART = 2;
    static final int TEXT = 4;
    static final int WIDE_TEXT = 6;
    static final int STRUCTURE = 96;

    private boolean inString;
    private boolean escaped;
    private boolean wide;
    /** Bytes of the current string so far (to charge them again if it turns out to be UTF-16). */
    private long stringBytes;

    /** The least a JSON body of {@code length} bytes costs (all of it plain Latin-1 text). */
    static long leastJson(long length) {
        return length * TEXT;
    }

    /** What the next chunk of a JSON body costs. */
    long json(io.vertx.core.buffer.Buffer chunk) {
        io.netty.buffer.ByteBuf buf = chunk.getByteBuf();
        return buf.hasArray() ? json(buf.array(), buf.arrayOffset() + buf.readerIndex(), buf.readableBytes()) : json(chunk.getBytes(), 0, chunk.length());
    }

    /** What the next bytes of a JSON body cost. */
    long json(byte[] bytes, int offset, int length) {
        long cost = 0;
        for (int i = offset; i < offset + length; i++) {
            byte b = bytes[i];
            if (inString) {
                stringBytes++;
                if (escaped) {
                    escaped = false;
                    if (b == 'u' && !wide) {
                        cost += widen();
                    }
                } else if (b == '\\') {
                    escaped = true;
                } else if (b == '"') {
                    inString = false;
                    wide = false;
                    stringBytes = 0;
                } else if ((b & 0xFF) >= 0xC4 && !wide) {
                    cost += widen();
                }
                cost += wide ? WIDE_TEXT : TEXT;
                continue;
            }
            cost += TEXT;
            switch (b) {
                case '"' -> inString = true;
                case '{', '[', ':', ',' -> cost += STRUCTURE;
                default -> {
                }
            }
        }
        return cost;
    }

    /** The current string turns out to be UTF-16: what its bytes so far cost on top of what was charged. */
    private long widen() {
        wide = true;
        return (stringBytes - 1) * (WIDE_TEXT - TEXT); // the byte that widens it is charged at the wide rate by the caller
    }
}
