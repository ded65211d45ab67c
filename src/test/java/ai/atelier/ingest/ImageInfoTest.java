package ai.atelier.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

import org.junit.jupiter.api.Test;

import ai.atelier.simulator.Png;

/** Type and size come from the header bytes alone, for each supported format and a few hostile inputs. */
class ImageInfoTest {

    @Test
    void readsPngSize() {
        assertThat(ImageInfo.sniff(Png.render(300, 257, 1))).contains(new ImageInfo("image/png", "png", 300, 257));
    }

    @Test
    void readsJpegSizeFromTheFrameHeaderAfterOtherSegments() {
        ByteBuffer b = ByteBuffer.allocate(64);
        b.put(new byte[] { (byte) 0xFF, (byte) 0xD8 }); // SOI
        b.put(new byte[] { (byte) 0xFF, (byte) 0xE0, 0, 16 }).put(new byte[14]); // APP0 (JFIF), 16 bytes
        b.put(new byte[] { (byte) 0xFF, (byte) 0xC2, 0, 11, 8 }).putShort((short) 480).putShort((short) 640).put(new byte[6]); // SOF2
        assertThat(ImageInfo.sniff(Arrays.copyOf(b.array(), b.position()))).contains(new ImageInfo("image/jpeg", "jpg", 640, 480));
    }

    @Test
    void readsLossyLosslessAndExtendedWebpSizes() {
        assertThat(ImageInfo.sniff(webp("VP8 ", vp8(800, 600)))).contains(new ImageInfo("image/webp", "webp", 800, 600));
        int bits = (1000 - 1) | ((700 - 1) << 14);
        byte[] vp8l = ByteBuffer.allocate(5).order(ByteOrder.LITTLE_ENDIAN).put((byte) 0x2F).putInt(bits).array();
        assertThat(ImageInfo.sniff(webp("VP8L", vp8l))).contains(new ImageInfo("image/webp", "webp", 1000, 700));
        byte[] vp8x = new byte[10];
        vp8x[4] = (byte) ((2048 - 1) & 0xff);
        vp8x[5] = (byte) ((2048 - 1) >> 8);
        vp8x[7] = (byte) ((300 - 1) & 0xff);
        vp8x[8] = (byte) ((300 - 1) >> 8);
        assertThat(ImageInfo.sniff(webp("VP8X", vp8x))).contains(new ImageInfo("image/webp", "webp", 2048, 300));
    }

    @Test
    void refusesTextTruncatedHeadersAndOtherFormats() {
        assertThat(ImageInfo.sniff("not an image at all, but long enough".getBytes())).isEmpty();
        assertThat(ImageInfo.sniff(Arrays.copyOf(Png.render(300, 300, 1), 20))).isEmpty();
        assertThat(ImageInfo.sniff(new byte[] { (byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE0, 0, 2 })).isEmpty();
        assertThat(ImageInfo.sniff("GIF89a\u0001\u0000\u0001\u0000".getBytes())).isEmpty();
        assertThat(ImageInfo.sniff(new byte[0])).isEmpty();
    }

    private static byte[] vp8(int w, int h) {
        byte[] b = new byte[10];
        b[3] = (byte) 0x9d;
        b[4] = 0x01;
        b[5] = 0x2a;
        b[6] = (byte) (w & 0xff);
        b[7] = (byte) (w >> 8);
        b[8] = (byte) (h & 0xff);
        b[9] = (byte) (h >> 8);
        return b;
    }

    private static byte[] webp(String chunk, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(20 + payload.length + 16).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes()).putInt(12 + payload.length).put("WEBP".getBytes()).put(chunk.getBytes()).putInt(payload.length).put(payload);
        return Arrays.copyOf(b.array(), Math.max(30, b.position()));
    }
}
