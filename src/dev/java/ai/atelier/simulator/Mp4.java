package ai.atelier.simulator;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Real MP4 files for the simulator's video endpoints: a valid ISO-BMFF file ({@code ftyp}, {@code moov},
 * {@code mdat}) of any duration and presentation size, with or without an audio track, built from the
 * frames of one tiny clip kept as a resource. The clip's four H.264 frames are spread evenly over the
 * asked duration and its AAC frames repeated to fill it, so a player shows a few frames and the
 * boxes say exactly the length fal would bill. Padding to a larger size is a {@code free} box at the
 * end, streamed by the simulator as zeros (see {@link #freeHeader}), so a 200 MB file costs nothing held.
 *
 * <p>The resource {@code clip.mp4} (10,347 bytes: 160×90 H.264 Constrained Baseline at 2 fps for 2 s, 16 kHz mono
 * AAC-LC) was made once with Debian 12's ffmpeg 5.1.9:
 * <pre>
 * ffmpeg -f lavfi -i "testsrc2=size=160x90:rate=2" -f lavfi -i "sine=frequency=440:sample_rate=16000" -t 2 \
 *   -c:v libx264 -profile:v baseline -preset veryslow -crf 38 -g 4 -pix_fmt yuv420p -x264-params no-info=1 \
 *   -c:a aac -b:a 16k -ac 1 -movflags +faststart -map_metadata -1 -fflags +bitexact \
 *   -flags:v +bitexact -flags:a +bitexact clip.mp4
 * </pre>
 */
final class Mp4 {

    /** One track of the source clip: its sample description (copied as is), its timescale and its samples' bytes. */
    record Track(String handler, byte[] sampleEntry, long timescale, List<byte[]> samples, List<Integer> syncSamples) {
    }

    static final Track VIDEO;
    static final Track AUDIO;
    /** Samples per AAC frame: each of the clip's audio samples lasts this many ticks of its timescale (the sample rate). */
    static final int AAC_FRAME = 1024;

    static {
        byte[] clip = resource();
        List<Track> tracks = tracks(clip);
        VIDEO = tracks.stream().filter(t -> t.handler().equals("vide")).findFirst().orElseThrow();
        AUDIO = tracks.stream().filter(t -> t.handler().equals("soun")).findFirst().orElseThrow();
    }

    private Mp4() {
    }

    /**
     * A whole MP4 file.
     *
     * @param millis length of the movie (and of each track; the audio track stops at the last whole AAC frame within it)
     * @param width  the video track's presentation width (tkhd), what a player scales the picture to
     */
    static byte[] build(long millis, int width, int height, boolean audio) {
        byte[] ftyp = box("ftyp", concat(ascii("isom"), u32(512), ascii("isom"), ascii("iso2"), ascii("avc1"), ascii("mp41")));
        byte[] videoData = concat(VIDEO.samples().toArray(byte[][]::new));
        int audioFrames = audio ? (int) (millis * AUDIO.timescale() / 1000 / AAC_FRAME) : 0;
        List<byte[]> audioSamples = new ArrayList<>();
        for (int i = 0; i < audioFrames; i++) {
            audioSamples.add(AUDIO.samples().get(i % AUDIO.samples().size()));
        }
        byte[] audioData = concat(audioSamples.toArray(byte[][]::new));
        // moov's length does not depend on the chunk offsets it holds: build it once to learn it, then for real
        int moovLength = moov(millis, width, height, audioSamples, 0).length;
        long mdatStart = ftyp.length + moovLength;
        byte[] moov = moov(millis, width, height, audioSamples, mdatStart + 8);
        byte[] mdat = box("mdat", concat(videoData, audioData));
        return concat(ftyp, moov, mdat);
    }

    /** The header of a {@code free} box of {@code size} bytes in all (at least 8); its payload is zeros. */
    static byte[] freeHeader(long size) {
        if (size < 8 || size > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("a free box is 8 bytes to 4 GiB, not " + size);
        }
        return concat(u32(size), ascii("free"));
    }

    private static byte[] moov(long millis, int width, int height, List<byte[]> audioSamples, long dataStart) {
        List<byte[]> children = new ArrayList<>();
        children.add(mvhd(millis, audioSamples.isEmpty() ? 2 : 3));
        long videoTicks = millis; // the video track counts milliseconds
        int frames = VIDEO.samples().size();
        long each = Math.max(1, videoTicks / frames);
        long last = Math.max(1, videoTicks - each * (frames - 1));
        byte[] videoStts = last == each ? stts(new long[][] { { frames, each } }) : stts(new long[][] { { frames - 1, each }, { 1, last } });
        children.add(trak(1, "vide", VIDEO.sampleEntry(), 1000, videoTicks, millis, width, height, videoStts, VIDEO.samples(),
                VIDEO.syncSamples(), dataStart));
        if (!audioSamples.isEmpty()) {
            long audioTicks = (long) audioSamples.size() * AAC_FRAME;
            long audioMillis = audioTicks * 1000 / AUDIO.timescale();
            long videoBytes = VIDEO.samples().stream().mapToLong(s -> s.length).sum();
            children.add(trak(2, "soun", AUDIO.sampleEntry(), AUDIO.timescale(), audioTicks, audioMillis, 0, 0,
                    stts(new long[][] { { audioSamples.size(), AAC_FRAME } }), audioSamples, null, dataStart + videoBytes));
        }
        return box("moov", concat(children.toArray(byte[][]::new)));
    }

    private static byte[] mvhd(long millis, int nextTrack) {
        return fullBox("mvhd", 0, 0, concat(u32(0), u32(0), u32(1000), u32(millis), u32(0x0001_0000), u16(0x0100), new byte[10], matrix(),
                new byte[24], u32(nextTrack)));
    }

    private static byte[] trak(int id, String handler, byte[] sampleEntry, long timescale, long ticks, long millis, int width, int height,
            byte[] stts, List<byte[]> samples, List<Integer> sync, long chunkOffset) {
        boolean video = handler.equals("vide");
        byte[] tkhd = fullBox("tkhd", 0, 3, concat(u32(0), u32(0), u32(id), u32(0), u32(millis), new byte[8], u16(0), u16(0),
                u16(video ? 0 : 0x0100), u16(0), matrix(), u32((long) width << 16), u32((long) height << 16)));
        byte[] mdhd = fullBox("mdhd", 0, 0, concat(u32(0), u32(0), u32(timescale), u32(ticks), u16(0x55C4), u16(0))); // language "und"
        byte[] hdlr = fullBox("hdlr", 0, 0, concat(u32(0), ascii(handler), new byte[12],
                (video ? "VideoHandler\0" : "SoundHandler\0").getBytes(StandardCharsets.US_ASCII)));
        byte[] header = video ? fullBox("vmhd", 0, 1, new byte[8]) : fullBox("smhd", 0, 0, new byte[4]);
        byte[] dinf = box("dinf", fullBox("dref", 0, 0, concat(u32(1), fullBox("url ", 0, 1, new byte[0]))));
        List<byte[]> stbl = new ArrayList<>();
        stbl.add(fullBox("stsd", 0, 0, concat(u32(1), sampleEntry)));
        stbl.add(stts);
        if (sync != null) {
            byte[][] entries = sync.stream().map(Mp4::u32).toArray(byte[][]::new);
            stbl.add(fullBox("stss", 0, 0, concat(u32(sync.size()), concat(entries))));
        }
        stbl.add(fullBox("stsc", 0, 0, concat(u32(1), u32(1), u32(samples.size()), u32(1)))); // one chunk holds every sample
        byte[][] sizes = samples.stream().map(s -> u32(s.length)).toArray(byte[][]::new);
        stbl.add(fullBox("stsz", 0, 0, concat(u32(0), u32(samples.size()), concat(sizes))));
        stbl.add(fullBox("stco", 0, 0, concat(u32(1), u32(chunkOffset))));
        byte[] minf = box("minf", concat(header, dinf, box("stbl", concat(stbl.toArray(byte[][]::new)))));
        return box("trak", concat(tkhd, box("mdia", concat(mdhd, hdlr, minf))));
    }

    private static byte[] stts(long[][] entries) {
        byte[][] body = new byte[entries.length * 2 + 1][];
        body[0] = u32(entries.length);
        for (int i = 0; i < entries.length; i++) {
            body[1 + 2 * i] = u32(entries[i][0]);
            body[2 + 2 * i] = u32(entries[i][1]);
        }
        return fullBox("stts", 0, 0, concat(body));
    }

    private static byte[] matrix() {
        return concat(u32(0x0001_0000), u32(0), u32(0), u32(0), u32(0x0001_0000), u32(0), u32(0), u32(0), u32(0x4000_0000));
    }

    // ---- reading the source clip ---------------------------------------------------------------------

    private static byte[] resource() {
        try (InputStream in = Mp4.class.getResourceAsStream("clip.mp4")) {
            if (in == null) {
                throw new IllegalStateException("clip.mp4 is missing beside " + Mp4.class.getName());
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Each track of a plain (non-fragmented) MP4 with its samples, read through its sample tables. */
    static List<Track> tracks(byte[] file) {
        ByteBuffer b = ByteBuffer.wrap(file);
        List<Track> tracks = new ArrayList<>();
        int[] moov = find(b, 0, file.length, "moov");
        for (int[] trak : all(b, moov[0], moov[1], "trak")) {
            int[] mdia = find(b, trak[0], trak[1], "mdia");
            int[] mdhd = find(b, mdia[0], mdia[1], "mdhd");
            long timescale = b.get(mdhd[0]) == 0 ? u32(b, mdhd[0] + 12) : u32(b, mdhd[0] + 20);
            int[] hdlr = find(b, mdia[0], mdia[1], "hdlr");
            String handler = new String(file, hdlr[0] + 8, 4, StandardCharsets.US_ASCII);
            int[] minf = find(b, mdia[0], mdia[1], "minf");
            int[] stbl = find(b, minf[0], minf[1], "stbl");
            int[] stsd = find(b, stbl[0], stbl[1], "stsd");
            int entryStart = stsd[0] + 8;
            byte[] entry = java.util.Arrays.copyOfRange(file, entryStart, entryStart + (int) u32(b, entryStart));
            int[] stsz = find(b, stbl[0], stbl[1], "stsz");
            int count = (int) u32(b, stsz[0] + 8);
            long fixed = u32(b, stsz[0] + 4);
            int[] sizes = new int[count];
            for (int i = 0; i < count; i++) {
                sizes[i] = (int) (fixed != 0 ? fixed : u32(b, stsz[0] + 12 + 4 * i));
            }
            int[] stco = find(b, stbl[0], stbl[1], "stco");
            long[] chunks = new long[(int) u32(b, stco[0] + 4)];
            for (int i = 0; i < chunks.length; i++) {
                chunks[i] = u32(b, stco[0] + 8 + 4 * i);
            }
            int[] stsc = find(b, stbl[0], stbl[1], "stsc");
            int entries = (int) u32(b, stsc[0] + 4);
            List<byte[]> samples = new ArrayList<>();
            int sample = 0;
            for (int chunk = 0; chunk < chunks.length; chunk++) {
                long perChunk = 0;
                for (int e = 0; e < entries; e++) {
                    if (u32(b, stsc[0] + 8 + 12 * e) <= chunk + 1) {
                        perChunk = u32(b, stsc[0] + 8 + 12 * e + 4);
                    }
                }
                long at = chunks[chunk];
                for (int s = 0; s < perChunk && sample < count; s++, sample++) {
                    samples.add(java.util.Arrays.copyOfRange(file, (int) at, (int) at + sizes[sample]));
                    at += sizes[sample];
                }
            }
            List<Integer> sync = null;
            int[] stss = findOrNull(b, stbl[0], stbl[1], "stss");
            if (stss != null) {
                sync = new ArrayList<>();
                for (int i = 0; i < u32(b, stss[0] + 4); i++) {
                    sync.add((int) u32(b, stss[0] + 8 + 4 * i));
                }
            }
            tracks.add(new Track(handler, entry, timescale, List.copyOf(samples), sync));
        }
        return tracks;
    }

    /** The payload range {start, end} of the first box of this type between from and to. */
    private static int[] find(ByteBuffer b, int from, int to, String type) {
        int[] found = findOrNull(b, from, to, type);
        if (found == null) {
            throw new IllegalStateException("clip.mp4 has no " + type + " box");
        }
        return found;
    }

    private static int[] findOrNull(ByteBuffer b, int from, int to, String type) {
        List<int[]> all = all(b, from, to, type);
        return all.isEmpty() ? null : all.get(0);
    }

    private static List<int[]> all(ByteBuffer b, int from, int to, String type) {
        List<int[]> found = new ArrayList<>();
        for (int p = from; p + 8 <= to;) {
            int size = (int) u32(b, p);
            String t = new String(b.array(), p + 4, 4, StandardCharsets.US_ASCII);
            if (t.equals(type)) {
                found.add(new int[] { p + 8, p + size });
            }
            p += size;
        }
        return found;
    }

    // ---- writing boxes --------------------------------------------------------------------------------

    private static byte[] box(String type, byte[] payload) {
        return concat(u32(8L + payload.length), ascii(type), payload);
    }

    private static byte[] fullBox(String type, int version, int flags, byte[] payload) {
        return box(type, concat(new byte[] { (byte) version, (byte) (flags >>> 16), (byte) (flags >>> 8), (byte) flags }, payload));
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static byte[] u32(long v) {
        return new byte[] { (byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v };
    }

    private static byte[] u16(int v) {
        return new byte[] { (byte) (v >>> 8), (byte) v };
    }

    private static long u32(ByteBuffer b, int p) {
        return b.getInt(p) & 0xFFFF_FFFFL;
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
