package ai.atelier.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeout;

import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.CRC32;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;

import org.junit.jupiter.api.Test;

import ai.atelier.simulator.Png;

/**
 * Only whole, well-formed PNG, JPEG and WebP files pass, with their type, size and own length; what
 * follows an image's end is left out of its length; hostile bytes get a reason, never an exception.
 */
class ImageInfoTest {

    // Made by libwebp 1.5 (WebPEncodeRGB, WebPEncodeLosslessRGB, WebPEncodeRGBA at quality 75), 8×6 pixels.
    static final byte[] LOSSY = base64("UklGRlwAAABXRUJQVlA4IFAAAADwAQCdASoIAAYAAgA0JbACdLoAArl9DNgA/voMncFwmzWvTlS4fPqT0bhsZd7Peo/y3jZ1fExNTiLZvFXj/c312f/3ko29GT6Q4ep/ZUQAAA==");
    static final byte[] LOSSLESS = base64("UklGRj4AAABXRUJQVlA4TDIAAAAvB0ABAJkyRPQ/NhHR/4BBtpGKc/6Md/8K46GobRs4GAI9Nk5js5gAkB6g/mIHXziEAA==");
    static final byte[] LOSSY_ALPHA = base64("UklGRooAAABXRUJQVlA4WAoAAAAQAAAABwAABQAAQUxQSBMAAAABD/DA/4iIIBBIZJJZb/qI/kfOAFZQOCBQAAAAEAIAnQEqCAAGAAIANCWwAnS6AAK5fQ1mAAD++gydwXCbNa9OVLh8+pPRuGxl3s96/u5SRTXxTuLgKGoYC8+pvrs//vJRt7irt5Ucy+ezAAA=");

    // ---- PNG ---------------------------------------------------------------------------------------

    @Test
    void acceptsPngsOfEveryColourTypeMadeByImageIO() throws IOException {
        record Case(BufferedImage image, int colourType, int depth) {
        }
        List<Case> cases = List.of(
                new Case(painted(new BufferedImage(40, 30, BufferedImage.TYPE_BYTE_GRAY)), 0, 8),
                new Case(painted(new BufferedImage(40, 30, BufferedImage.TYPE_USHORT_GRAY)), 0, 16),
                new Case(painted(new BufferedImage(40, 30, BufferedImage.TYPE_BYTE_BINARY)), 0, 1),
                new Case(painted(greyAlpha(40, 30)), 4, 8),
                new Case(painted(new BufferedImage(40, 30, BufferedImage.TYPE_INT_RGB)), 2, 8),
                new Case(painted(new BufferedImage(40, 30, BufferedImage.TYPE_INT_ARGB)), 6, 8),
                new Case(painted(new BufferedImage(40, 30, BufferedImage.TYPE_BYTE_INDEXED)), 3, 8),
                new Case(painted(fourColours(40, 30)), 3, 2));
        for (Case c : cases) {
            byte[] png = write(c.image, "png", false);
            assertThat(new int[] { png[25], png[24] }).as("colour type and depth").containsExactly(c.colourType, c.depth);
            assertThat(ImageInfo.check(png)).isEqualTo(new ImageInfo.Checked(new ImageInfo("image/png", "png", 40, 30, png.length), null));
        }
        byte[] interlaced = write(painted(new BufferedImage(33, 17, BufferedImage.TYPE_INT_RGB)), "png", true);
        assertThat(interlaced[28]).as("Adam7").isEqualTo((byte) 1);
        assertThat(ImageInfo.sniff(interlaced)).contains(new ImageInfo("image/png", "png", 33, 17, interlaced.length));
    }

    @Test
    void acceptsTheSimulatorsPngs() {
        byte[] png = Png.render(300, 257, 1);
        assertThat(ImageInfo.sniff(png)).contains(new ImageInfo("image/png", "png", 300, 257, png.length));
        assertThat(ImageInfo.sniff(Png.render(1, 1, 7))).map(ImageInfo::pixels).contains(1L);
    }

    @Test
    void skipsAncillaryChunksButRefusesUnknownCriticalOnes() {
        byte[] png = Png.render(20, 10, 3);
        byte[] text = insertAfterIhdr(png, pngChunk("tEXt", "Comment\0made here".getBytes(StandardCharsets.ISO_8859_1)));
        assertThat(ImageInfo.sniff(text)).contains(new ImageInfo("image/png", "png", 20, 10, text.length));
        assertThat(refusal(insertAfterIhdr(png, pngChunk("CgBI", new byte[4])))).isEqualTo("the PNG has an unknown critical chunk CgBI");
    }

    @Test
    void refusesHeaderOnlyAndTruncatedPngs() {
        byte[] png = Png.render(64, 48, 5);
        assertThat(refusal(Arrays.copyOf(png, 33))).isEqualTo("the PNG ends before its IEND chunk"); // signature and IHDR
        assertThat(refusal(Arrays.copyOf(png, 24))).isEqualTo("the PNG is cut off inside its IHDR chunk");
        assertThat(refusal(Arrays.copyOf(png, png.length / 2))).isEqualTo("the PNG is cut off inside its IDAT chunk");
        assertThat(refusal(Arrays.copyOf(png, png.length - 12))).isEqualTo("the PNG ends before its IEND chunk");
        assertThat(refusal(Arrays.copyOf(png, 8))).isEqualTo("the PNG ends before its IEND chunk");
        for (int n = 0; n < png.length; n++) {
            assertThat(ImageInfo.sniff(Arrays.copyOf(png, n))).as("first %d bytes", n).isEmpty();
        }
    }

