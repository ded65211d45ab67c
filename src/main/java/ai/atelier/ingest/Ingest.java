package ai.atelier.ingest;

import java.util.Base64;
import java.util.List;
import java.util.UUID;

import jakarta.inject.Singleton;

import ai.atelier.config.AtelierConfig;
import ai.atelier.jobs.JobFile;
import ai.atelier.problem.Problem;
import ai.atelier.storage.ObjectStore;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

/**
 * The ingest stage: takes each input image (an upload, an http(s) URL or a data URL), checks it by
 * its bytes, whatever its name or declared type says, and stores it in S3 under the job's prefix.
 */
@Singleton
public class Ingest {

    /** One input as the client gave it: bytes of an upload, or a URL (http, https or data). */
    public record Source(byte[] bytes, String url, String role) {

        public static Source upload(byte[] bytes, String role) {
            return new Source(bytes, null, role);
        }

        public static Source url(String url, String role) {
            return new Source(null, url, role);
        }
    }

    private final ImageFetcher fetcher;
    private final ObjectStore store;
    private final AtelierConfig.Ingest config;

    public Ingest(ImageFetcher fetcher, ObjectStore store, AtelierConfig config) {
        this.fetcher = fetcher;
        this.store = store;
        this.config = config.ingest();
    }

    /** Inputs from this size on are decoded and checked on a worker (see {@link #work}). */
    static final int OFF_LOOP_BYTES = 256 * 1024;

    public Uni<List<JobFile>> ingest(String tenant, UUID jobId, List<Source> sources) {
        if (sources.isEmpty()) {
            return Uni.createFrom().item(List.of());
        }
        io.vertx.core.Context caller = io.vertx.core.Vertx.currentContext();
        // every image fetched and checked before the first is stored: a refused request stores nothing
        return Multi.createFrom().range(0, sources.size())
                .onItem().transformToUniAndConcatenate(i -> bytesOf(sources.get(i), i, caller)
                        .chain(bytes -> work(bytes.length, () -> new Checked(i, bytes, check(bytes, i)), caller)))
                .collect().asList()
                .chain(checked -> {
                    List<JobFile> stored = new java.util.concurrent.CopyOnWriteArrayList<>();
                    return Multi.createFrom().iterable(checked)
                            .onItem().transformToUniAndConcatenate(c -> store(tenant, jobId, c, sources.get(c.index()).role()).invoke(stored::add))
                            .collect().asList()
                            // S3 failed half-way: what was stored goes too (the submit is answered 503, nothing is accepted)
                            .onFailure().call(e -> discard(List.copyOf(stored)));
                });
    }

    private record Checked(int index, byte[] bytes, ImageInfo info) {
    }

    /**
     * Fetches and checks one image like any input, without storing it: for one-off calls (product
     * analysis) that hand fal the picture as a data URL.
     */
    public Uni<String> asDataUrl(Source source) {
        io.vertx.core.Context caller = io.vertx.core.Vertx.currentContext();
        return bytesOf(source, 0, caller).chain(bytes -> work(bytes.length, () -> {
            ImageInfo info = check(bytes, 0);
            return "data:" + info.contentType() + ";base64," + Base64.getEncoder().encodeToString(info.strip(bytes));
        }, caller));
    }

    /**
     * CPU work on an input's bytes (base64, a JPEG's scan, a PNG's checksums: tens of milliseconds for a 20 MiB
     * picture): at once for a small input, on a worker for a large one, so the instance's one event loop goes on
     * serving every other request meanwhile; the result comes back on the caller's context.
     */
    private static <T> Uni<T> work(int size, java.util.function.Supplier<T> job, io.vertx.core.Context caller) {
        if (size < OFF_LOOP_BYTES || caller == null) {
            return Uni.createFrom().item(job);
        }
        return ai.atelier.util.Contexts.backOn(caller,
                Uni.createFrom().item(job).runSubscriptionOn(io.smallrye.mutiny.infrastructure.Infrastructure.getDefaultWorkerPool()));
    }

