package ai.atelier.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.HttpSigner;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.identity.spi.AwsSessionCredentialsIdentity;
import software.amazon.awssdk.utils.http.SdkHttpUtils;

/**
 * The hand-made SigV4 ({@link SigV4}) signs exactly as the AWS SDK's own signer with UrlSigner's settings (payload
 * unsigned, path as sent): the same query parameters and signature for presigned GETs, the same Authorization and
 * x-amz headers for PUTs and multipart parts, with and without a session token, path-style on a local port and
 * virtual-host on https, for keys with spaces, non-ASCII letters, plus signs and slashes, at two instants a day apart
 * (the cached signing key is derived again for the new day, and for new credentials).
 */
class SigV4Test {

    static final AwsCredentialsIdentity STATIC = AwsCredentialsIdentity.create("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    static final AwsCredentialsIdentity SESSION = AwsSessionCredentialsIdentity.builder().accessKeyId("ASIAEXAMPLE")
            .secretAccessKey("c2VjcmV0/+x").sessionToken("FwoGZXIvYXdzE//token+with=odd/chars").build();
    static final List<String> KEYS = List.of("outputs/job 1/image.png", "inputs/ÿ-café/日本.jpg", "a+b/c=d&e/%41.png", "cache/t/k/0.webp");

    /** One signer for every case, in order: the signing key cached for one day and one set of credentials is derived again for the next. */
    static final SigV4 SIGV4 = new SigV4("eu-west-1");

    record Case(String scheme, String host, int port, boolean pathStyle, AwsCredentialsIdentity credentials, Instant now) {
        @Override
        public String toString() {
            return scheme + "://" + host + ":" + port + (pathStyle ? " path-style " : " virtual-host ") + credentials.accessKeyId() + " " + now;
        }
    }

    static List<Case> cases() {
        Instant day1 = Instant.parse("2026-12-06T23:59:58Z");
        Instant day2 = Instant.parse("2026-12-07T00:00:03Z");
        return List.of(new Case("http", "localhost", 9000, true, STATIC, day1), new Case("http", "localhost", 9000, true, STATIC, day2),
                new Case("https", "s3.eu-west-1.amazonaws.com", -1, false, SESSION, day1),
                new Case("https", "s3.eu-west-1.amazonaws.com", 443, false, STATIC, day2),
                new Case("http", "127.0.0.1", 39123, true, SESSION, day2));
    }

    /** The signer's shortcut for keys that encode to themselves agrees with the SDK's encoder for every character up to U+00FF. */
    @org.junit.jupiter.api.Test
    void aKeyIsLeftAsItIsExactlyWhenTheSdkWouldLeaveIt() {
        for (char c = 0; c <= 0xFF; c++) {
            String key = "tenants/t/jobs/x" + c + "y/0.png";
            assertThat(UrlSigner.encodesToItself(key)).as("U+%04X", (int) c).isEqualTo(SdkHttpUtils.urlEncodeIgnoreSlashes(key).equals(key));
        }
        assertThat(UrlSigner.encodesToItself("tenants/default/jobs/5b0c2a8e-8f3e-4c53-9a55-2f1d5c9f0e1a/outputs/0.png")).isTrue();
        for (String key : KEYS) {
            assertThat(UrlSigner.encodesToItself(key)).as(key).isEqualTo(SdkHttpUtils.urlEncodeIgnoreSlashes(key).equals(key));
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void presignedGetsAreTheSdks(Case c) {
        for (String key : KEYS) {
            // twice each: the second signature comes from the cached signing key
            for (int round = 0; round < 2; round++) {
                String mine = SIGV4.presign(c.credentials(), "GET", c.scheme(), hostHeader(c, "atelier"), path(c, "atelier", key),
                        Duration.ofHours(6), c.now());
                SdkHttpRequest sdk = sdkSigned(c, request(c, SdkHttpMethod.GET, "atelier", key).build(), Duration.ofHours(6));
                URI m = URI.create(mine);
                URI s = sdk.getUri();
                assertThat(m.getScheme()).isEqualTo(s.getScheme());
                assertThat(m.getRawAuthority()).isEqualTo(s.getRawAuthority());
                assertThat(m.getRawPath()).as(key).isEqualTo(s.getRawPath());
                assertThat(params(m.getRawQuery())).as(key).isEqualTo(params(s.getRawQuery())).containsEntry("X-Amz-Expires", "X-Amz-Expires=21600");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void putsAndPartsAreSignedInTheHeadersAsTheSdkSignsThem(Case c) {
        for (String key : KEYS) {
            Map<String, String> headers = new LinkedHashMap<>();
            headers.put("Content-Type", "image/png");
            headers.put("Content-Length", "123456");
            headers.put("Host", hostHeader(c, "atelier"));
            Map<String, String> mine = SIGV4.signHeaders(c.credentials(), "PUT", path(c, "atelier", key), Map.of(), headers, c.now());
            SdkHttpRequest sdk = sdkSigned(c, request(c, SdkHttpMethod.PUT, "atelier", key).putHeader("Content-Type", "image/png")
                    .putHeader("Content-Length", "123456").build(), null);
            assertSameSignedHeaders(mine, sdk, key);

            Map<String, String> partQuery = new LinkedHashMap<>();
            partQuery.put("partNumber", "7");
            partQuery.put("uploadId", "2~abc/def+ghi=");
            Map<String, String> partHeaders = new LinkedHashMap<>();
            partHeaders.put("Content-Length", "8388608");
            partHeaders.put("Host", hostHeader(c, "atelier"));
            Map<String, String> minePart = SIGV4.signHeaders(c.credentials(), "PUT", path(c, "atelier", key), partQuery, partHeaders, c.now());
            SdkHttpRequest.Builder part = request(c, SdkHttpMethod.PUT, "atelier", key).putHeader("Content-Length", "8388608");
            partQuery.forEach(part::putRawQueryParameter);
            assertSameSignedHeaders(minePart, sdkSigned(c, part.build(), null), key + " (part)");
        }
    }

    private static void assertSameSignedHeaders(Map<String, String> mine, SdkHttpRequest sdk, String what) {
        assertThat(mine.get("Authorization")).as(what).isEqualTo(sdk.firstMatchingHeader("Authorization").orElseThrow());
        mine.forEach((name, value) -> assertThat(sdk.firstMatchingHeader(name)).as("%s: %s", what, name).contains(value));
        Set<String> sdkAmz = sdk.headers().keySet().stream().map(String::toLowerCase).filter(n -> n.startsWith("x-amz-")).collect(Collectors.toSet());
        Set<String> mineAmz = mine.keySet().stream().map(String::toLowerCase).filter(n -> n.startsWith("x-amz-")).collect(Collectors.toSet());
        assertThat(mineAmz).as(what).isEqualTo(sdkAmz);
    }

    private static Map<String, String> params(String rawQuery) {
        return new TreeMap<>(Arrays.stream(rawQuery.split("&")).collect(Collectors.toMap(p -> p.substring(0, p.indexOf('=')), p -> p)));
    }

    private static String hostHeader(Case c, String bucket) {
        String h = c.pathStyle() ? c.host() : bucket + "." + c.host();
        return c.port() < 0 || c.port() == 443 && c.scheme().equals("https") || c.port() == 80 && c.scheme().equals("http") ? h : h + ":" + c.port();
    }

    private static String path(Case c, String bucket, String key) {
        String encoded = SdkHttpUtils.urlEncodeIgnoreSlashes(key);
        return c.pathStyle() ? "/" + bucket + "/" + encoded : "/" + encoded;
    }

    private static SdkHttpRequest.Builder request(Case c, SdkHttpMethod method, String bucket, String key) {
        return SdkHttpRequest.builder().method(method).protocol(c.scheme()).host(c.pathStyle() ? c.host() : bucket + "." + c.host())
                .port(c.port() < 0 ? null : c.port()).encodedPath(path(c, bucket, key));
    }

    /** The SDK's signer with UrlSigner's settings, at the case's instant. */
    private static SdkHttpRequest sdkSigned(Case c, SdkHttpRequest request, Duration presignedFor) {
        return AwsV4HttpSigner.create().sign(r -> {
            r.identity(c.credentials()).request(request)
                    .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "s3")
                    .putProperty(AwsV4HttpSigner.REGION_NAME, "eu-west-1")
                    .putProperty(AwsV4HttpSigner.PAYLOAD_SIGNING_ENABLED, false)
                    .putProperty(AwsV4HttpSigner.DOUBLE_URL_ENCODE, false)
                    .putProperty(AwsV4HttpSigner.NORMALIZE_PATH, false)
                    .putProperty(HttpSigner.SIGNING_CLOCK, Clock.fixed(c.now(), ZoneOffset.UTC));
            if (presignedFor != null) {
                r.putProperty(AwsV4HttpSigner.AUTH_LOCATION, AwsV4FamilyHttpSigner.AuthLocation.QUERY_STRING)
                        .putProperty(AwsV4HttpSigner.EXPIRATION_DURATION, presignedFor);
            }
        }).request();
    }
}
