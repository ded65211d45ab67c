package ai.atelier.ingest;

import java.util.Arrays;
import java.util.Optional;
import java.util.zip.CRC32;

/**
 * What the bytes of an upload are: type and pixel size, once they are known to hold one whole,
 * well-formed PNG, JPEG or WebP. Hand-written because ImageIO cannot read WebP and a full metadata
 * library is a heavy dependency for three fixed layouts. It walks the file's structure once (PNG chunks
 * and their CRCs, JPEG marker segments and scans, WebP's RIFF chunks and bitstream headers) and never
 * decodes pixels, so a hostile file costs one read of its bytes and nothing in proportion to its pixels.
 *
 * <p>Bytes after the image's end (after PNG's IEND chunk, JPEG's end-of-image marker, WebP's RIFF size)
 * are not refused but are no part of the image: {@code length} is where the image ends, and callers
 * store only {@link #strip}'s bytes. So a photo with data appended (a motion photo's video after EOI)
 * stays usable, and a PNG with an HTML page appended is stored as the plain PNG.
 *
 * @param length the image's own length in bytes, at most the length of the bytes checked
 */
public record ImageInfo(String contentType, String extension, int width, int height, int length) {

    /** The verdict on some bytes: the image they hold, or (in words for a client) why they hold none. */
    public record Checked(ImageInfo image, String refusal) {

        public boolean ok() {
            return image != null;
        }
    }

    public long pixels() {
        return (long) width * height;
    }

    /** The image's own bytes: {@code bytes} itself when nothing follows the image, else a copy without what does. */
    public byte[] strip(byte[] bytes) {
        return bytes.length == length ? bytes : Arrays.copyOf(bytes, length);
    }

    /** The image the bytes hold; empty when they are not a whole PNG, JPEG or WebP (see {@link #check} for why). */
    public static Optional<ImageInfo> sniff(byte[] b) {
        return Optional.ofNullable(check(b).image());
    }

    /** Checks that the bytes hold a whole PNG, JPEG or WebP; never throws, whatever the bytes. */
    public static Checked check(byte[] b) {
        if (b == null || b.length == 0) {
            return new Checked(null, "the file is empty");
        }
        try {
            if (b.length >= 8 && Arrays.equals(b, 0, 8, PNG_SIGNATURE, 0, 8)) {
                return new Checked(png(b), null);
            }
            if (b.length >= 3 && u8(b, 0) == 0xFF && u8(b, 1) == 0xD8 && u8(b, 2) == 0xFF) {
                return new Checked(jpeg(b), null);
            }
            if (b.length >= 12 && fourcc(b, 0) == RIFF && fourcc(b, 8) == WEBP) {
                return new Checked(webp(b), null);
            }
            return new Checked(null, "the bytes are not a PNG, JPEG or WebP image");
        } catch (Refused r) {
            return new Checked(null, r.getMessage());
        } catch (RuntimeException bug) {
            // every read is bounds-checked first; this only keeps a missed case from failing the request
            return new Checked(null, UNREADABLE);
        }
    }

    /** The reason given if a check itself fails; tests make sure no input reaches it. */
    static final String UNREADABLE = "the file's structure could not be read";

    /** Stops the walk at the first fault; never leaves this class. */
    private static final class Refused extends RuntimeException {
        Refused(String reason) {
            super(reason, null, false, false);
        }
    }

    private static Refused refuse(String reason) {
        return new Refused(reason);
    }

    // ---- PNG ---------------------------------------------------------------------------------------

