package ai.atelier.storage;

import java.net.URI;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.quarkus.logging.Log;
import io.vertx.core.Vertx;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.identity.spi.IdentityProvider;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.utils.http.SdkHttpUtils;

/**
 * Presigned S3 GET URLs with the SDK's own SigV4 signer, called directly. The SDK's {@code S3Presigner}
 * gives the same URL but runs a whole request pipeline (interceptors, endpoint rules, metrics) for
 * each one: measured at about 1 ms of CPU per URL, the largest single cost of a job's view. The
 * signer alone is a few HMACs. Endpoint, region and credentials are the S3 client's own (Quarkus
 * configures it), so both sign for the same store; credentials are resolved off the event loop and
 * refreshed in the background, because a provider (web identity, instance role) may call the network.
 */
@ApplicationScoped
@io.quarkus.runtime.Startup // resolves its credentials at start, on the main thread, not on an event loop at the first read
public class UrlSigner {

    private static final long REFRESH_MS = TimeUnit.MINUTES.toMillis(1);

    private final AwsV4HttpSigner signer = AwsV4HttpSigner.create();
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

    UrlSigner(S3AsyncClient s3, Vertx vertx, @ConfigProperty(name = "quarkus.s3.path-style-access", defaultValue = "false") boolean pathStyle) {
        var client = s3.serviceClientConfiguration();
        this.credentialsProvider = client.credentialsProvider();
        this.region = client.region().id();
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

    private void refresh() {
        credentialsProvider.resolveIdentity().whenComplete((c, e) -> {
            if (c != null) {
                credentials = c;
            } else {
                Log.warnf("S3 credentials not refreshed (the previous ones stay in use): %s", e == null ? "none" : e.getClass().getSimpleName());
            }
        });
    }

    private SdkHttpRequest.Builder target(SdkHttpMethod method, String bucket, String key) {
        String encodedKey = SdkHttpUtils.urlEncodeIgnoreSlashes(key);
        return SdkHttpRequest.builder().method(method).protocol(scheme).host(pathStyle ? host : bucket + "." + host).port(port)
                .encodedPath(basePath + (pathStyle ? "/" + bucket + "/" + encodedKey : "/" + encodedKey));
    }

    /**
     * A PUT of {@code length} bytes signed in its headers (SigV4, payload not hashed: hashing every output
     * costs a few ms of CPU per megabyte, and TLS already protects the bytes in transit).
     */
    public SdkHttpRequest signedPut(String bucket, String key, String contentType, long length) {
        SdkHttpRequest request = target(SdkHttpMethod.PUT, bucket, key).putHeader("Content-Type", contentType)
                .putHeader("Content-Length", String.valueOf(length)).build();
        return signedInHeaders(request);
    }

    /**
     * A multipart upload's part: a PUT of {@code length} bytes to {@code ?partNumber=n&uploadId=…}, signed in its headers
     * with an unsigned payload, like {@link #signedPut}, so the bytes can be streamed as they arrive.
     */
    public SdkHttpRequest signedPart(String bucket, String key, String uploadId, int partNumber, long length) {
        SdkHttpRequest request = target(SdkHttpMethod.PUT, bucket, key).putRawQueryParameter("partNumber", String.valueOf(partNumber))
                .putRawQueryParameter("uploadId", uploadId).putHeader("Content-Length", String.valueOf(length)).build();
        return signedInHeaders(request);
    }

    /** {@code request} signed in its headers (SigV4 for S3), its payload unsigned so it can be streamed. */
    private SdkHttpRequest signedInHeaders(SdkHttpRequest request) {
        AwsCredentialsIdentity identity = credentials;
        return signer.sign(r -> r.identity(identity).request(request)
                .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "s3")
                .putProperty(AwsV4HttpSigner.REGION_NAME, region)
                .putProperty(AwsV4HttpSigner.PAYLOAD_SIGNING_ENABLED, false)
                .putProperty(AwsV4HttpSigner.DOUBLE_URL_ENCODE, false)
                .putProperty(AwsV4HttpSigner.NORMALIZE_PATH, false))
                .request();
    }

    /** A GET URL for {@code key} in {@code bucket}, valid for {@code expiry}; pure computation. */
    public String presignGet(String bucket, String key, Duration expiry) {
        SdkHttpRequest request = target(SdkHttpMethod.GET, bucket, key).build();
        AwsCredentialsIdentity identity = credentials;
        return signer.sign(r -> r.identity(identity).request(request)
                .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "s3")
                .putProperty(AwsV4HttpSigner.REGION_NAME, region)
                .putProperty(AwsV4HttpSigner.AUTH_LOCATION, AwsV4FamilyHttpSigner.AuthLocation.QUERY_STRING)
                .putProperty(AwsV4HttpSigner.EXPIRATION_DURATION, expiry)
                .putProperty(AwsV4HttpSigner.PAYLOAD_SIGNING_ENABLED, false)
                // S3 signs the path as sent: no double encoding, no normalisation (as the SDK's S3 presigner does)
                .putProperty(AwsV4HttpSigner.DOUBLE_URL_ENCODE, false)
                .putProperty(AwsV4HttpSigner.NORMALIZE_PATH, false))
                .request().getUri().toString();
    }
}