    @Test
    void refusesPngsWithABadCrc() {
        byte[] png = Png.render(64, 48, 5);
        byte[] data = png.clone();
        data[33 + 8 + 5] ^= 0x01; // a byte inside IDAT's data
        assertThat(refusal(data)).isEqualTo("the PNG chunk IDAT has a bad CRC");
        byte[] crc = png.clone();
        crc[png.length - 1] ^= (byte) 0x80; // IEND's CRC
        assertThat(refusal(crc)).isEqualTo("the PNG chunk IEND has a bad CRC");
        byte[] ihdr = png.clone();
        ihdr[17] ^= 0x01; // the width, under IHDR's CRC
        assertThat(refusal(ihdr)).isEqualTo("the PNG chunk IHDR has a bad CRC");
    }

    @Test
    void refusesPngsWhoseChunksBreakTheRules() {
        byte[] idat = pngChunk("IDAT", new byte[] { 0x78, 0x01, 0, 0, 0, 0, 1 });
        byte[] iend = pngChunk("IEND", new byte[0]);
        assertThat(ImageInfo.sniff(png(ihdr(2, 2, 8, 2), idat, iend))).contains(new ImageInfo("image/png", "png", 2, 2, 8 + 25 + 19 + 12));
        assertThat(refusal(png(ihdr(0, 2, 8, 2), idat, iend))).isEqualTo("the PNG's width or height is 0 or not below 2^31");
        assertThat(refusal(png(ihdr(2, 0x80000000, 8, 2), idat, iend))).isEqualTo("the PNG's width or height is 0 or not below 2^31");
        assertThat(refusal(png(ihdr(2, 2, 4, 2), idat, iend))).isEqualTo("the PNG's bit depth 4 and colour type 2 do not go together");
        assertThat(refusal(png(ihdr(2, 2, 16, 3), idat, iend))).isEqualTo("the PNG's bit depth 16 and colour type 3 do not go together");
        assertThat(refusal(png(ihdr(2, 2, 8, 5), idat, iend))).isEqualTo("the PNG's bit depth 8 and colour type 5 do not go together");
        assertThat(refusal(png(pngChunk("IHDR", new byte[12]), idat, iend))).isEqualTo("the PNG's IHDR chunk is not 13 bytes long");
        assertThat(refusal(png(idat, ihdr(2, 2, 8, 2), iend))).isEqualTo("the PNG does not start with its IHDR chunk");
        assertThat(refusal(png(ihdr(2, 2, 8, 2), ihdr(2, 2, 8, 2), idat, iend))).isEqualTo("the PNG has a second IHDR chunk");
        assertThat(refusal(png(ihdr(2, 2, 8, 2), iend))).isEqualTo("the PNG has no image data (IDAT chunk)");
        assertThat(refusal(png(ihdr(2, 2, 8, 2), idat, pngChunk("IEND", new byte[1])))).isEqualTo("the PNG's IEND chunk is not empty");
        assertThat(refusal(png(ihdr(2, 2, 8, 3), idat, iend))).isEqualTo("the PNG is a palette image without a palette before its image data");
        byte[] plte = pngChunk("PLTE", new byte[6]);
        assertThat(ImageInfo.sniff(png(ihdr(2, 2, 8, 3), plte, idat, iend))).isPresent();
        assertThat(refusal(png(ihdr(2, 2, 8, 3), pngChunk("PLTE", new byte[7]), idat, iend))).isEqualTo("the PNG's palette is not 1 to 256 colours");
        assertThat(refusal(png(ihdr(2, 2, 8, 2), pngChunk("ID4T", new byte[0]), idat, iend))).isEqualTo("the PNG has a chunk whose type is not four letters");
    }

    @Test
    void refusesPngChunkLengthsThatDoNotFit() {
        byte[] png = Png.render(16, 16, 2);
        for (int len : new int[] { -1, Integer.MIN_VALUE, Integer.MAX_VALUE, png.length }) {
            byte[] b = png.clone();
            ByteBuffer.wrap(b).putInt(33, len); // the IDAT's length
            assertThat(ImageInfo.sniff(b)).as("length %d", len).isEmpty();
        }
        byte[] b = png.clone();
        ByteBuffer.wrap(b).putInt(33, -1);
        assertThat(refusal(b)).isEqualTo("the PNG chunk IDAT has an impossible length");
    }