    private static final byte[] PNG_SIGNATURE = { (byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n' };
    private static final int IHDR = 0x49484452, PLTE = 0x504C5445, IDAT = 0x49444154, IEND = 0x49454E44;

    private static ImageInfo png(byte[] b) {
        int n = b.length, p = 8, width = 0, height = 0, colourType = 0;
        boolean palette = false, data = false;
        CRC32 crc = new CRC32();
        while (true) {
            if (n - p < 8) {
                throw refuse("the PNG ends before its IEND chunk");
            }
            long len = u32be(b, p);
            int type = int32be(b, p + 4);
            for (int k = 4; k < 8; k++) {
                int c = u8(b, p + k) | 0x20;
                if (c < 'a' || c > 'z') {
                    throw refuse("the PNG has a chunk whose type is not four letters");
                }
            }
            String name = ascii(b, p + 4, 4);
            if (len > Integer.MAX_VALUE) {
                throw refuse("the PNG chunk " + name + " has an impossible length");
            }
            if (len > n - p - 12) {
                throw refuse("the PNG is cut off inside its " + name + " chunk");
            }
            int start = p + 8, end = start + (int) len;
            crc.reset();
            crc.update(b, p + 4, 4 + (int) len);
            if ((int) crc.getValue() != int32be(b, end)) {
                throw refuse("the PNG chunk " + name + " has a bad CRC");
            }
            if (p == 8 && type != IHDR) {
                throw refuse("the PNG does not start with its IHDR chunk");
            }
            switch (type) {
                case IHDR -> {
                    if (p != 8) {
                        throw refuse("the PNG has a second IHDR chunk");
                    }
                    if (len != 13) {
                        throw refuse("the PNG's IHDR chunk is not 13 bytes long");
                    }
                    width = int32be(b, start);
                    height = int32be(b, start + 4);
                    if (width <= 0 || height <= 0) { // a negative int is 2^31 or more
                        throw refuse("the PNG's width or height is 0 or not below 2^31");
                    }
                    int depth = u8(b, start + 8);
                    colourType = u8(b, start + 9);
                    if (!depthFits(depth, colourType)) {
                        throw refuse("the PNG's bit depth " + depth + " and colour type " + colourType + " do not go together");
                    }
                    if (u8(b, start + 10) != 0 || u8(b, start + 11) != 0 || u8(b, start + 12) > 1) {
                        throw refuse("the PNG names an unknown compression, filter or interlace method");
                    }
                }
                case PLTE -> {
                    if (data) {
                        throw refuse("the PNG's palette comes after its image data");
                    }
                    if (len == 0 || len > 768 || len % 3 != 0) {
                        throw refuse("the PNG's palette is not 1 to 256 colours");
                    }
                    palette = true;
                }
                case IDAT -> {
                    if (colourType == 3 && !palette) {
                        throw refuse("the PNG is a palette image without a palette before its image data");
                    }
                    data = true;
                }
                case IEND -> {
                    if (len != 0) {
                        throw refuse("the PNG's IEND chunk is not empty");
                    }
                    if (!data) {
                        throw refuse("the PNG has no image data (IDAT chunk)");
                    }
                    return new ImageInfo("image/png", "png", width, height, end + 4);
                }
                default -> {
                    if ((u8(b, p + 4) & 0x20) == 0) { // upper case first letter: a decoder must not skip it
                        throw refuse("the PNG has an unknown critical chunk " + name);
                    }
                }
            }
            p = end + 4;
        }
    }

    private static boolean depthFits(int depth, int colourType) {
        return switch (colourType) {
            case 0 -> depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
            case 3 -> depth == 1 || depth == 2 || depth == 4 || depth == 8;
            case 2, 4, 6 -> depth == 8 || depth == 16;
            default -> false;
        };
    }

    // ---- JPEG --------------------------------------------------------------------------------------

    private static final String JPEG_CUT = "the JPEG ends before its end-of-image marker";

    private static ImageInfo jpeg(byte[] b) {
        int n = b.length, i = 2, width = 0, height = 0;
        boolean frame = false, scan = false;
        while (true) {
            if (i >= n) {
                throw refuse(JPEG_CUT);
            }
            if (u8(b, i) != 0xFF) {
                throw refuse("the JPEG has stray bytes where a marker should be");
            }
            while (i + 1 < n && u8(b, i + 1) == 0xFF) { // fill bytes before a marker
                i++;
            }
            if (i + 1 >= n) {
                throw refuse(JPEG_CUT);
            }
            int marker = u8(b, i + 1);
            if (marker == 0xD9) {
                if (!frame) {
                    throw refuse("the JPEG has no frame header");
                }
                if (!scan) {
                    throw refuse("the JPEG has no image scan");
                }
                return new ImageInfo("image/jpeg", "jpg", width, height, i + 2);
            }
            if (marker == 0x00 || marker == 0xD8) {
                throw refuse("the JPEG has a marker out of place");
            }
            if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) { // TEM, RSTn: no length
                i += 2;
                continue;
            }
            if (n - i < 4) {
                throw refuse(JPEG_CUT);
            }
            int len = u16be(b, i + 2), s = i + 4, end = i + 2 + len;
            if (len < 2) {
                throw refuse("the JPEG has a marker segment with an impossible length");
            }
            if (len > n - i - 2) {
                throw refuse(JPEG_CUT);
            }
            // SOF0-15 except DHT (C4), JPG (C8) and DAC (CC), which share the range
            if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
                if (frame) {
                    throw refuse("the JPEG has two frame headers");
                }
                if (len < 11 || len != 8 + 3 * u8(b, s + 5)) {
                    throw refuse("the JPEG's frame header is malformed");
                }
                height = u16be(b, s + 1);
                width = u16be(b, s + 3);
                if (width == 0 || height == 0) {
                    throw refuse("the JPEG's width or height is 0");
                }
                frame = true;
            } else if (marker == 0xDA) {
                if (!frame) {
                    throw refuse("the JPEG has an image scan before its frame header");
                }
                int components = len >= 3 ? u8(b, s) : 0;
                if (components < 1 || components > 4 || len != 6 + 2 * components) {
                    throw refuse("the JPEG's scan header is malformed");
                }
                scan = true;
                end = entropyEnd(b, end);
            }
            i = end;
        }
    }

