package ai.atelier.ingest;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Set;

/**
 * What an MP4 output is, read from its ISO-BMFF boxes as its bytes stream by: the brand, the movie's
 * duration ({@code mvhd}), the video track's presentation size ({@code tkhd}), whether an audio track
 * ({@code hdlr} {@code soun}) is there, and the file's size. A {@link Reader} is fed the bytes in any
 * chunks and keeps a few hundred bytes at most, whatever the file's size: only the box headers and the
 * three small boxes it reads are looked at, the media data is counted and let go. So a 200 MB clip can be
 * checked while it is copied, never held. The sister of {@link ImageInfo}, which does the same for pictures.
 *
 * <p>A file passes when it starts with an {@code ftyp} box naming an MP4 brand, has one {@code moov} with
 * a {@code mvhd} of non-zero duration and a video track, has media data ({@code mdat}), and its boxes
 * tile it whole to its last byte (every box inside its parent, none cut off). Anything else is refused
 * with a reason fit for a job's error; nothing ever throws.
 *
 * @param timescale     the movie's time units per second ({@code mvhd})
 * @param durationUnits the movie's duration in those units
 * @param width         the first video track's presentation width in pixels ({@code tkhd}, 16.16 fixed point, whole part)
 * @param size          the file's length in bytes
 */
public record VideoInfo(String brand, long timescale, long durationUnits, int width, int height, boolean hasAudio, long size) {

    public static final String CONTENT_TYPE = "video/mp4";

    /** The verdict on a file: what it holds, or (in words for a job's error) why it is not a usable MP4. */
    public record Checked(VideoInfo video, String refusal) {

        public boolean ok() {
            return video != null;
        }
    }

    /** The movie's length in seconds. */
    public double seconds() {
        return (double) durationUnits / timescale;
    }

    /**
     * Brands a file may name (as its major brand or a compatible one) to be taken for an MP4 a player reads:
     * ISO base media, MP4 v1/v2, AVC, iTunes video, QuickTime (fal-video.md §7.3), DASH segments.
     */
    static final Set<String> MP4_BRANDS = Set.of("isom", "iso2", "iso3", "iso4", "iso5", "iso6", "iso7", "iso8", "iso9", "mp41", "mp42",
            "avc1", "M4V ", "qt  ", "dash");

    /** Checks a whole file held in memory (tests, small files). */
    public static Checked check(byte[] bytes) {
        Reader reader = reader();
        reader.feed(ByteBuffer.wrap(bytes));
        return reader.finish();
    }

    /** A reader for one file, to be fed its bytes in order. */
    public static Reader reader() {
        return new Reader();
    }

    /**
     * Walks a file's boxes incrementally. {@link #feed} takes the next bytes (and answers false once the file is
     * refused: the rest need not be read); {@link #finish} says, at the end of the file, what it is. Not thread-safe:
     * one stream feeds it, in order.
     */
    public static final class Reader {

        /** The longest prefix of a box the reader keeps: enough for mvhd and tkhd (version 1) and hdlr's handler type. */
        private static final int LEAF_MAX = 128;
        /** ftyp: major brand, minor version and up to 62 compatible brands are looked at; a longer list is skipped. */
        private static final int FTYP_MAX = 256;

        private static final int FTYP = fourcc("ftyp"), MOOV = fourcc("moov"), TRAK = fourcc("trak"), MDIA = fourcc("mdia"),
                MVHD = fourcc("mvhd"), TKHD = fourcc("tkhd"), HDLR = fourcc("hdlr"), MDAT = fourcc("mdat"), VIDE = fourcc("vide"),
                SOUN = fourcc("soun");

        /** An open container: its type and where it ends. */
        private record Open(int type, long end) {
        }

        private long offset;
        private String refusal;
        private final byte[] header = new byte[16];
        private int headerFill;
        private int headerNeed = 8;
        /** The box whose payload is being read (a leaf or a skipped box), or 0 between boxes. */
        private int current;
        private long remaining;
        /** The current box runs to the end of the file (size 0: only the last top-level box may). */
        private boolean toEnd;
        private final byte[] leaf = new byte[FTYP_MAX];
        private int leafFill;
        private int leafWant;
        private final ArrayDeque<Open> open = new ArrayDeque<>();

        private boolean sawFtyp;
        private String brand;
        private int moovs;
        private boolean sawMdat;
        private long timescale = -1;
        private long duration;
        private int trackHandler;
        private int trackWidth;
        private int trackHeight;
        private boolean trackHasTkhd;
        private boolean video;
        private int width;
        private int height;
        private boolean audio;

        private Reader() {
        }

        /** Bytes read so far. */
        public long bytes() {
            return offset;
        }

        /** Why the file is refused, once it is; null while it may still be a good MP4. */
        public String refusal() {
            return refusal;
        }

        /** The next bytes of the file; false once the file is refused (what follows changes nothing). */
        public boolean feed(byte[] bytes, int from, int length) {
            return feed(ByteBuffer.wrap(bytes, from, length));
        }

