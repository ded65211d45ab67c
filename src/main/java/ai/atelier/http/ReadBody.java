package ai.atelier.http;

import java.io.InputStream;
import java.util.ArrayDeque;

import io.vertx.core.buffer.Buffer;

/**
 * A request body as {@link BodyReader} read it: the chunks as they arrived, read once as a stream that lets
 * go of each chunk as soon as it has been read, so a body being parsed is not held twice (its bytes and
 * what Jackson makes of them).
 */
final class ReadBody extends InputStream {

    private final ArrayDeque<Buffer> chunks = new ArrayDeque<>();
    private Buffer current;
    private int position;
    /** Bytes not read yet. */
    private long left;

    void add(Buffer chunk) {
        chunks.add(chunk);
        left += chunk.length();
    }

    void clear() {
        chunks.clear();
        current = null;
        left = 0;
    }

    private boolean advance() {
        while (current == null || position == current.length()) {
            current = chunks.poll();
            position = 0;
            if (current == null) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int read() {
        if (!advance()) {
            return -1;
        }
        left--;
        return current.getByte(position++) & 0xFF;
    }

    @Override
    public int read(byte[] into, int offset, int length) {
        if (length == 0) {
            return 0;
        }
        if (!advance()) {
            return -1;
        }
        int n = Math.min(length, current.length() - position);
        current.getBytes(position, position + n, into, offset);
        position += n;
        left -= n;
        return n;
    }

    @Override
    public int available() {
        return (int) Math.min(Integer.MAX_VALUE, left);
    }
}