    /** Where the entropy-coded data after a scan header ends: the next marker that is not stuffing or a restart. */
    private static int entropyEnd(byte[] b, int j) {
        int n = b.length;
        while (true) {
            if (j >= n - 1) {
                throw refuse(JPEG_CUT);
            }
            if (b[j] != (byte) 0xFF) {
                j++;
                continue;
            }
            int next = u8(b, j + 1);
            if (next == 0x00 || (next >= 0xD0 && next <= 0xD7)) {
                j += 2;
            } else if (next == 0xFF) {
                j++;
            } else {
                return j;
            }
        }
    }

    // ---- WebP --------------------------------------------------------------------------------------

    private static final int RIFF = fourcc("RIFF"), WEBP = fourcc("WEBP"), VP8 = fourcc("VP8 "), VP8L = fourcc("VP8L"),
            VP8X = fourcc("VP8X"), ANIM = fourcc("ANIM"), ANMF = fourcc("ANMF");

    private record Size(int width, int height) {
    }

    private static ImageInfo webp(byte[] b) {
        long riff = u32le(b, 4);
        if (riff < 12) {
            throw refuse("the WebP's RIFF size is too small to hold an image");
        }
        if (riff > b.length - 8) {
            throw refuse("the WebP is shorter than its RIFF header says");
        }
        int end = 8 + (int) riff, p = 12;
        int next = chunkEnd(b, p, end), first = fourcc(b, p);
        if (first == VP8 || first == VP8L) {
            Size size = bitstream(b, p);
            while (next < end) { // decoders ignore what follows a simple file's image, but it must still fit
                next = chunkEnd(b, next, end);
            }
            return new ImageInfo("image/webp", "webp", size.width, size.height, end);
        }
        if (first != VP8X) {
            throw refuse("the WebP does not start with a VP8, VP8L or VP8X chunk");
        }
        int s = p + 8;
        if (u32le(b, p + 4) != 10) {
            throw refuse("the WebP's VP8X chunk is not 10 bytes long");
        }
        int flags = u8(b, s);
        if ((flags & 0xC1) != 0 || u8(b, s + 1) != 0 || u8(b, s + 2) != 0 || u8(b, s + 3) != 0) {
            throw refuse("the WebP's VP8X chunk has reserved bits set");
        }
        int width = 1 + u24le(b, s + 4), height = 1 + u24le(b, s + 7);
        if ((long) width * height > 0xFFFFFFFFL) {
            throw refuse("the WebP's canvas has 2^32 pixels or more");
        }
        boolean animated = (flags & 0x02) != 0, anim = false, image = false;
        int frames = 0;
        for (p = next; p < end; p = next) {
            next = chunkEnd(b, p, end);
            int type = fourcc(b, p);
            if (type == ANIM) {
                if (u32le(b, p + 4) < 6) {
                    throw refuse("the WebP's ANIM chunk is too short");
                }
                anim = true;
            } else if (type == ANMF) {
                if (!animated) {
                    throw refuse("the WebP has an animation frame but its header does not say it is animated");
                }
                if (!anim) {
                    throw refuse("the WebP has an animation frame before its ANIM chunk");
                }
                frame(b, p, width, height);
                frames++;
            } else if ((type == VP8 || type == VP8L) && !animated && !image) {
                Size size = bitstream(b, p);
                if (size.width != width || size.height != height) {
                    throw refuse("the WebP's image size does not match its canvas size");
                }
                image = true;
            }
            // ALPH, ICCP, EXIF, XMP and unknown chunks: nothing to check beyond their fitting
        }
        if (animated && frames == 0) {
            throw refuse("the animated WebP has no frames");
        }
        if (!animated && !image) {
            throw refuse("the WebP has no image data (VP8 or VP8L chunk)");
        }
        return new ImageInfo("image/webp", "webp", width, height, end);
    }

    /** Checks one ANMF chunk: the frame lies inside the canvas and holds an image of its own size. */
    private static void frame(byte[] b, int p, int canvasWidth, int canvasHeight) {
        long size = u32le(b, p + 4);
        if (size < 16 + 8) {
            throw refuse("a WebP animation frame is too short");
        }
        int s = p + 8, end = s + (int) size;
        int x = 2 * u24le(b, s), y = 2 * u24le(b, s + 3), width = 1 + u24le(b, s + 6), height = 1 + u24le(b, s + 9);
        if (x + width > canvasWidth || y + height > canvasHeight) {
            throw refuse("a WebP animation frame lies outside the canvas");
        }
        boolean image = false;
        for (int q = s + 16, next; q < end; q = next) {
            next = chunkEnd(b, q, end);
            int type = fourcc(b, q);
            if ((type == VP8 || type == VP8L) && !image) {
                Size inner = bitstream(b, q);
                if (inner.width != width || inner.height != height) {
                    throw refuse("a WebP animation frame's image size does not match the frame's");
                }
                image = true;
            }
        }
        if (!image) {
            throw refuse("a WebP animation frame has no image data");
        }
    }