    @Test
    void stripsWhatFollowsAPngsEnd() {
        byte[] png = Png.render(64, 48, 5);
        byte[] polyglot = concat(png, "<html><body><script>alert(document.cookie)</script></body></html>".getBytes(StandardCharsets.US_ASCII));
        ImageInfo info = ImageInfo.sniff(polyglot).orElseThrow();
        assertThat(info).isEqualTo(new ImageInfo("image/png", "png", 64, 48, png.length));
        assertThat(info.strip(polyglot)).isEqualTo(png);
        assertThat(ImageInfo.sniff(info.strip(polyglot))).contains(info);
        assertThat(info.strip(png)).isSameAs(png);
    }

    // ---- JPEG --------------------------------------------------------------------------------------

    @Test
    void acceptsBaselineAndProgressiveJpegsMadeByImageIO() throws IOException {
        byte[] rgb = write(painted(new BufferedImage(64, 48, BufferedImage.TYPE_INT_RGB)), "jpeg", false);
        byte[] grey = write(painted(new BufferedImage(31, 77, BufferedImage.TYPE_BYTE_GRAY)), "jpeg", false);
        byte[] progressive = write(painted(new BufferedImage(120, 90, BufferedImage.TYPE_INT_RGB)), "jpeg", true);
        assertThat(ImageInfo.sniff(rgb)).contains(new ImageInfo("image/jpeg", "jpg", 64, 48, rgb.length));
        assertThat(ImageInfo.sniff(grey)).contains(new ImageInfo("image/jpeg", "jpg", 31, 77, grey.length));
        assertThat(count(progressive, 0xC2)).as("SOF2").isEqualTo(1);
        assertThat(count(progressive, 0xDA)).as("scans").isGreaterThan(1);
        assertThat(ImageInfo.sniff(progressive)).contains(new ImageInfo("image/jpeg", "jpg", 120, 90, progressive.length));
    }

    @Test
    void skipsStuffingRestartsAndFillBytesInsideScans() {
        byte[] jpeg = concat(bytes(0xFF, 0xD8), segment(0xE0, new byte[14]), segment(0xDD, new byte[] { 0, 1 }), // APP0, DRI
                sof(0xC2, 640, 480), sos(),
                bytes(0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xFF, 0xD1, 0x78), // stuffed FF, RST0, fill + RST1
                sos(), bytes(0x9A, 0xFF, 0x00), bytes(0xFF, 0xFF, 0xFF, 0xD9)); // a second scan, fill bytes, EOI
        assertThat(ImageInfo.sniff(jpeg)).contains(new ImageInfo("image/jpeg", "jpg", 640, 480, jpeg.length));
    }

