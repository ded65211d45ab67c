package ai.atelier.storage;

import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

import jakarta.inject.Singleton;

import ai.atelier.config.AtelierConfig;
import ai.atelier.util.Contexts;
import io.smallrye.mutiny.Uni;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;

/**
 * Atelier's files in S3 through the async client. Every call is lazy and comes back on the caller's
 * Vert.x context, because the SDK completes its futures on its own threads and Hibernate Reactive
 * must only be touched from the context that opened the session.
 */
@Singleton
public class ObjectStore {

    private final S3AsyncClient s3;
    private final UrlSigner signer;
    private final AtelierConfig config;
    /** The circuit breaker's name, for its state in health and metrics. */
    public static final String BREAKER = "s3";

    /** Every call: the named circuit breaker. Puts also retry (idempotent: the same key and bytes). */
    private final io.smallrye.faulttolerance.api.Guard calls;
    private final io.smallrye.faulttolerance.api.Guard puts;

    /** S3 did not answer usably (down, 5xx, unreachable) or its circuit is open; the message never holds a key. */
    public static final class Unavailable extends RuntimeException {
        public Unavailable(String message) {
            super(message, null, false, false);
        }
    }

    private final io.vertx.ext.web.client.WebClient http;

    private final ai.atelier.telemetry.Traces traces;

    public ObjectStore(S3AsyncClient s3, UrlSigner signer, AtelierConfig config, io.vertx.core.Vertx vertx, ai.atelier.telemetry.Traces traces) {
        this.traces = traces;
        this.s3 = s3;
        this.signer = signer;
        // uploads go straight over Vert.x's client, signed by the SDK's signer: the SDK's async pipeline
        // (interceptors, endpoint rules, checksums, metrics, its own threads) cost more CPU than the rest of
        // storing an output, measured; reads, heads and deletes are rare and stay with the SDK
        this.http = io.vertx.ext.web.client.WebClient.create(vertx, new io.vertx.ext.web.client.WebClientOptions()
                .setMaxPoolSize(64).setKeepAlive(true).setConnectTimeout(10_000).setIdleTimeout(60)
                .setIdleTimeoutUnit(java.util.concurrent.TimeUnit.SECONDS).setTryUseCompression(false));
        this.config = config;
        this.calls = io.smallrye.faulttolerance.api.Guard.create().withDescription("s3")
                .withCircuitBreaker().name(BREAKER).requestVolumeThreshold(config.s3().breakerThreshold()).failureRatio(1.0).successThreshold(1)
                .delay(config.s3().breakerOpenFor().toMillis(), java.time.temporal.ChronoUnit.MILLIS)
                // a 4xx is an answer: the store is up
                .when(e -> !(e instanceof software.amazon.awssdk.services.s3.model.S3Exception s && s.statusCode() < 500)).done()
                .build();
        this.puts = io.smallrye.faulttolerance.api.Guard.create().withDescription("s3 upload")
                .withRetry().maxRetries(2).delay(200, java.time.temporal.ChronoUnit.MILLIS).jitter(100, java.time.temporal.ChronoUnit.MILLIS)
                .whenException(ObjectStore::retriable).done()
                .build();
    }

    public String bucket() {
        return config.s3().bucket();
    }

    /** Stores the bytes (a PUT replaces: storing again after a crash is harmless); retried on 5xx and lost connections. */
    public Uni<Void> put(String key, byte[] bytes, String contentType) {
        return call("PutObject", () -> puts.get(() -> upload(key, bytes, contentType), VOID).subscribeAsCompletionStage());
    }

    private Uni<Void> upload(String key, byte[] bytes, String contentType) {
        return Uni.createFrom().deferred(() -> {
            software.amazon.awssdk.http.SdkHttpRequest signed = signer.signedPut(bucket(), key, contentType, bytes.length);
            var request = http.request(io.vertx.core.http.HttpMethod.PUT, signed.port(), signed.host(), UrlSigner.requestUri(signed))
                    .ssl(UrlSigner.ssl(signed))
                    .timeout(config.s3().uploadTimeout().toMillis());
            signed.forEachHeader((name, values) -> {
                if (!name.equalsIgnoreCase("Host") && !name.equalsIgnoreCase("Content-Length")) {
                    values.forEach(v -> request.putHeader(name, v));
                }
            });
            return Uni.createFrom().completionStage(request.sendBuffer(io.vertx.core.buffer.Buffer.buffer(bytes)).toCompletionStage())
                    .map(response -> {
                        if (response.statusCode() / 100 != 2) {
                            throw software.amazon.awssdk.services.s3.model.S3Exception.builder().statusCode(response.statusCode())
                                    .message("S3 answered " + response.statusCode()).build();
                        }
                        return null;
                    });
        });
    }

    private static final jakarta.enterprise.util.TypeLiteral<Uni<Void>> VOID = new jakarta.enterprise.util.TypeLiteral<>() {
    };

    private static boolean retriable(Throwable e) {
        return !(e instanceof software.amazon.awssdk.services.s3.model.S3Exception s) || s.statusCode() >= 500;
    }

    public Uni<Void> delete(String key) {
        return call("DeleteObject", () -> s3.deleteObject(b -> b.bucket(bucket()).key(key))).replaceWithVoid();
    }