    /** The size in a VP8 or VP8L chunk at p (known to fit), after checking the bitstream's header. */
    private static Size bitstream(byte[] b, int p) {
        int s = p + 8, size = (int) u32le(b, p + 4);
        if (fourcc(b, p) == VP8L) {
            if (size < 5) {
                throw refuse("the WebP's VP8L data is too short");
            }
            if (u8(b, s) != 0x2F) {
                throw refuse("the WebP's VP8L data lacks its signature");
            }
            int bits = int32le(b, s + 1);
            if (bits >>> 29 != 0) {
                throw refuse("the WebP's VP8L data has an unknown version");
            }
            return new Size((bits & 0x3FFF) + 1, ((bits >>> 14) & 0x3FFF) + 1);
        }
        if (size < 10) {
            throw refuse("the WebP's VP8 data is too short");
        }
        int tag = u24le(b, s);
        if ((tag & 1) != 0) {
            throw refuse("the WebP's VP8 data is not a key frame");
        }
        if (((tag >>> 1) & 7) > 3) {
            throw refuse("the WebP's VP8 data has an unknown version");
        }
        if ((tag & 0x10) == 0) {
            throw refuse("the WebP's VP8 frame is marked as not shown");
        }
        int partition = tag >>> 5;
        if (partition == 0 || partition >= size - 10) { // the token data must follow the first partition
            throw refuse("the WebP's VP8 first partition does not fit in its chunk");
        }
        if (u8(b, s + 3) != 0x9D || u8(b, s + 4) != 0x01 || u8(b, s + 5) != 0x2A) {
            throw refuse("the WebP's VP8 data lacks its start code");
        }
        int width = u16le(b, s + 6) & 0x3FFF, height = u16le(b, s + 8) & 0x3FFF; // the top 2 bits are scaling
        if (width == 0 || height == 0) {
            throw refuse("the WebP's width or height is 0");
        }
        return new Size(width, height);
    }

    /**
     * The end of the RIFF chunk at p, past its pad byte to an even length, after checking that it fits
     * before limit. A last chunk may lack its pad byte: the RIFF size then says where the data ends.
     */
    private static int chunkEnd(byte[] b, int p, int limit) {
        if (limit - p < 8) {
            throw refuse("the WebP has stray bytes where a chunk should start");
        }
        long size = u32le(b, p + 4);
        if (size > limit - p - 8) {
            throw refuse("the WebP " + chunkName(b, p) + " is longer than the data that holds it");
        }
        return (int) Math.min(limit, p + 8 + size + (size & 1));
    }

    private static String chunkName(byte[] b, int p) {
        for (int k = 0; k < 4; k++) {
            if (u8(b, p + k) < 0x20 || u8(b, p + k) > 0x7E) {
                return "chunk";
            }
        }
        return "chunk " + ascii(b, p, 4).trim();
    }

    // ---- bytes -------------------------------------------------------------------------------------

    private static int u8(byte[] b, int o) {
        return b[o] & 0xff;
    }

    private static int u16be(byte[] b, int o) {
        return (u8(b, o) << 8) | u8(b, o + 1);
    }

    private static int int32be(byte[] b, int o) {
        return (u8(b, o) << 24) | (u8(b, o + 1) << 16) | (u8(b, o + 2) << 8) | u8(b, o + 3);
    }

    private static long u32be(byte[] b, int o) {
        return int32be(b, o) & 0xffffffffL;
    }

    private static int u16le(byte[] b, int o) {
        return u8(b, o) | (u8(b, o + 1) << 8);
    }

    private static int u24le(byte[] b, int o) {
        return u8(b, o) | (u8(b, o + 1) << 8) | (u8(b, o + 2) << 16);
    }

    private static int int32le(byte[] b, int o) {
        return u24le(b, o) | (u8(b, o + 3) << 24);
    }

    private static long u32le(byte[] b, int o) {
        return int32le(b, o) & 0xffffffffL;
    }

    private static int fourcc(byte[] b, int o) {
        return int32be(b, o);
    }

    private static int fourcc(String s) {
        return (s.charAt(0) << 24) | (s.charAt(1) << 16) | (s.charAt(2) << 8) | s.charAt(3);
    }

    private static String ascii(byte[] b, int o, int n) {
        return new String(b, o, n, java.nio.charset.StandardCharsets.US_ASCII);
    }
}