        /** The next bytes of the file (the buffer's position moves to its limit); false once the file is refused. */
        public boolean feed(ByteBuffer bytes) {
            try {
                while (refusal == null && bytes.hasRemaining()) {
                    if (current != 0) {
                        payload(bytes);
                    } else {
                        header(bytes);
                    }
                }
            } catch (RuntimeException bug) {
                // every read is bounds-checked first; this only keeps a missed case from failing the caller
                refusal = "the file's structure could not be read";
            }
            if (refusal != null) {
                bytes.position(bytes.limit());
            }
            return refusal == null;
        }

        private void payload(ByteBuffer bytes) {
            int n = (int) Math.min(toEnd ? Integer.MAX_VALUE : remaining, bytes.remaining());
            int keep = Math.min(n, leafWant - leafFill);
            if (keep > 0) {
                bytes.get(leaf, leafFill, keep);
                leafFill += keep;
                bytes.position(bytes.position() + (n - keep));
            } else {
                bytes.position(bytes.position() + n);
            }
            offset += n;
            if (!toEnd) {
                remaining -= n;
                if (remaining == 0) {
                    endBox();
                }
            }
        }

        private void header(ByteBuffer bytes) {
            int n = Math.min(headerNeed - headerFill, bytes.remaining());
            bytes.get(header, headerFill, n);
            headerFill += n;
            offset += n;
            if (headerFill == 8 && u32(header, 0) == 1) {
                headerNeed = 16; // a 64-bit size follows the type
            }
            if (headerFill == headerNeed) {
                startBox();
            }
        }

        private void startBox() {
            long start = offset - headerNeed;
            long size32 = u32(header, 0);
            int type = (int) u32(header, 4);
            String name = name(type);
            long size = headerNeed == 16 ? s64(header, 8) : size32;
            int headerLength = headerNeed;
            headerFill = 0;
            headerNeed = 8;
            if (start == 0 && type != FTYP) {
                refuse("the bytes are not an MP4 file: they do not start with an ftyp box");
                return;
            }
            if (!printable(type)) {
                refuse("the MP4 has a box whose type is not four characters at byte " + start);
                return;
            }
            boolean topLevel = open.isEmpty();
            boolean walked = walked(type);
            if (size32 == 0 && headerLength == 8) {
                if (!topLevel || walked || type == FTYP) {
                    refuse("the MP4's " + name + " box has no size (only the last top-level box may run to the end of the file)");
                    return;
                }
                toEnd = true;
            } else if (size < headerLength) {
                refuse("the MP4's " + name + " box has an impossible size (" + size + ") at byte " + start);
                return;
            } else {
                toEnd = false;
            }
            long end = toEnd ? Long.MAX_VALUE : start + size;
            if (!topLevel && end > open.peek().end()) {
                refuse("the MP4's " + name + " box runs past the end of its " + name(open.peek().type()) + " box");
                return;
            }
            if (topLevel) {
                if (type == MOOV && ++moovs > 1) {
                    refuse("the MP4 has more than one moov box");
                    return;
                }
                if (type == MDAT) {
                    sawMdat = true;
                }
            }
            if (walked) {
                open.push(new Open(type, end));
                if (type == TRAK) {
                    trackHandler = 0;
                    trackHasTkhd = false;
                }
                closeFinished();
                return;
            }
            current = type;
            remaining = end - offset;
            leafFill = 0;
            leafWant = type == FTYP && topLevel ? (int) Math.min(FTYP_MAX, size - headerLength) : read(type) ? LEAF_MAX : 0;
            if (!toEnd && remaining == 0) {
                endBox();
            }
        }

        /** Containers walked into: moov at the top, its tracks, each track's media box. */
        private boolean walked(int type) {
            int parent = open.isEmpty() ? 0 : open.peek().type();
            return (type == MOOV && parent == 0) || (type == TRAK && parent == MOOV) || (type == MDIA && parent == TRAK);
        }

        /** Leaves read: the movie header, each track's header, each track's handler. */
        private boolean read(int type) {
            int parent = open.isEmpty() ? 0 : open.peek().type();
            return (type == MVHD && parent == MOOV) || (type == TKHD && parent == TRAK) || (type == HDLR && parent == MDIA);
        }

        private void endBox() {
            int type = current;
            current = 0;
            if (type == FTYP && open.isEmpty()) {
                ftyp();
            } else if (leafWant > 0) {
                int parent = open.peek().type();
                if (type == MVHD && parent == MOOV) {
                    mvhd();
                } else if (type == TKHD) {
                    tkhd();
                } else if (type == HDLR) {
                    trackHandler = leafFill >= 12 ? (int) u32(leaf, 8) : 0;
                }
            }
            leafWant = 0;
            closeFinished();
        }