    /**
     * Deletes these objects one after the other, best effort: a leftover is harmless where this is used (files a refused
     * submit or a cancelled run no longer needs), and a delete that fails leaves only its own object behind.
     */
    public Uni<Void> deleteEach(java.util.List<String> keys) {
        return io.smallrye.mutiny.Multi.createFrom().iterable(keys)
                .onItem().transformToUniAndConcatenate(key -> delete(key).onFailure().recoverWithNull())
                .collect().last().replaceWithVoid();
    }

    public Uni<byte[]> get(String key) {
        return call("GetObject", () -> s3.getObject(b -> b.bucket(bucket()).key(key), AsyncResponseTransformer.toBytes()))
                .map(r -> r.asByteArray());
    }

    /** The object's size when it exists: lets a resumed store stage skip what it already copied. */
    public Uni<Long> size(String key) {
        return call("HeadObject", () -> s3.headObject(b -> b.bucket(bucket()).key(key)))
                .map(HeadObjectResponse::contentLength)
                .onFailure(NoSuchKeyException.class).recoverWithNull()
                .onFailure(e -> e instanceof software.amazon.awssdk.services.s3.model.S3Exception s && s.statusCode() == 404).recoverWithNull();
    }

    /** Starts a multipart upload of an object of this type; its upload id. */
    public Uni<String> startMultipart(String key, String contentType) {
        return call("CreateMultipartUpload", () -> s3.createMultipartUpload(b -> b.bucket(bucket()).key(key).contentType(contentType)))
                .map(software.amazon.awssdk.services.s3.model.CreateMultipartUploadResponse::uploadId);
    }

    /** Completes a multipart upload from its parts' ETags, in part order: the object appears whole, at once. */
    public Uni<Void> completeMultipart(String key, String uploadId, java.util.List<String> etags) {
        java.util.List<software.amazon.awssdk.services.s3.model.CompletedPart> parts = new java.util.ArrayList<>();
        for (int i = 0; i < etags.size(); i++) {
            parts.add(software.amazon.awssdk.services.s3.model.CompletedPart.builder().partNumber(i + 1).eTag(etags.get(i)).build());
        }
        return call("CompleteMultipartUpload", () -> s3.completeMultipartUpload(b -> b.bucket(bucket()).key(key).uploadId(uploadId)
                .multipartUpload(m -> m.parts(parts)))).replaceWithVoid();
    }

    /** Drops a multipart upload and every part sent so far: nothing of it is left in the bucket. */
    public Uni<Void> abortMultipart(String key, String uploadId) {
        return call("AbortMultipartUpload", () -> s3.abortMultipartUpload(b -> b.bucket(bucket()).key(key).uploadId(uploadId))).replaceWithVoid();
    }

    /**
     * Copies an object inside the bucket (S3 CopyObject: the store copies it, no byte passes through Atelier); idempotent, a
     * copy made again replaces the same key. A source that is gone fails with {@link NoSuchKeyException} or a 404 S3Exception.
     */
    public Uni<Void> copy(String fromKey, String toKey) {
        return call("CopyObject", () -> s3.copyObject(b -> b.sourceBucket(bucket()).sourceKey(fromKey).destinationBucket(bucket())
                .destinationKey(toKey))).replaceWithVoid();
    }

    public Uni<Void> checkBucket() {
        return call("HeadBucket", () -> s3.headBucket(b -> b.bucket(bucket()))).replaceWithVoid();
    }

    /** A presigned GET URL; pure computation (signing), no I/O. */
    public String presignGet(String key) {
        return signer.presignGet(bucket(), key, config.s3().presignExpiry());
    }

    /**
     * One S3 call (the SDK retries and times out by itself, see quarkus.s3.api-call-*) behind a circuit
     * breaker: after failures in a row, calls fail at once for a while instead of each waiting out its
     * timeouts. A 4xx is an answer (the store is up), not a failure.
     */
    private <T> Uni<T> call(String operation, Supplier<CompletionStage<T>> request) {
        return Uni.createFrom().deferred(() -> {
            io.opentelemetry.api.trace.Span span = traces.startS3(operation, bucket());
            return guarded(request).onTermination().invoke((item, failure, cancelled) -> ai.atelier.telemetry.Traces.end(span, failure));
        });
    }

    private <T> Uni<T> guarded(Supplier<CompletionStage<T>> request) {
        Uni<T> guarded = calls.get(() -> Contexts.backOnCaller(Uni.createFrom().completionStage(request)), new jakarta.enterprise.util.TypeLiteral<Uni<T>>() {
        });
        return guarded.onFailure().transform(e -> {
            Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
            if (cause instanceof org.eclipse.microprofile.faulttolerance.exceptions.CircuitBreakerOpenException) {
                return new Unavailable("S3 is failing; calls paused for " + config.s3().breakerOpenFor());
            }
            if (cause instanceof software.amazon.awssdk.services.s3.model.S3Exception s && s.statusCode() < 500) {
                return cause;
            }
            // words for a client or a job's error, never the SDK's class names
            return new Unavailable(cause instanceof software.amazon.awssdk.services.s3.model.S3Exception s
                    ? "S3 failed (HTTP " + s.statusCode() + ")" : "S3 failed: it could not be reached or did not answer in time");
        });
    }
}
