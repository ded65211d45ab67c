package ai.atelier.storage;

import java.util.ArrayList;
import java.util.List;

import jakarta.inject.Singleton;

import ai.atelier.config.AtelierConfig;
import ai.atelier.ingest.VideoInfo;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.UniEmitter;
import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import software.amazon.awssdk.http.SdkHttpRequest;

/**
 * Copies a video from fal's file URL into S3 without ever holding it: the download is streamed into an S3 multipart
 * upload, each part a PUT whose body is the bytes as they arrive, with backpressure both ways (the download pauses
 * while S3 is slower, and at each part's end until S3 has answered for it). However large the clip, a copy holds a
 * few network buffers, never a part and never the file; nothing waits on a thread, everything runs on one Vert.x
 * context.
 *
 * <p>The bytes are checked as they pass: {@link VideoInfo} walks the ISO-BMFF boxes, the count must reach fal's
 * {@code file_size} (or the Content-Length when fal gave none) exactly, never pass it or the byte cap. The upload is
 * completed only once the whole file has passed; any fault (a refused file, a short or cut body, an expired URL,
 * a timeout, S3 failing) aborts the multipart upload, so nothing of the copy is left in the bucket. The parts are
 * {@code atelier.video.part-size} each (S3 takes 5 MiB or more), the last one the rest. Creating, completing and
 * aborting go through {@link ObjectStore} (the S3 client, its circuit breaker and spans); the parts are PUTs signed
 * by {@link UrlSigner} and sent over Vert.x, like every other upload here.
 *
 * <p>fal's file URLs come from fal's own answers, as the pictures' do, so they are fetched as the pictures are:
 * redirects followed, without the SSRF guard that client-given URLs pass.
 */
@Singleton
public class VideoCopier {

    /** S3's smallest part but the last. */
    static final long MIN_PART = 5L * 1024 * 1024;

    /** What was copied: the object's key, its length and what the bytes are. */
    public record Copied(String key, long bytes, VideoInfo video) {
    }

    /** Why a copy failed; nothing of it is left in S3. The message never holds a URL's query (fal's signature) or a key. */
    public static final class Failed extends RuntimeException {

        /** What failed: the file itself, reading it, or storing it. */
        public enum Reason {
            /** The bytes are no usable MP4, or not as many as fal said, or too many: fetching again will not help. */
            INVALID_OUTPUT("invalid_output"),
            /** The file could not be read (an error status such as an expired URL's 404, a cut connection, a timeout). */
            UNREADABLE("output_unreadable"),
            /** S3 failed: the copy may be tried again. */
            STORAGE("storage_unavailable");

            private final String code;

            Reason(String code) {
                this.code = code;
            }

            /** The job error code it stands for. */
            public String code() {
                return code;
            }
        }

        private final Reason reason;

        Failed(Reason reason, String message) {
            super(message, null, false, false);
            this.reason = reason;
        }

        public Reason reason() {
            return reason;
        }
    }

    private final ObjectStore store;
    private final UrlSigner signer;
    private final AtelierConfig.Video config;
    private final Vertx vertx;
    private final HttpClient downloads;
    private final HttpClient uploads;

    public VideoCopier(ObjectStore store, UrlSigner signer, AtelierConfig config, Vertx vertx) {
        this.store = store;
        this.signer = signer;
        this.config = config.video();
        this.vertx = vertx;
        if (this.config.partSize().asLongValue() < MIN_PART) {
            throw new IllegalArgumentException("atelier.video.part-size must be at least 5M (S3's smallest part)");
        }
        this.downloads = vertx.createHttpClient(new HttpClientOptions().setMaxPoolSize(64).setKeepAlive(true)
                .setConnectTimeout((int) this.config.connectTimeout().toMillis()).setTryUseCompression(false));
        this.uploads = vertx.createHttpClient(new HttpClientOptions().setMaxPoolSize(64).setKeepAlive(true)
                .setConnectTimeout((int) this.config.connectTimeout().toMillis()).setTryUseCompression(false));
    }

    /**
     * Copies the clip at {@code url} to {@code key}, as {@code video/mp4}.
     *
     * @param fileSize fal's {@code file_size}, or null when fal gave none (the Content-Length decides then)
     * @return the copy, or a {@link Failed} (after the upload was aborted); cancelling aborts the copy too
     */
    public Uni<Copied> copy(String url, Long fileSize, String key) {
        return Uni.createFrom().emitter(emitter -> {
            Context context = vertx.getOrCreateContext();
            Copy copy = new Copy(url, fileSize, key, emitter, context);
            emitter.onTermination(() -> context.runOnContext(v -> copy.fail(null)));
            context.runOnContext(v -> copy.start());
        });
    }

