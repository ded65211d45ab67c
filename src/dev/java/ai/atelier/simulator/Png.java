package ai.atelier.simulator;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Paints a real, valid PNG of any size whose bytes depend only on the size and the seed: the
 * simulator's stand-in for a generated picture. Plain JDK (no AWT), so it works headless.
 * <p>
 * Its pixels follow one of {@link #PATTERNS} patterns picked by the seed, and a {@code tEXt} chunk after
 * them carries the seed itself, so every seed gives a different file while the compressed pixels are
 * painted once per size and pattern. fal paints on its own machines; the simulator runs on the same
 * cores as the server under test, and painting and deflating every picture anew (2 ms of CPU for a
 * 256×256 one) was a cost real fal never puts on the caller's machine.
 */
public final class Png {

    /** How many pixel patterns there are; a seed picks one. */
    static final int PATTERNS = 64;
    /** Sizes × patterns kept painted; beyond this the cache starts over (tests ask for many sizes). */
    private static final int CACHED = 256;
    private static final byte[] SIGNATURE = { (byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n' };
    private static final java.util.concurrent.ConcurrentHashMap<Pattern, byte[]> PAINTED = new java.util.concurrent.ConcurrentHashMap<>();

    private record Pattern(int width, int height, int pattern) {
    }

    private Png() {
    }

    public static byte[] render(int width, int height, long seed) {
        Pattern key = new Pattern(width, height, (int) Math.floorMod(seed, (long) PATTERNS));
        byte[] pixels = PAINTED.get(key);
        if (pixels == null) {
            if (PAINTED.size() >= CACHED) {
                PAINTED.clear();
            }
            pixels = PAINTED.computeIfAbsent(key, k -> idat(k.width(), k.height(), k.pattern()));
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(pixels.length + 128);
        out.writeBytes(SIGNATURE);
        ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(width).putInt(height)
                .put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
        chunk(out, "IHDR", ihdr.array());
        out.writeBytes(pixels);
        // after the image data, so the IDAT keeps its place right behind the header
        chunk(out, "tEXt", ("Comment\0seed " + seed).getBytes(StandardCharsets.ISO_8859_1));
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    /** The IDAT chunk (length, type, data, CRC) of one pattern at one size. */
    private static byte[] idat(int width, int height, int pattern) {
        SplittableRandom random = new SplittableRandom(pattern);
        int[] a = { random.nextInt(256), random.nextInt(256), random.nextInt(256) };
        int[] b = { random.nextInt(256), random.nextInt(256), random.nextInt(256) };
        int stripe = 8 + random.nextInt(64);
        byte[] raw = new byte[height * (1 + width * 3)];
        int p = 0;
        for (int y = 0; y < height; y++) {
            raw[p++] = 0; // filter: none
            for (int x = 0; x < width; x++) {
                boolean band = ((x + y) / stripe) % 2 == 0;
                int t = width + height > 2 ? (x + y) * 255 / (width + height - 2) : 0;
                for (int c = 0; c < 3; c++) {
                    int v = (a[c] * (255 - t) + b[c] * t) / 255;
                    raw[p++] = (byte) (band ? v : 255 - v);
                }
            }
        }
        Deflater deflater = new Deflater(Deflater.BEST_SPEED);
        deflater.setInput(raw);
        deflater.finish();
        ByteArrayOutputStream idat = new ByteArrayOutputStream(raw.length / 8 + 64);
        byte[] buf = new byte[64 * 1024];
        while (!deflater.finished()) {
            idat.write(buf, 0, deflater.deflate(buf));
        }
        deflater.end();
        ByteArrayOutputStream chunk = new ByteArrayOutputStream(idat.size() + 12);
        chunk(chunk, "IDAT", idat.toByteArray());
        return chunk.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        out.writeBytes(t);
        out.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }
}
