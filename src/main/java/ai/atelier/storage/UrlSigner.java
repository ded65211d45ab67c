package ai.atelier.storage;

import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.quarkus.logging.Log;
import io.vertx.core.Vertx;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.identity.spi.IdentityProvider;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.utils.http.SdkHttpUtils;

/**
 * Presigned S3 GET URLs and PUTs signed in their headers, with SigV4 done here ({@link SigV4}, the signing key derived
 * once a day). The SDK's {@code S3Presigner} gives the same URL but runs a whole request pipeline (interceptors,
 * endpoint rules, metrics) for each one: measured at about 1 ms of CPU per URL, the largest single cost of a job's
 * view; its bare signer still derives the key and builds the request anew each time. Endpoint, region and credentials are the S3 client's own (Quarkus
 * configures it), so both sign for the same store; credentials are resolved off the event loop and
 * refreshed in the background, because a provider (web identity, instance role) may call the network.
 */
@Singleton
@io.quarkus.runtime.Startup // resolves its credentials at start, on the main thread, not on an event loop at the first read
public class UrlSigner {

    private static final long REFRESH_MS = TimeUnit.MINUTES.toMillis(1);

    private final IdentityProvider<? extends AwsCredentialsIdentity> credentialsProvider;
    private final String region;
    private final String scheme;
    private final String host;
    private final int port;
    private final String basePath;
    private final boolean pathStyle;
    private final Vertx vertx;
    private final long timer;
    private volatile AwsCredentialsIdentity credentials;
    private final SigV4 sigV4;

    UrlSigner(S3AsyncClient s3, Vertx vertx, @ConfigProperty(name = "quarkus.s3.path-style-access", defaultValue = "false") boolean pathStyle) {
        var client = s3.serviceClientConfiguration();
        this.credentialsProvider = client.credentialsProvider();
        this.region = client.region().id();
        this.sigV4 = new SigV4(region);
        URI endpoint = client.endpointOverride().orElse(URI.create("https://s3." + region + ".amazonaws.com"));
        this.scheme = endpoint.getScheme();
        this.host = endpoint.getHost();
        this.port = endpoint.getPort();
        this.basePath = endpoint.getRawPath() == null || endpoint.getRawPath().equals("/") ? "" : endpoint.getRawPath().replaceAll("/$", "");
        this.pathStyle = pathStyle;
        this.vertx = vertx;
        this.credentials = credentialsProvider.resolveIdentity().join();
        this.timer = vertx.setPeriodic(REFRESH_MS, id -> refresh());
    }

    @PreDestroy
    void stop() {
        vertx.cancelTimer(timer);
    }

    /**
     * On a worker: the SDK's default providers resolve synchronously, and near expiry web-identity, container and
     * instance credentials make an HTTP call inside {@code resolveIdentity()}; on the instance's one event loop that
     * would stall every request (and the probes) for as long.
     */
    private void refresh() {
        vertx.<AwsCredentialsIdentity>executeBlocking(() -> credentialsProvider.resolveIdentity().join(), false).onComplete(done -> {
            if (done.succeeded() && done.result() != null) {
                credentials = done.result();
            } else {
                Throwable e = done.cause();
                Log.warnf("S3 credentials not refreshed (the previous ones stay in use): %s", e == null ? "none" : e.getClass().getSimpleName());
            }
        });
    }

    private SdkHttpRequest.Builder target(SdkHttpMethod method, String bucket, String key) {
        return SdkHttpRequest.builder().method(method).protocol(scheme).host(hostName(bucket)).port(port)
                .encodedPath(encodedPath(bucket, key));
    }

    private String encodedPath(String bucket, String key) {
        // Atelier's own keys are ASCII letters, digits, '-', '.', '_' and '/', which encode to themselves; the SDK's
        // encoder (URLEncoder and three replacements) cost about 1% of the server's CPU at 1,000 jobs in flight
        String encodedKey = encodesToItself(key) ? key : SdkHttpUtils.urlEncodeIgnoreSlashes(key);
        return basePath + (pathStyle ? "/" + bucket + "/" + encodedKey : "/" + encodedKey);
    }

