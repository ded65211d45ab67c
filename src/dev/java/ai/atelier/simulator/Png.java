package ai.atelier.simulator;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Paints a real, valid PNG of any size whose pixels depend only on the seed: the simulator's stand-in
 * for a generated picture. Plain JDK (no AWT), so it works headless and costs a few milliseconds.
 */
public final class Png {

    private Png() {
    }

    public static byte[] render(int width, int height, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
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
        return encode(width, height, raw);
    }

    private static byte[] encode(int width, int height, byte[] raw) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length / 8 + 1024);
        out.writeBytes(new byte[] { (byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n' });
        ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(width).putInt(height)
                .put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
        chunk(out, "IHDR", ihdr.array());
        Deflater deflater = new Deflater(Deflater.BEST_SPEED);
        deflater.setInput(raw);
        deflater.finish();
        ByteArrayOutputStream idat = new ByteArrayOutputStream(raw.length / 8 + 64);
        byte[] buf = new byte[64 * 1024];
        while (!deflater.finished()) {
            idat.write(buf, 0, deflater.deflate(buf));
        }
        deflater.end();
        chunk(out, "IDAT", idat.toByteArray());
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
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
