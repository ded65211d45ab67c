package ai.atelier.ingest;

import java.util.Optional;

/**
 * What the bytes of an upload say it is: type and pixel size, read from the file header alone.
 * Hand-written because ImageIO cannot read WebP and a full metadata library is a heavy dependency
 * for three fixed header layouts; it never decodes pixels, so a hostile file costs nothing.
 */
public record ImageInfo(String contentType, String extension, int width, int height) {

    public long pixels() {
        return (long) width * height;
    }

    /** Reads PNG, JPEG or WebP headers; empty when the bytes are none of them or are truncated. */
    public static Optional<ImageInfo> sniff(byte[] b) {
        try {
            if (b.length >= 24 && (b[0] & 0xff) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G'
                    && b[12] == 'I' && b[13] == 'H' && b[14] == 'D' && b[15] == 'R') {
                return Optional.of(new ImageInfo("image/png", "png", int32(b, 16), int32(b, 20)));
            }
            if (b.length >= 4 && (b[0] & 0xff) == 0xFF && (b[1] & 0xff) == 0xD8 && (b[2] & 0xff) == 0xFF) {
                return jpeg(b);
            }
            if (b.length >= 30 && b[0] == 'R' && b[1] == 'I' && b[2] == 'F' && b[3] == 'F'
                    && b[8] == 'W' && b[9] == 'E' && b[10] == 'B' && b[11] == 'P') {
                return webp(b);
            }
        } catch (ArrayIndexOutOfBoundsException truncated) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    private static Optional<ImageInfo> jpeg(byte[] b) {
        int i = 2;
        while (i + 9 < b.length) {
            if ((b[i] & 0xff) != 0xFF) {
                return Optional.empty();
            }
            int marker = b[i + 1] & 0xff;
            if (marker == 0xFF) {
                i++;
                continue;
            }
            if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
                i += 2;
                continue;
            }
            int len = ((b[i + 2] & 0xff) << 8) | (b[i + 3] & 0xff);
            boolean sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
            if (sof) {
                int h = ((b[i + 5] & 0xff) << 8) | (b[i + 6] & 0xff);
                int w = ((b[i + 7] & 0xff) << 8) | (b[i + 8] & 0xff);
                return Optional.of(new ImageInfo("image/jpeg", "jpg", w, h));
            }
            if (marker == 0xDA || len < 2) {
                return Optional.empty();
            }
            i += 2 + len;
        }
        return Optional.empty();
    }

    private static Optional<ImageInfo> webp(byte[] b) {
        String chunk = new String(b, 12, 4, java.nio.charset.StandardCharsets.US_ASCII);
        switch (chunk) {
            case "VP8 ": {
                int w = ((b[26] & 0xff) | ((b[27] & 0xff) << 8)) & 0x3FFF;
                int h = ((b[28] & 0xff) | ((b[29] & 0xff) << 8)) & 0x3FFF;
                return Optional.of(new ImageInfo("image/webp", "webp", w, h));
            }
            case "VP8L": {
                if ((b[20] & 0xff) != 0x2F) {
                    return Optional.empty();
                }
                int bits = (b[21] & 0xff) | ((b[22] & 0xff) << 8) | ((b[23] & 0xff) << 16) | ((b[24] & 0xff) << 24);
                return Optional.of(new ImageInfo("image/webp", "webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1));
            }
            case "VP8X": {
                int w = 1 + ((b[24] & 0xff) | ((b[25] & 0xff) << 8) | ((b[26] & 0xff) << 16));
                int h = 1 + ((b[27] & 0xff) | ((b[28] & 0xff) << 8) | ((b[29] & 0xff) << 16));
                return Optional.of(new ImageInfo("image/webp", "webp", w, h));
            }
            default:
                return Optional.empty();
        }
    }

    private static int int32(byte[] b, int o) {
        return ((b[o] & 0xff) << 24) | ((b[o + 1] & 0xff) << 16) | ((b[o + 2] & 0xff) << 8) | (b[o + 3] & 0xff);
    }
}