    /** Whether every character of the key is an RFC 3986 unreserved one or '/': then its path encoding is the key. */
    static boolean encodesToItself(String key) {
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~'
                    || c == '/')) {
                return false;
            }
        }
        return true;
    }

    /** The endpoint's host, or the bucket's virtual host on it. */
    private String hostName(String bucket) {
        return pathStyle ? host : bucket + "." + host;
    }

    /** The Host header as signed (and as an HTTP client sends it): the port only when it is not the scheme's own. */
    private String hostHeader(String bucket) {
        String h = hostName(bucket);
        boolean standard = port < 0 || ("https".equals(scheme) && port == 443) || ("http".equals(scheme) && port == 80);
        return standard ? h : h + ":" + port;
    }

    /**
     * A PUT of {@code length} bytes signed in its headers (SigV4, payload not hashed: hashing every output
     * costs a few ms of CPU per megabyte, and TLS already protects the bytes in transit).
     */
    public SdkHttpRequest signedPut(String bucket, String key, String contentType, long length) {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Content-Type", contentType);
        headers.put("Content-Length", String.valueOf(length));
        return signedInHeaders(target(SdkHttpMethod.PUT, bucket, key), bucket, Map.of(), headers);
    }

    /**
     * A multipart upload's part: a PUT of {@code length} bytes to {@code ?partNumber=n&uploadId=…}, signed in its headers
     * with an unsigned payload, like {@link #signedPut}, so the bytes can be streamed as they arrive.
     */
    public SdkHttpRequest signedPart(String bucket, String key, String uploadId, int partNumber, long length) {
        Map<String, String> query = new LinkedHashMap<>();
        query.put("partNumber", String.valueOf(partNumber));
        query.put("uploadId", uploadId);
        SdkHttpRequest.Builder request = target(SdkHttpMethod.PUT, bucket, key);
        query.forEach(request::putRawQueryParameter);
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Content-Length", String.valueOf(length));
        return signedInHeaders(request, bucket, query, headers);
    }

    /** {@code request} with {@code headers}, signed in its headers (SigV4 for S3), its payload unsigned so it can be streamed. */
    private SdkHttpRequest signedInHeaders(SdkHttpRequest.Builder request, String bucket, Map<String, String> query,
            Map<String, String> headers) {
        String hostHeader = hostHeader(bucket);
        Map<String, String> signedOver = new LinkedHashMap<>(headers);
        signedOver.put("Host", hostHeader);
        Map<String, String> added = sigV4.signHeaders(credentials, request.method().name(), request.encodedPath(), query, signedOver,
                Instant.now());
        signedOver.forEach(request::putHeader);
        added.forEach(request::putHeader);
        return request.build();
    }

    /**
     * The request's path and query as sent, for an HTTP client given the host, port and scheme apart: the SDK's
     * {@code getUri()} builds the whole URL as text and parses it back ({@code java.net.URI}), about 0.6% of the
     * server's CPU at 1,000 jobs in flight for one PUT per output, and the client then parsed it once more.
     */
    public static String requestUri(SdkHttpRequest request) {
        return request.encodedPath() + SdkHttpUtils.encodeAndFlattenQueryParameters(request.rawQueryParameters()).map(q -> "?" + q).orElse("");
    }

    public static boolean ssl(SdkHttpRequest request) {
        return "https".equalsIgnoreCase(request.protocol());
    }

    /** A GET URL for {@code key} in {@code bucket}, valid for {@code expiry}; pure computation. */
    public String presignGet(String bucket, String key, Duration expiry) {
        return sigV4.presign(credentials, "GET", scheme, hostHeader(bucket), encodedPath(bucket, key), expiry, Instant.now());
    }
}