    /** A refused submit's photos leave S3 again (best effort: a leftover is harmless, a failure here must not hide the refusal). */
    public Uni<Void> discard(List<JobFile> files) {
        return store.deleteEach(files.stream().map(JobFile::key).toList());
    }

    /** The bytes of a base64 data URL, or null when it is not one (or not valid): for sizes a quote may use. */
    public static byte[] dataUrlBytes(String url) {
        if (url == null || !url.regionMatches(true, 0, "data:", 0, 5)) {
            return null;
        }
        int comma = url.indexOf(',');
        try {
            return comma < 0 ? null : Base64.getMimeDecoder().decode(url.substring(comma + 1));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private Uni<byte[]> bytesOf(Source source, int index, io.vertx.core.Context caller) {
        if (source.bytes() != null) {
            return Uni.createFrom().item(source.bytes());
        }
        String url = source.url() == null ? "" : source.url().trim();
        if (url.regionMatches(true, 0, "data:", 0, 5)) {
            return work(url.length(), () -> decodeDataUrl(url, index), caller);
        }
        return fetcher.fetch(url);
    }

    private byte[] decodeDataUrl(String url, int index) {
        int comma = url.indexOf(',');
        if (comma < 0 || !url.substring(0, comma).toLowerCase().endsWith(";base64")) {
            throw Problem.invalid("invalid-data-url", "Invalid data URL", "Image " + (index + 1) + " is a data URL without ';base64,' data");
        }
        long approxBytes = (long) (url.length() - comma - 1) * 3 / 4;
        if (approxBytes > config.maxBytes()) {
            throw tooManyBytes(index, approxBytes);
        }
        try {
            return Base64.getMimeDecoder().decode(url.substring(comma + 1));
        } catch (IllegalArgumentException e) {
            throw Problem.invalid("invalid-data-url", "Invalid data URL", "Image " + (index + 1) + " is a data URL whose base64 is not valid");
        }
    }

    /** Checks an image by its bytes and stores it; the checks are the ones every input meets, however it came. */
    private ImageInfo check(byte[] bytes, int index) {
        if (bytes.length > config.maxBytes()) {
            throw tooManyBytes(index, bytes.length);
        }
        ImageInfo.Checked checked = ImageInfo.check(bytes);
        if (!checked.ok()) {
            throw Problem.invalid("unsupported-image", "Unsupported image", "Image " + (index + 1)
                    + " is not a complete PNG, JPEG or WebP file (judged by its bytes, not its name or declared type): " + checked.refusal());
        }
        ImageInfo info = checked.image();
        if (info.width() < config.minSide() || info.height() < config.minSide()) {
            throw Problem.invalid("image-too-small", "Image too small", "Image " + (index + 1) + " is " + info.width() + "×" + info.height()
                    + " pixels; each side must be at least " + config.minSide());
        }
        if (info.pixels() > config.maxPixels()) {
            throw Problem.invalid("image-too-large", "Image too large", "Image " + (index + 1) + " is " + info.width() + "×" + info.height()
                    + " = " + info.pixels() + " pixels; the limit is " + config.maxPixels());
        }
        return info;
    }

    private Uni<JobFile> store(String tenant, UUID jobId, Checked c, String role) {
        byte[] image = c.info().strip(c.bytes()); // what follows the image's end (a polyglot's HTML) is not part of it
        String key = ai.atelier.storage.StorageKeys.input(tenant, jobId, c.index(), c.info().extension());
        return store.put(key, image, c.info().contentType())
                .replaceWith(new JobFile(key, c.info().contentType(), c.info().width(), c.info().height(), image.length, role, null, null,
                        ai.atelier.cache.CacheKey.sha256(image)));
    }

    private Problem tooManyBytes(int index, long bytes) {
        return Problem.tooLarge("image-too-many-bytes", "Image " + (index + 1) + " has " + bytes + " bytes; the limit is " + config.maxBytes());
    }
}
