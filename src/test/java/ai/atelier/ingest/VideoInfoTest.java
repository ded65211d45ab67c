package ai.atelier.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * Only whole MP4 files pass: an MP4 brand in {@code ftyp}, a {@code moov} with a duration and a video track,
 * media data, every box whole to the last byte; duration, presentation size and audio are read from the boxes,
 * the same whether the bytes come at once or in any pieces, and a broken file gets a reason, never an exception.
 */
class VideoInfoTest {

    /** The simulator's clip: ftyp, moov (video 160×90 and AAC audio, 2 s), free, mdat; made by ffmpeg with +faststart. */
    static final byte[] CLIP = resource("/ai/atelier/simulator/clip.mp4");
    static final byte[] MOOV_AT_END = resource("/video/moov-at-end.mp4");
    static final byte[] QUICKTIME = resource("/video/quicktime.mov");
    static final byte[] AUDIO_ONLY = resource("/video/audio-only.mp4");

    static byte[] resource(String name) {
        try (InputStream in = VideoInfoTest.class.getResourceAsStream(name)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static VideoInfo.Checked check(byte[] bytes) {
        return VideoInfo.check(bytes);
    }

    static String refusal(byte[] bytes) {
        VideoInfo.Checked checked = check(bytes);
        assertThat(checked.ok()).as("refused").isFalse();
        return checked.refusal();
    }

    // ---- real files ---------------------------------------------------------------------------------

    @Test
    void readsDurationSizeAndAudioOfAnFfmpegClip() {
        VideoInfo.Checked checked = check(CLIP);
        assertThat(checked.refusal()).isNull();
        VideoInfo v = checked.video();
        assertThat(v.brand()).isEqualTo("isom");
        assertThat(v.seconds()).isEqualTo(2.0);
        assertThat(v.width()).isEqualTo(160);
        assertThat(v.height()).isEqualTo(90);
        assertThat(v.hasAudio()).isTrue();
        assertThat(v.size()).isEqualTo(CLIP.length).isEqualTo(10_347);
    }

    @Test
    void acceptsTheIndexAfterTheMediaAndQuickTimeFiles() {
        VideoInfo end = check(MOOV_AT_END).video();
        assertThat(end).isNotNull();
        assertThat(end.seconds()).isEqualTo(2.0);
        assertThat(end.width()).isEqualTo(128);
        assertThat(end.height()).isEqualTo(72);
        assertThat(end.hasAudio()).isFalse();
        VideoInfo mov = check(QUICKTIME).video();
        assertThat(mov).isNotNull();
        assertThat(mov.brand()).isEqualTo("qt  ");
        assertThat(mov.seconds()).isEqualTo(2.0);
    }

    @Test
    void refusesAFileWithoutAVideoTrack() {
        assertThat(refusal(AUDIO_ONLY)).isEqualTo("the MP4 has no video track");
    }

    @Test
    void givesTheSameAnswerWhateverPiecesTheBytesComeIn() {
        for (byte[] file : new byte[][] { CLIP, MOOV_AT_END, QUICKTIME }) {
            VideoInfo whole = check(file).video();
            VideoInfo.Reader bytewise = VideoInfo.reader();
            for (int i = 0; i < file.length; i++) {
                assertThat(bytewise.feed(file, i, 1)).isTrue();
            }
            assertThat(bytewise.finish().video()).isEqualTo(whole);
            SplittableRandom random = new SplittableRandom(7);
            for (int run = 0; run < 20; run++) {
                VideoInfo.Reader pieces = VideoInfo.reader();
                for (int p = 0; p < file.length;) {
                    int n = Math.min(file.length - p, 1 + random.nextInt(600));
                    pieces.feed(ByteBuffer.wrap(file, p, n).slice());
                    p += n;
                }
                assertThat(pieces.finish().video()).isEqualTo(whole);
            }
        }
    }

    @Test
    void readsAHundredMegabytesOfPaddingWithoutHoldingIt() {
        long pad = 100L * 1024 * 1024;
        VideoInfo.Reader reader = VideoInfo.reader();
        reader.feed(ByteBuffer.wrap(CLIP));
        reader.feed(ByteBuffer.wrap(box("free", pad)));
        ByteBuffer zeros = ByteBuffer.allocate(1 << 20);
        for (long left = pad - 8; left > 0; left -= zeros.capacity()) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), left));
            assertThat(reader.feed(zeros)).isTrue();
        }
        VideoInfo v = reader.finish().video();
        assertThat(v).isNotNull();
        assertThat(v.size()).isEqualTo(CLIP.length + pad);
        assertThat(v.seconds()).isEqualTo(2.0);
    }

    @Test
    void acceptsAHugeBoxAndALastBoxRunningToTheEnd() {
        // a 64-bit size (size field 1): an mdat of 16 + 4 bytes
        byte[] large = concat(MOOV_AT_END, new byte[] { 0, 0, 0, 1, 'm', 'd', 'a', 't', 0, 0, 0, 0, 0, 0, 0, 20, 1, 2, 3, 4 });
        assertThat(check(large).video().size()).isEqualTo(MOOV_AT_END.length + 20);
        // size 0: the last top-level box runs to the end of the file, however long it turns out
        byte[] open = concat(MOOV_AT_END, box("free", 8), new byte[] { 9, 9, 9 });
        System.arraycopy(new byte[4], 0, open, MOOV_AT_END.length, 4);
        assertThat(check(open).ok()).isTrue();
    }

    // ---- broken files --------------------------------------------------------------------------------

    @Test
    void refusesEveryTruncation() {
        // cut anywhere short of the end: inside ftyp, moov, a header, mdat
        for (int cut : new int[] { 1, 7, 8, 20, 32, 100, 1_000, 1_562, 1_571, 1_575, 5_000, CLIP.length - 1 }) {
            String why = refusal(Arrays.copyOf(CLIP, cut));
            assertThat(why).as("cut at %d", cut).containsAnyOf("cut off", "no moov", "no media data");
        }
        assertThat(refusal(Arrays.copyOf(CLIP, CLIP.length - 1))).isEqualTo("the MP4 is cut off inside its mdat box (1 byte missing)");
        assertThat(refusal(Arrays.copyOf(CLIP, 200))).startsWith("the MP4 is cut off inside its");
        // and the index-last file cut inside its moov
        assertThat(refusal(Arrays.copyOf(MOOV_AT_END, MOOV_AT_END.length - 300))).startsWith("the MP4 is cut off inside its");
    }

    @Test
    void refusesBytesAfterTheLastBox() {
        assertThat(refusal(concat(CLIP, new byte[] { 0, 0, 1 }))).startsWith("the MP4 is cut off inside a box header");
        assertThat(refusal(concat(CLIP, "<script>alert(1)</script>".getBytes(StandardCharsets.US_ASCII))))
                .containsAnyOf("impossible size", "cut off", "not four characters");
    }

    @Test
    void refusesAFileWithoutMoov() {
        int moov = indexOf(CLIP, "moov") - 4;
        int moovSize = ByteBuffer.wrap(CLIP).getInt(moov);
        byte[] without = concat(Arrays.copyOf(CLIP, moov), Arrays.copyOfRange(CLIP, moov + moovSize, CLIP.length));
        assertThat(refusal(without)).isEqualTo("the MP4 has no moov box");
        // nor one with two
        byte[] twice = concat(CLIP, Arrays.copyOfRange(CLIP, moov, moov + moovSize));
        assertThat(refusal(twice)).isEqualTo("the MP4 has more than one moov box");
    }

    @Test
    void refusesABrandThatIsNoMp4() {
        byte[] heif = CLIP.clone();
        // major brand and every compatible brand: an image container, not a movie
        for (int p = 8; p < 32; p += 4) {
            System.arraycopy("mif1".getBytes(StandardCharsets.US_ASCII), 0, heif, p, 4);
        }
        System.arraycopy("heic".getBytes(StandardCharsets.US_ASCII), 0, heif, 8, 4);
        assertThat(refusal(heif)).isEqualTo("the file is not an MP4: its brand 'heic' and compatible brands name no MP4 brand");
        // a compatible MP4 brand is enough
        byte[] compatible = CLIP.clone();
        System.arraycopy("XAVC".getBytes(StandardCharsets.US_ASCII), 0, compatible, 8, 4);
        assertThat(check(compatible).video().brand()).isEqualTo("XAVC");
    }

    @Test
    void refusesWhatIsNotAnMp4AtAll() {
        String notMp4 = "the bytes are not an MP4 file: they do not start with an ftyp box";
        assertThat(refusal("<!DOCTYPE html><html><body>Access denied</body></html>".getBytes(StandardCharsets.US_ASCII))).isEqualTo(notMp4);
        assertThat(refusal(new byte[] { (byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13 })).isEqualTo(notMp4);
        assertThat(refusal(new byte[0])).isEqualTo("the file is empty");
        assertThat(refusal(new byte[] { 0, 0, 0 })).isEqualTo("the MP4 is cut off inside a box header at byte 0");
        // an mdat first (a stream whose ftyp was lost)
        assertThat(refusal(Arrays.copyOfRange(MOOV_AT_END, 40, MOOV_AT_END.length))).isEqualTo(notMp4);
        // and the reader says so early: a caller copying the file can stop at once
        VideoInfo.Reader reader = VideoInfo.reader();
        assertThat(reader.feed("<html>".getBytes(StandardCharsets.US_ASCII), 0, 6)).isTrue(); // 6 bytes: not a header yet
        assertThat(reader.feed("<body>".getBytes(StandardCharsets.US_ASCII), 0, 6)).isFalse();
        assertThat(reader.refusal()).isEqualTo(notMp4);
    }

    @Test
    void refusesBoxesThatDoNotFitTheirParent() {
        byte[] broken = CLIP.clone();
        int trak = indexOf(broken, "trak") - 4;
        ByteBuffer.wrap(broken).putInt(trak, ByteBuffer.wrap(broken).getInt(trak) + 5_000);
        assertThat(refusal(broken)).isEqualTo("the MP4's trak box runs past the end of its moov box");
        byte[] tiny = CLIP.clone();
        ByteBuffer.wrap(tiny).putInt(indexOf(tiny, "mvhd") - 4, 4);
        assertThat(refusal(tiny)).startsWith("the MP4's mvhd box has an impossible size (4)");
        byte[] shortHeader = CLIP.clone();
        int mvhd = indexOf(shortHeader, "mvhd") - 4;
        // an mvhd of 12 bytes, followed by what was the rest of it as a box of its own: too short to hold a duration
        ByteBuffer.wrap(shortHeader).putInt(mvhd, 12);
        assertThat(check(shortHeader).ok()).isFalse();
    }

    @Test
    void refusesAMovieWithoutDuration() {
        byte[] zero = CLIP.clone();
        int mvhd = indexOf(zero, "mvhd") + 4;
        ByteBuffer.wrap(zero).putInt(mvhd + 16, 0); // version 0: duration after version/flags, creation, modification, timescale
        assertThat(refusal(zero)).isEqualTo("the MP4 has no duration (mvhd timescale 1000, duration 0)");
    }

    @Test
    void survivesRandomDamageWithAReason() {
        SplittableRandom random = new SplittableRandom(42);
        for (int run = 0; run < 2_000; run++) {
            byte[] damaged = CLIP.clone();
            for (int k = 0; k < 1 + random.nextInt(4); k++) {
                damaged[random.nextInt(2_000)] = (byte) random.nextInt(256);
            }
            VideoInfo.Checked checked = check(damaged);
            assertThat(checked.ok() || checked.refusal() != null).isTrue();
            assertThat(checked.refusal()).isNotEqualTo("the file's structure could not be read");
        }
    }

    // ---- helpers ------------------------------------------------------------------------------------

    /** The 8-byte header of a box of {@code size} bytes in all. */
    static byte[] box(String type, long size) {
        ByteBuffer b = ByteBuffer.allocate(8);
        b.putInt((int) size).put(type.getBytes(StandardCharsets.US_ASCII));
        return b.array();
    }

    static int indexOf(byte[] bytes, String type) {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        outer: for (int i = 0; i + 4 <= bytes.length; i++) {
            for (int k = 0; k < 4; k++) {
                if (bytes[i + k] != t[k]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new IllegalArgumentException("no " + type);
    }

    static byte[] concat(byte[]... parts) {
        int n = Arrays.stream(parts).mapToInt(p -> p.length).sum();
        ByteBuffer b = ByteBuffer.allocate(n);
        for (byte[] p : parts) {
            b.put(p);
        }
        return b.array();
    }
}