        private void ftyp() {
            if (sawFtyp) {
                refuse("the MP4 has more than one ftyp box");
                return;
            }
            sawFtyp = true;
            if (leafFill < 8) {
                refuse("the MP4's ftyp box is too short to name a brand");
                return;
            }
            String major = new String(leaf, 0, 4, StandardCharsets.ISO_8859_1);
            boolean mp4 = MP4_BRANDS.contains(major);
            for (int p = 8; !mp4 && p + 4 <= leafFill; p += 4) {
                mp4 = MP4_BRANDS.contains(new String(leaf, p, 4, StandardCharsets.ISO_8859_1));
            }
            if (!mp4) {
                refuse("the file is not an MP4: its brand '" + printableBrand(major) + "' and compatible brands name no MP4 brand");
                return;
            }
            brand = major;
        }

        private void mvhd() {
            int version = leafFill > 0 ? leaf[0] & 0xFF : -1;
            if ((version == 0 && leafFill >= 20) || (version == 1 && leafFill >= 32)) {
                timescale = u32(leaf, version == 0 ? 12 : 20);
                duration = version == 0 ? u32(leaf, 16) : s64(leaf, 24);
                if (version == 0 && duration == 0xFFFF_FFFFL) {
                    duration = -1; // "unknown", as the spec spells it
                }
            } else {
                refuse("the MP4's mvhd box is too short or of an unknown version");
            }
        }

        private void tkhd() {
            int version = leafFill > 0 ? leaf[0] & 0xFF : -1;
            int need = version == 0 ? 84 : version == 1 ? 96 : Integer.MAX_VALUE;
            if (leafFill < need) {
                refuse("the MP4's tkhd box is too short or of an unknown version");
                return;
            }
            trackWidth = (int) (u32(leaf, need - 8) >>> 16);
            trackHeight = (int) (u32(leaf, need - 4) >>> 16);
            trackHasTkhd = true;
        }

        /** Closes every container that ends where the reader is; a track, closing, tells what it was. */
        private void closeFinished() {
            while (!open.isEmpty() && open.peek().end() == offset) {
                Open done = open.pop();
                if (done.type() == TRAK) {
                    if (trackHandler == VIDE && trackHasTkhd && !video) {
                        video = true;
                        width = trackWidth;
                        height = trackHeight;
                    } else if (trackHandler == SOUN) {
                        audio = true;
                    }
                }
            }
        }

        private void refuse(String reason) {
            if (refusal == null) {
                refusal = reason;
            }
        }

        /** The file has ended: what it is, or why it is not a usable MP4. */
        public Checked finish() {
            if (refusal == null) {
                refusal = verdict();
            }
            if (refusal != null) {
                return new Checked(null, refusal);
            }
            return new Checked(new VideoInfo(brand, timescale, duration, width, height, audio, offset), null);
        }

        private String verdict() {
            if (offset == 0) {
                return "the file is empty";
            }
            if (headerFill > 0) {
                return "the MP4 is cut off inside a box header at byte " + (offset - headerFill);
            }
            if (current != 0 && !toEnd) {
                return "the MP4 is cut off inside its " + name(current) + " box (" + missing(remaining) + ")";
            }
            if (!open.isEmpty()) {
                return "the MP4 is cut off inside its " + name(open.peek().type()) + " box (" + missing(open.peek().end() - offset) + ")";
            }
            if (moovs == 0) {
                return "the MP4 has no moov box";
            }
            if (timescale < 0) {
                return "the MP4's moov box has no mvhd box";
            }
            if (timescale == 0 || duration <= 0) {
                return "the MP4 has no duration (mvhd timescale " + timescale + ", duration " + duration + ")";
            }
            if (!video) {
                return "the MP4 has no video track";
            }
            if (!sawMdat) {
                return "the MP4 has no media data (no mdat box)";
            }
            return null;
        }
    }

    private static String missing(long bytes) {
        return bytes + (bytes == 1 ? " byte" : " bytes") + " missing";
    }

    private static int fourcc(String s) {
        byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
        return (b[0] & 0xFF) << 24 | (b[1] & 0xFF) << 16 | (b[2] & 0xFF) << 8 | (b[3] & 0xFF);
    }

    /** Box types are four characters: printable ASCII, or © (0xA9) as QuickTime's metadata boxes have. */
    private static boolean printable(int type) {
        for (int shift = 24; shift >= 0; shift -= 8) {
            int c = (type >>> shift) & 0xFF;
            if ((c < 0x20 || c > 0x7E) && c != 0xA9) {
                return false;
            }
        }
        return true;
    }

    private static String name(int type) {
        return printable(type) ? new String(new byte[] { (byte) (type >>> 24), (byte) (type >>> 16), (byte) (type >>> 8), (byte) type },
                StandardCharsets.ISO_8859_1) : String.format("0x%08x", type);
    }

    private static String printableBrand(String brand) {
        return brand.chars().allMatch(c -> c >= 0x20 && c <= 0x7E) ? brand : "(not text)";
    }

    private static long u32(byte[] b, int p) {
        return ((long) (b[p] & 0xFF) << 24) | ((b[p + 1] & 0xFF) << 16) | ((b[p + 2] & 0xFF) << 8) | (b[p + 3] & 0xFF);
    }

    /** A 64-bit size or duration; one with its top bit set reads as negative, which every check refuses. */
    private static long s64(byte[] b, int p) {
        return u32(b, p) << 32 | u32(b, p + 4);
    }
}