    @Test
    void skipsAnEmbeddedThumbnailsEndMarker() throws IOException {
        byte[] thumbnail = write(painted(new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB)), "jpeg", false);
        byte[] photo = write(painted(new BufferedImage(64, 48, BufferedImage.TYPE_INT_RGB)), "jpeg", false);
        byte[] exif = concat(Arrays.copyOf(photo, 2), segment(0xE1, concat("Exif\0\0".getBytes(StandardCharsets.US_ASCII), thumbnail)),
                Arrays.copyOfRange(photo, 2, photo.length));
        assertThat(ImageInfo.sniff(exif)).contains(new ImageInfo("image/jpeg", "jpg", 64, 48, exif.length));
    }

    @Test
    void refusesHeaderOnlyAndTruncatedJpegs() throws IOException {
        byte[] header = concat(bytes(0xFF, 0xD8), segment(0xE0, new byte[14]), sof(0xC0, 640, 480, 3)); // 39 bytes
        assertThat(header).hasSize(39);
        assertThat(refusal(header)).isEqualTo("the JPEG ends before its end-of-image marker");
        assertThat(refusal(concat(header, sos(), new byte[100]))).isEqualTo("the JPEG ends before its end-of-image marker");
        byte[] jpeg = write(painted(new BufferedImage(64, 48, BufferedImage.TYPE_INT_RGB)), "jpeg", false);
        assertThat(refusal(Arrays.copyOf(jpeg, jpeg.length - 2))).isEqualTo("the JPEG ends before its end-of-image marker");
        assertThat(refusal(Arrays.copyOf(jpeg, jpeg.length - 1))).isEqualTo("the JPEG ends before its end-of-image marker");
        for (int n = 0; n < jpeg.length; n++) {
            assertThat(ImageInfo.sniff(Arrays.copyOf(jpeg, n))).as("first %d bytes", n).isEmpty();
        }
    }

    @Test
    void refusesJpegsWhoseMarkersBreakTheRules() {
        byte[] soi = bytes(0xFF, 0xD8), eoi = bytes(0xFF, 0xD9), scan = concat(sos(), bytes(1, 2, 3));
        assertThat(refusal(concat(soi, eoi))).isEqualTo("the JPEG has no frame header");
        assertThat(refusal(concat(soi, sof(0xC0, 8, 8), eoi))).isEqualTo("the JPEG has no image scan");
        assertThat(refusal(concat(soi, scan, sof(0xC0, 8, 8), eoi))).isEqualTo("the JPEG has an image scan before its frame header");
        assertThat(refusal(concat(soi, sof(0xC0, 0, 8), scan, eoi))).isEqualTo("the JPEG's width or height is 0");
        assertThat(refusal(concat(soi, sof(0xC0, 8, 0), scan, eoi))).isEqualTo("the JPEG's width or height is 0");
        assertThat(refusal(concat(soi, sof(0xC0, 8, 8), sof(0xC2, 8, 8), scan, eoi))).isEqualTo("the JPEG has two frame headers");
        assertThat(refusal(concat(soi, segment(0xC0, new byte[6]), scan, eoi))).isEqualTo("the JPEG's frame header is malformed");
        assertThat(refusal(concat(soi, sof(0xC0, 8, 8), segment(0xDA, new byte[] { 0 }), eoi))).isEqualTo("the JPEG's scan header is malformed");
        assertThat(refusal(concat(soi, bytes(0xFF, 0xE0, 0, 1), sof(0xC0, 8, 8), scan, eoi)))
                .isEqualTo("the JPEG has a marker segment with an impossible length");
        assertThat(refusal(concat(soi, bytes(0xFF, 0xE0, 0xFF, 0xFF), sof(0xC0, 8, 8), scan, eoi)))
                .isEqualTo("the JPEG ends before its end-of-image marker");
        assertThat(refusal(concat(soi, bytes(0xFF, 0x00), sof(0xC0, 8, 8), scan, eoi))).isEqualTo("the JPEG has a marker out of place");
        assertThat(refusal(concat(soi, sof(0xC0, 8, 8), bytes(0x42), scan, eoi))).isEqualTo("the JPEG has stray bytes where a marker should be");
        // DHT, JPG and DAC sit among the SOF codes but say nothing of the size
        assertThat(refusal(concat(soi, segment(0xC4, new byte[20]), segment(0xCC, new byte[2]), scan, eoi)))
                .isEqualTo("the JPEG has an image scan before its frame header");
    }

    @Test
    void stripsWhatFollowsAJpegsEnd() throws IOException {
        byte[] jpeg = write(painted(new BufferedImage(64, 48, BufferedImage.TYPE_INT_RGB)), "jpeg", false);
        byte[] video = new byte[5000]; // as a motion photo carries its clip after EOI
        new SplittableRandom(1).nextBytes(video);
        for (byte[] tail : List.of(video, "<html>hi</html>".getBytes(StandardCharsets.US_ASCII))) {
            byte[] b = concat(jpeg, tail);
            ImageInfo info = ImageInfo.sniff(b).orElseThrow();
            assertThat(info).isEqualTo(new ImageInfo("image/jpeg", "jpg", 64, 48, jpeg.length));
            assertThat(info.strip(b)).isEqualTo(jpeg);
        }
    }

    // ---- WebP --------------------------------------------------------------------------------------

    @Test
    void acceptsLossyLosslessAndAlphaWebpsMadeByLibwebp() {
        assertThat(ImageInfo.sniff(LOSSY)).contains(new ImageInfo("image/webp", "webp", 8, 6, LOSSY.length));
        assertThat(ImageInfo.sniff(LOSSLESS)).contains(new ImageInfo("image/webp", "webp", 8, 6, LOSSLESS.length));
        assertThat(ImageInfo.sniff(LOSSY_ALPHA)).contains(new ImageInfo("image/webp", "webp", 8, 6, LOSSY_ALPHA.length));
    }

    @Test
    void readsWebpSizesFromEachBitstreamHeader() {
        byte[] lossy = riff(webpChunk("VP8 ", vp8(800 | 0x4000, 600))); // the top two bits are a scaling hint, not size
        assertThat(ImageInfo.sniff(lossy)).contains(new ImageInfo("image/webp", "webp", 800, 600, lossy.length));
        byte[] lossless = riff(webpChunk("VP8L", vp8l(1000, 700)));
        assertThat(ImageInfo.sniff(lossless)).contains(new ImageInfo("image/webp", "webp", 1000, 700, lossless.length));
        byte[] extended = riff(webpChunk("VP8X", vp8x(0x20, 2048, 300)), webpChunk("ICCP", new byte[3]), webpChunk("VP8 ", vp8(2048, 300)),
                webpChunk("EXIF", new byte[5]), webpChunk("XMP ", new byte[8]));
        assertThat(ImageInfo.sniff(extended)).contains(new ImageInfo("image/webp", "webp", 2048, 300, extended.length));
    }

    @Test
    void acceptsExtendedAndAnimatedWebps() {
        byte[] vp8l = payload(LOSSLESS), vp8 = payload(LOSSY);
        byte[] extended = riff(webpChunk("VP8X", vp8x(0x10, 8, 6)), webpChunk("VP8L", vp8l), webpChunk("XTRA", new byte[] { 1 }));
        assertThat(ImageInfo.sniff(extended)).contains(new ImageInfo("image/webp", "webp", 8, 6, extended.length));
        byte[] animated = riff(webpChunk("VP8X", vp8x(0x12, 16, 6)), webpChunk("ANIM", new byte[6]),
                webpChunk("ANMF", concat(anmf(0, 0, 8, 6), webpChunk("VP8L", vp8l))),
                webpChunk("ANMF", concat(anmf(8, 0, 8, 6), webpChunk("ALPH", new byte[3]), webpChunk("VP8 ", vp8))));
        assertThat(ImageInfo.sniff(animated)).contains(new ImageInfo("image/webp", "webp", 16, 6, animated.length));
    }

    @Test
    void acceptsALastOddChunkWithoutItsPadByteOnlyWhenTheRiffSizeSaysSo() {
        byte[] b = concat(LOSSLESS, bytes('X', 'T', 'R', 'A', 3, 0, 0, 0, 1, 2, 3));
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(4, b.length - 8);
        assertThat(ImageInfo.sniff(b)).contains(new ImageInfo("image/webp", "webp", 8, 6, b.length));
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(4, b.length - 8 - 1);
        assertThat(refusal(b)).isEqualTo("the WebP chunk XTRA is longer than the data that holds it");
    }

    @Test
    void refusesAWebpWhoseRiffSizeIsLargerThanTheFile() {
        byte[] b = LOSSY.clone();
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(4, LOSSY.length - 8 + 100);
        assertThat(refusal(b)).isEqualTo("the WebP is shorter than its RIFF header says");
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(4, -1);
        assertThat(refusal(b)).isEqualTo("the WebP is shorter than its RIFF header says");
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 4);
        assertThat(refusal(b)).isEqualTo("the WebP's RIFF size is too small to hold an image");
        for (int n = 0; n < LOSSY_ALPHA.length; n++) {
            assertThat(ImageInfo.sniff(Arrays.copyOf(LOSSY_ALPHA, n))).as("first %d bytes", n).isEmpty();
        }
    }

    @Test
    void refusesAVp8ChunkFullOfRandomBytes() {
        SplittableRandom random = new SplittableRandom(42);
        for (int i = 0; i < 2000; i++) {
            byte[] noise = new byte[10 + random.nextInt(200)];
            random.nextBytes(noise);
            assertThat(ImageInfo.sniff(riff(webpChunk("VP8 ", noise)))).as("noise %d", i).isEmpty();
        }
        assertThat(refusal(riff(webpChunk("VP8 ", "this is not a VP8 key frame".getBytes(StandardCharsets.US_ASCII)))))
                .startsWith("the WebP's VP8 ");
    }

    @Test
    void refusesVp8AndVp8lHeadersThatBreakTheRules() {
        byte[] good = vp8(8, 6);
        assertThat(refusal(riff(webpChunk("VP8 ", with(good, 0, good[0] | 1))))).isEqualTo("the WebP's VP8 data is not a key frame");
        assertThat(refusal(riff(webpChunk("VP8 ", with(good, 0, good[0] | 0x08))))).isEqualTo("the WebP's VP8 data has an unknown version");
        assertThat(refusal(riff(webpChunk("VP8 ", with(good, 0, good[0] & ~0x10))))).isEqualTo("the WebP's VP8 frame is marked as not shown");
        assertThat(refusal(riff(webpChunk("VP8 ", with(good, 2, 0x7F))))).isEqualTo("the WebP's VP8 first partition does not fit in its chunk");
        assertThat(refusal(riff(webpChunk("VP8 ", with(good, 3, 0x9C))))).isEqualTo("the WebP's VP8 data lacks its start code");
        assertThat(refusal(riff(webpChunk("VP8 ", vp8(0, 6))))).isEqualTo("the WebP's width or height is 0");
        assertThat(refusal(riff(webpChunk("VP8 ", new byte[9])))).isEqualTo("the WebP's VP8 data is too short");
        byte[] lossless = payload(LOSSLESS);
        assertThat(refusal(riff(webpChunk("VP8L", with(lossless, 0, 0x2E))))).isEqualTo("the WebP's VP8L data lacks its signature");
        assertThat(refusal(riff(webpChunk("VP8L", with(lossless, 4, lossless[4] | 0x20))))).isEqualTo("the WebP's VP8L data has an unknown version");
        assertThat(refusal(riff(webpChunk("VP8L", new byte[] { 0x2F, 0, 0 })))).isEqualTo("the WebP's VP8L data is too short");
    }

    @Test
    void refusesWebpChunksThatBreakTheRules() {
        byte[] image = webpChunk("VP8L", payload(LOSSLESS));
        assertThat(refusal(riff(webpChunk("ALPH", new byte[4]), image))).isEqualTo("the WebP does not start with a VP8, VP8L or VP8X chunk");
        byte[] longer = LOSSLESS.clone();
        ByteBuffer.wrap(longer).order(ByteOrder.LITTLE_ENDIAN).putInt(16, 1000);
        assertThat(refusal(longer)).isEqualTo("the WebP chunk VP8L is longer than the data that holds it");
        assertThat(refusal(riff(image, new byte[3]))).isEqualTo("the WebP has stray bytes where a chunk should start");
        assertThat(refusal(riff(webpChunk("VP8X", vp8x(0x01, 8, 6)), image))).isEqualTo("the WebP's VP8X chunk has reserved bits set");
        assertThat(refusal(riff(webpChunk("VP8X", with(vp8x(0, 8, 6), 2, 1)), image))).isEqualTo("the WebP's VP8X chunk has reserved bits set");
        assertThat(refusal(riff(webpChunk("VP8X", new byte[12]), image))).isEqualTo("the WebP's VP8X chunk is not 10 bytes long");
        assertThat(refusal(riff(webpChunk("VP8X", vp8x(0, 8, 6)), webpChunk("EXIF", new byte[4])))).isEqualTo("the WebP has no image data (VP8 or VP8L chunk)");
        assertThat(refusal(riff(webpChunk("VP8X", vp8x(0, 9, 6)), image))).isEqualTo("the WebP's image size does not match its canvas size");
        assertThat(refusal(riff(webpChunk("VP8X", vp8x(0, 1 << 24, 1 << 24)), image))).isEqualTo("the WebP's canvas has 2^32 pixels or more");
    }

    @Test
    void refusesAnimatedWebpsThatBreakTheRules() {
        byte[] vp8x = webpChunk("VP8X", vp8x(0x02, 16, 6)), anim = webpChunk("ANIM", new byte[6]);
        byte[] frame = webpChunk("ANMF", concat(anmf(0, 0, 8, 6), webpChunk("VP8L", payload(LOSSLESS))));
        assertThat(ImageInfo.sniff(riff(vp8x, anim, frame))).isPresent();
        assertThat(refusal(riff(vp8x, anim))).isEqualTo("the animated WebP has no frames");
        assertThat(refusal(riff(vp8x, frame, anim))).isEqualTo("the WebP has an animation frame before its ANIM chunk");
        assertThat(refusal(riff(webpChunk("VP8X", vp8x(0, 16, 6)), anim, frame)))
                .isEqualTo("the WebP has an animation frame but its header does not say it is animated");
        assertThat(refusal(riff(vp8x, anim, webpChunk("ANMF", concat(anmf(10, 0, 8, 6), webpChunk("VP8L", payload(LOSSLESS)))))))
                .isEqualTo("a WebP animation frame lies outside the canvas");
        assertThat(refusal(riff(vp8x, anim, webpChunk("ANMF", concat(anmf(0, 0, 7, 6), webpChunk("VP8L", payload(LOSSLESS)))))))
                .isEqualTo("a WebP animation frame's image size does not match the frame's");
        assertThat(refusal(riff(vp8x, anim, webpChunk("ANMF", concat(anmf(0, 0, 8, 6), webpChunk("ALPH", new byte[10]))))))
                .isEqualTo("a WebP animation frame has no image data");
        assertThat(refusal(riff(vp8x, anim, webpChunk("ANMF", new byte[16])))).isEqualTo("a WebP animation frame is too short");
        assertThat(refusal(riff(vp8x, webpChunk("ANIM", new byte[2]), frame))).isEqualTo("the WebP's ANIM chunk is too short");
    }

    @Test
    void stripsWhatFollowsAWebpsRiffSize() {
        byte[] b = concat(LOSSY, "<html></html>".getBytes(StandardCharsets.US_ASCII));
        ImageInfo info = ImageInfo.sniff(b).orElseThrow();
        assertThat(info.length()).isEqualTo(LOSSY.length);
        assertThat(info.strip(b)).isEqualTo(LOSSY);
    }

    // ---- any bytes ---------------------------------------------------------------------------------

    @Test
    void refusesTextOtherFormatsAndNothingWithAReason() {
        assertThat(ImageInfo.check("not an image at all, but long enough".getBytes(StandardCharsets.US_ASCII)))
                .isEqualTo(new ImageInfo.Checked(null, "the bytes are not a PNG, JPEG or WebP image"));
        assertThat(ImageInfo.sniff("GIF89a\u0001\u0000\u0001\u0000".getBytes(StandardCharsets.ISO_8859_1))).isEmpty();
        assertThat(ImageInfo.sniff(new byte[] { (byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE0, 0, 2 })).isEmpty();
        assertThat(ImageInfo.check(new byte[0]).refusal()).isEqualTo("the file is empty");
        assertThat(ImageInfo.check(null).ok()).isFalse();
        assertThat(ImageInfo.check(LOSSY).ok()).isTrue();
    }

    @Test
    void neverThrowsNorFailsToReadMutatedFiles() throws IOException {
        List<byte[]> samples = new ArrayList<>(List.of(Png.render(24, 16, 9), LOSSY, LOSSLESS, LOSSY_ALPHA,
                write(painted(new BufferedImage(24, 16, BufferedImage.TYPE_BYTE_INDEXED)), "png", true),
                write(painted(new BufferedImage(24, 16, BufferedImage.TYPE_INT_RGB)), "jpeg", true),
                riff(webpChunk("VP8X", vp8x(0x12, 16, 6)), webpChunk("ANIM", new byte[6]),
                        webpChunk("ANMF", concat(anmf(0, 0, 8, 6), webpChunk("ALPH", new byte[3]), webpChunk("VP8 ", payload(LOSSY)))))));
        SplittableRandom random = new SplittableRandom(7);
        for (byte[] sample : samples) {
            assertThat(ImageInfo.check(sample).ok()).isTrue();
            for (int i = 0; i < 3000; i++) {
                byte[] b = mutate(sample, random);
                ImageInfo.Checked checked = ImageInfo.check(b);
                assertThat(checked.ok() ^ checked.refusal() != null).isTrue();
                if (checked.ok()) {
                    assertThat(checked.image().length()).isBetween(1, b.length);
                    assertThat(checked.image().width()).isPositive();
                    assertThat(checked.image().height()).isPositive();
                } else {
                    assertThat(checked.refusal()).isNotEqualTo(ImageInfo.UNREADABLE).doesNotContain("Exception", "java.", "null");
                }
            }
        }
    }

    @Test
    void checksTwentyMegabytesInOnePass() {
        int size = 20 << 20;
        byte[] noise = new byte[size];
        new SplittableRandom(3).nextBytes(noise);
        byte[] bigPng = png(ihdr(4000, 4000, 8, 2), pngChunk("IDAT", noise), pngChunk("IEND", new byte[0]));
        ByteArrayOutputStream many = new ByteArrayOutputStream(size + 100); // a million tiny chunks
        many.writeBytes(png(ihdr(4000, 4000, 8, 2)));
        byte[] tiny = pngChunk("tEXt", new byte[0]);
        for (int i = 0; i < size / tiny.length; i++) {
            many.writeBytes(tiny);
        }
        many.writeBytes(concat(pngChunk("IDAT", new byte[1]), pngChunk("IEND", new byte[0])));
        byte[] fill = new byte[size]; // fill bytes and stuffing throughout one scan
        Arrays.fill(fill, (byte) 0xFF);
        for (int i = 1; i < size; i += 1000) {
            fill[i] = 0;
        }
        byte[] bigJpeg = concat(bytes(0xFF, 0xD8), sof(0xC0, 4000, 4000), sos(), fill, bytes(0xFF, 0xD9));
        byte[] bigWebp = riff(webpChunk("VP8X", vp8x(0, 8, 6)), webpChunk("EXIF", noise), webpChunk("VP8L", payload(LOSSLESS)));
        assertTimeout(Duration.ofSeconds(20), () -> { // generous: a quadratic walk would take hours, a linear one well under a second
            assertThat(ImageInfo.sniff(bigPng)).map(ImageInfo::length).contains(bigPng.length);
            assertThat(ImageInfo.sniff(many.toByteArray())).isPresent();
            assertThat(ImageInfo.sniff(bigJpeg)).map(ImageInfo::length).contains(bigJpeg.length);
            assertThat(ImageInfo.sniff(bigWebp)).map(ImageInfo::length).contains(bigWebp.length);
            assertThat(ImageInfo.sniff(Arrays.copyOf(bigJpeg, bigJpeg.length - 2))).isEmpty();
        });
    }

    // ---- helpers -----------------------------------------------------------------------------------

    private static String refusal(byte[] b) {
        ImageInfo.Checked checked = ImageInfo.check(b);
        assertThat(checked.image()).as("accepted").isNull();
        return checked.refusal();
    }

    private static byte[] mutate(byte[] sample, SplittableRandom random) {
        byte[] b = sample.clone();
        switch (random.nextInt(5)) {
            case 0 -> b[random.nextInt(b.length)] = (byte) random.nextInt(256);
            case 1 -> { // a length or size field at any offset, big or negative
                int at = random.nextInt(b.length - 3);
                int value = random.nextBoolean() ? -random.nextInt(16) : random.nextInt(b.length + 16);
                ByteBuffer.wrap(b).order(random.nextBoolean() ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN).putInt(at, value);
            }
            case 2 -> b = Arrays.copyOf(b, random.nextInt(b.length + 32));
            case 3 -> {
                for (int i = 0; i < 1 + random.nextInt(8); i++) {
                    b[random.nextInt(b.length)] ^= (byte) (1 << random.nextInt(8));
                }
            }
            default -> {
                int from = random.nextInt(b.length), to = Math.min(b.length, from + random.nextInt(64));
                b = concat(Arrays.copyOf(b, from), Arrays.copyOfRange(b, to, b.length));
            }
        }
        return b;
    }

    private static BufferedImage painted(BufferedImage image) {
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                image.setRGB(x, y, ((x + y) * 3 << 24) | (x * 6 << 16) | (y * 8 << 8) | (x * y & 0xff));
            }
        }
        return image;
    }

    private static BufferedImage greyAlpha(int width, int height) {
        ColorModel model = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_GRAY), true, false, Transparency.TRANSLUCENT,
                DataBuffer.TYPE_BYTE);
        return new BufferedImage(model, model.createCompatibleWritableRaster(width, height), false, null);
    }

    private static BufferedImage fourColours(int width, int height) {
        byte[] c = { 0, 80, (byte) 160, (byte) 240 };
        return new BufferedImage(width, height, BufferedImage.TYPE_BYTE_BINARY, new IndexColorModel(2, 4, c, c, c));
    }

    private static byte[] write(BufferedImage image, String format, boolean progressive) throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName(format).next();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (MemoryCacheImageOutputStream stream = new MemoryCacheImageOutputStream(out)) {
            writer.setOutput(stream);
            ImageWriteParam param = writer.getDefaultWriteParam();
            param.setProgressiveMode(progressive ? ImageWriteParam.MODE_DEFAULT : ImageWriteParam.MODE_DISABLED);
            writer.write(null, new IIOImage(image, null, null), param);
        } finally {
            writer.dispose();
        }
        return out.toByteArray();
    }

    private static byte[] png(byte[]... chunks) {
        return concat(bytes(0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'), concat(chunks));
    }

    private static byte[] ihdr(int width, int height, int depth, int colourType) {
        return pngChunk("IHDR", ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) depth).put((byte) colourType).array());
    }

    private static byte[] pngChunk(String type, byte[] data) {
        CRC32 crc = new CRC32();
        crc.update(type.getBytes(StandardCharsets.US_ASCII));
        crc.update(data);
        return ByteBuffer.allocate(12 + data.length).putInt(data.length).put(type.getBytes(StandardCharsets.US_ASCII)).put(data)
                .putInt((int) crc.getValue()).array();
    }

    private static byte[] insertAfterIhdr(byte[] png, byte[] chunk) {
        return concat(Arrays.copyOf(png, 33), chunk, Arrays.copyOfRange(png, 33, png.length));
    }

    private static byte[] segment(int marker, byte[] data) {
        return concat(bytes(0xFF, marker, (data.length + 2) >> 8, (data.length + 2) & 0xff), data);
    }

    private static byte[] sof(int marker, int width, int height) {
        return sof(marker, width, height, 1);
    }

    private static byte[] sof(int marker, int width, int height, int components) {
        ByteBuffer b = ByteBuffer.allocate(6 + 3 * components).put((byte) 8).putShort((short) height).putShort((short) width)
                .put((byte) components);
        for (int c = 1; c <= components; c++) {
            b.put(bytes(c, c == 1 ? 0x22 : 0x11, c == 1 ? 0 : 1));
        }
        return segment(marker, b.array());
    }

    private static byte[] sos() {
        return segment(0xDA, bytes(1, 1, 0, 0, 63, 0));
    }

    /** How often a marker appears; in ImageIO's output an 0xFF inside a scan is always stuffed, so this counts markers. */
    private static int count(byte[] jpeg, int marker) {
        int n = 0;
        for (int i = 0; i + 1 < jpeg.length; i++) {
            if (jpeg[i] == (byte) 0xFF && (jpeg[i + 1] & 0xff) == marker) {
                n++;
            }
        }
        return n;
    }

    private static byte[] riff(byte[]... chunks) {
        byte[] body = concat(chunks);
        return concat(ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).put("RIFF".getBytes(StandardCharsets.US_ASCII))
                .putInt(4 + body.length).put("WEBP".getBytes(StandardCharsets.US_ASCII)).array(), body);
    }

    private static byte[] webpChunk(String fourcc, byte[] payload) {
        return ByteBuffer.allocate(8 + payload.length + (payload.length & 1)).order(ByteOrder.LITTLE_ENDIAN)
                .put(fourcc.getBytes(StandardCharsets.US_ASCII)).putInt(payload.length).put(payload).array();
    }

    /** The payload of a simple WebP's one chunk. */
    private static byte[] payload(byte[] webp) {
        int size = ByteBuffer.wrap(webp).order(ByteOrder.LITTLE_ENDIAN).getInt(16);
        return Arrays.copyOfRange(webp, 20, 20 + size);
    }

    /** A VP8 key frame header (tag, start code, size) and a stand-in for the partitions: right in form, not decodable. */
    private static byte[] vp8(int width, int height) {
        int partition = 5, tag = partition << 5 | 0x10; // key frame, version 0, shown
        return ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).put((byte) tag).put((byte) (tag >> 8)).put((byte) (tag >> 16))
                .put(bytes(0x9d, 0x01, 0x2a)).putShort((short) width).putShort((short) height).array();
    }

    private static byte[] vp8l(int width, int height) {
        return ByteBuffer.allocate(5).order(ByteOrder.LITTLE_ENDIAN).put((byte) 0x2F).putInt((width - 1) | (height - 1) << 14).array();
    }

    private static byte[] vp8x(int flags, int width, int height) {
        byte[] b = new byte[10];
        b[0] = (byte) flags;
        le24(b, 4, width - 1);
        le24(b, 7, height - 1);
        return b;
    }

    private static byte[] anmf(int x, int y, int width, int height) {
        byte[] b = new byte[16];
        le24(b, 0, x / 2);
        le24(b, 3, y / 2);
        le24(b, 6, width - 1);
        le24(b, 9, height - 1);
        le24(b, 12, 100); // duration, ms
        return b;
    }

    private static void le24(byte[] b, int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >> 8);
        b[at + 2] = (byte) (v >> 16);
    }

    private static byte[] with(byte[] b, int at, int value) {
        byte[] copy = b.clone();
        copy[at] = (byte) value;
        return copy;
    }

    private static byte[] bytes(int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = (byte) values[i];
        }
        return b;
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    private static byte[] base64(String s) {
        return Base64.getDecoder().decode(s);
    }
}