    /** One copy's state; every method runs on its context, one at a time. */
    private final class Copy {
        private final String url;
        private final Long fileSize;
        private final String key;
        private final UniEmitter<? super Copied> emitter;
        private final Context context;
        private final VideoInfo.Reader reader = VideoInfo.reader();
        private final long partSize = config.partSize().asLongValue();
        private final List<String> etags = new ArrayList<>();
        private HttpClientRequest download;
        private HttpClientResponse response;
        private long total;
        private long received;
        private boolean downloaded;
        private String uploadId;
        private int parts;
        private int partNumber;
        private HttpClientRequest part;
        private long partLength;
        private long partWritten;
        /** Bytes of the download that belong to the next part, held while it opens (less than one network read). */
        private Buffer pending;
        private boolean over;

        Copy(String url, Long fileSize, String key, UniEmitter<? super Copied> emitter, Context context) {
            this.url = url;
            this.fileSize = fileSize;
            this.key = key;
            this.emitter = emitter;
            this.context = context;
        }

        void start() {
            RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setAbsoluteURI(url).setFollowRedirects(true)
                    .setConnectTimeout(config.connectTimeout().toMillis()).setIdleTimeout(config.readTimeout().toMillis());
            downloads.request(options).onComplete(ar -> {
                if (ar.failed()) {
                    fail(new Failed(Failed.Reason.UNREADABLE, "the video could not be fetched from " + where() + ": " + describe(ar.cause())));
                    return;
                }
                download = ar.result();
                if (over) {
                    download.reset();
                    return;
                }
                download.send().onComplete(this::answered);
            });
        }

        private void answered(AsyncResult<HttpClientResponse> ar) {
            if (over) {
                return;
            }
            if (ar.failed()) {
                fail(new Failed(Failed.Reason.UNREADABLE, "the video could not be fetched from " + where() + ": " + describe(ar.cause())));
                return;
            }
            response = ar.result();
            response.pause(); // nothing flows until the upload is there to take it
            if (response.statusCode() != 200) {
                fail(new Failed(Failed.Reason.UNREADABLE, where() + " answered HTTP " + response.statusCode()
                        + (response.statusCode() == 404 || response.statusCode() == 403 || response.statusCode() == 410 ? " (the file has expired or is gone)" : "")));
                return;
            }
            String header = response.getHeader("Content-Length");
            Long length = header != null && header.matches("\\d{1,18}") ? Long.valueOf(header) : null;
            if (fileSize != null && length != null && !fileSize.equals(length)) {
                fail(invalid("fal gave the video's file_size as " + fileSize + " bytes, but its host sends " + length));
                return;
            }
            if (fileSize == null && length == null) {
                fail(invalid("the video's size is not known: fal gave no file_size and its host no Content-Length"));
                return;
            }
            total = fileSize != null ? fileSize : length;
            long max = config.maxBytes().asLongValue();
            if (total > max) {
                fail(invalid("the video has " + total + " bytes, more than the " + max + " allowed"));
                return;
            }
            if (total <= 0) {
                fail(invalid("the video is empty"));
                return;
            }
            parts = (int) ((total + partSize - 1) / partSize);
            response.handler(this::received);
            response.endHandler(v -> ended());
            response.exceptionHandler(e -> fail(new Failed(Failed.Reason.UNREADABLE, "the download broke off after " + received + " of "
                    + total + " bytes: " + describe(e))));
            store.startMultipart(key, VideoInfo.CONTENT_TYPE).subscribe().with(id -> context.runOnContext(v -> {
                uploadId = id;
                if (over) {
                    abort(); // the copy ended while S3 was starting the upload
                } else {
                    openPart(1);
                }
            }), e -> context.runOnContext(v -> fail(storage(e))));
        }

        /** Opens part {@code n}'s PUT; once it is connected the held bytes go first, then the download flows again. */
        private void openPart(int n) {
            partNumber = n;
            partLength = Math.min(partSize, total - (n - 1) * partSize);
            partWritten = 0;
            SdkHttpRequest signed = signer.signedPart(store.bucket(), key, uploadId, n, partLength);
            RequestOptions options = new RequestOptions().setMethod(HttpMethod.PUT).setHost(signed.host()).setPort(signed.port())
                    .setSsl(UrlSigner.ssl(signed)).setURI(UrlSigner.requestUri(signed))
                    .setConnectTimeout(config.connectTimeout().toMillis()).setIdleTimeout(config.readTimeout().toMillis());
            signed.forEachHeader((name, values) -> {
                if (!name.equalsIgnoreCase("Host")) {
                    values.forEach(value -> options.addHeader(name, value));
                }
            });
            uploads.request(options).onComplete(ar -> {
                if (ar.failed()) {
                    fail(storage(ar.cause()));
                    return;
                }
                part = ar.result();
                if (over) {
                    part.reset();
                    return;
                }
                part.response().onComplete(answer -> partAnswered(n, answer));
                Buffer held = pending;
                pending = null;
                if (held != null) {
                    write(held);
                }
                if (!over && pending == null && partWritten < partLength) {
                    response.resume();
                }
            });
        }

        private void received(Buffer chunk) {
            if (over) {
                return;
            }
            received += chunk.length();
            if (received > total) {
                fail(invalid("the video has more bytes than the " + total + " fal said"));
                return;
            }
            if (!reader.feed(chunk.getByteBuf().nioBuffer())) {
                fail(invalid("the video is not a usable MP4: " + reader.refusal()));
                return;
            }
            write(chunk);
        }

        /** Writes bytes into the open part; what passes its end is held for the next part, and the download waits for it. */
        private void write(Buffer bytes) {
            int n = (int) Math.min(bytes.length(), partLength - partWritten);
            part.write(n == bytes.length() ? bytes : bytes.slice(0, n));
            partWritten += n;
            if (partWritten == partLength) {
                part.end();
                if (n < bytes.length()) {
                    // bytes past the last part are past fal's file_size, which received() refuses before they get here
                    pending = bytes.slice(n, bytes.length());
                }
                if (partNumber < parts) {
                    response.pause(); // until S3 has this part and the next one is open
                }
                return;
            }
            if (part.writeQueueFull()) {
                response.pause();
                part.drainHandler(v -> {
                    if (!over && partWritten < partLength) {
                        response.resume();
                    }
                });
            }
        }

        private void partAnswered(int n, AsyncResult<HttpClientResponse> answer) {
            if (over) {
                return;
            }
            if (answer.failed()) {
                fail(storage(answer.cause()));
                return;
            }
            HttpClientResponse r = answer.result();
            r.end(); // drain S3's (empty) body so the connection goes back to the pool
            if (r.statusCode() != 200 || r.getHeader("ETag") == null) {
                fail(new Failed(Failed.Reason.STORAGE, "S3 refused part " + n + " of the video (HTTP " + r.statusCode() + ")"));
                return;
            }
            if (partWritten < partLength) {
                // S3 answered before it had the whole part: it will not take the rest
                fail(new Failed(Failed.Reason.STORAGE, "S3 answered part " + n + " of the video before it was whole"));
                return;
            }
            etags.add(r.getHeader("ETag"));
            part = null;
            if (n < parts) {
                openPart(n + 1);
            } else {
                finish();
            }
        }

        private void ended() {
            if (over) {
                return;
            }
            downloaded = true;
            if (received < total) {
                fail(invalid("the video ended after " + received + " of the " + total + " bytes fal said"));
                return;
            }
            finish();
        }

        /** Once the last byte has arrived and S3 holds every part: the verdict on the whole file, then the object appears. */
        private void finish() {
            if (!downloaded || etags.size() < parts || over) {
                return;
            }
            VideoInfo.Checked checked = reader.finish();
            if (!checked.ok()) {
                fail(invalid("the video is not a usable MP4: " + checked.refusal()));
                return;
            }
            store.completeMultipart(key, uploadId, List.copyOf(etags)).subscribe().with(v -> context.runOnContext(x -> {
                if (!over) {
                    over = true;
                    emitter.complete(new Copied(key, total, checked.video()));
                }
            }), e -> context.runOnContext(x -> fail(storage(e))));
        }

        /** Ends the copy: both connections dropped, the multipart upload aborted, then the failure told (null: cancelled, told nothing). */
        void fail(Failed failure) {
            if (over) {
                return;
            }
            over = true;
            if (part != null) {
                part.reset();
            }
            if (download != null) {
                download.reset(); // an HTTP/1.1 reset closes the connection: the rest of the file is not read
            }
            if (uploadId == null) {
                if (failure != null) {
                    emitter.fail(failure);
                }
                return; // an upload still being started is aborted when it is (startMultipart's callback)
            }
            store.abortMultipart(key, uploadId).subscribe().with(v -> context.runOnContext(x -> {
                if (failure != null) {
                    emitter.fail(failure);
                }
            }), e -> context.runOnContext(x -> {
                // S3's lifecycle rule for incomplete multipart uploads is the last line: the object itself never appeared
                Log.warnf("A failed video copy's multipart upload could not be aborted (%s)", e.getMessage());
                if (failure != null) {
                    emitter.fail(failure);
                }
            }));
        }

        private void abort() {
            store.abortMultipart(key, uploadId).subscribe().with(v -> {
            }, e -> Log.warnf("A cancelled video copy's multipart upload could not be aborted (%s)", e.getMessage()));
        }

        /** The file's host and path, without the query (a signature) for messages. */
        private String where() {
            int q = url.indexOf('?');
            return q < 0 ? url : url.substring(0, q);
        }
    }

    private static Failed invalid(String message) {
        return new Failed(Failed.Reason.INVALID_OUTPUT, message);
    }

    private static Failed storage(Throwable e) {
        return new Failed(Failed.Reason.STORAGE, e instanceof ObjectStore.Unavailable u ? u.getMessage()
                : "S3 failed while the video was copied: " + describe(e));
    }

    private static String describe(Throwable e) {
        String message = e.getMessage();
        return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
    }
}
