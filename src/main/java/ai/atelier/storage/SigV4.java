package ai.atelier.storage;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.identity.spi.AwsSessionCredentialsIdentity;
import software.amazon.awssdk.utils.http.SdkHttpUtils;

/**
 * AWS Signature Version 4 for S3, as {@link UrlSigner} signs: the payload unsigned ({@code UNSIGNED-PAYLOAD}), the
 * path signed as sent (S3 neither double-encodes nor normalises it), either in the query string (a presigned GET) or
 * in the headers (a PUT). The SDK's signer does the same for each request from scratch: it derives the signing key
 * (four HMACs) and builds the request through property maps and builders, about a twentieth of the server's CPU with
 * two or three URLs per job. Here the signing key is derived once per UTC day and set of credentials (it depends on
 * nothing else), and a signature is one SHA-256 and one HMAC, each thread's HMAC keyed with the day's key once.
 * {@code SigV4Test} checks every form against the SDK's signer, byte for byte.
 */
final class SigV4 {

    static final String ALGORITHM = "AWS4-HMAC-SHA256";
    static final String UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
    private static final HexFormat HEX = HexFormat.of();
    private static final ThreadLocal<MessageDigest> SHA_256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    });
    private static final ThreadLocal<KeyedMac> SIGNING_MAC = ThreadLocal.withInitial(() -> new KeyedMac(newMac()));

    /** A day's signing key for one set of credentials. */
    private record SigningKey(AwsCredentialsIdentity credentials, String date, byte[] key) {
    }

    private final String region;
    private volatile SigningKey signingKey;

    SigV4(String region) {
        this.region = region;
    }

    /**
     * A presigned URL: {@code scheme://hostHeader encodedPath?X-Amz-…}, valid for {@code expiry} from {@code now}.
     *
     * @param encodedPath the path as sent, already encoded (S3's keys keep their slashes)
     */
    String presign(AwsCredentialsIdentity credentials, String method, String scheme, String hostHeader, String encodedPath, Duration expiry,
            Instant now) {
        String stamp = STAMP.format(now);
        String date = stamp.substring(0, 8);
        String scope = date + "/" + region + "/s3/aws4_request";
        // the query in canonical order (by name), its values encoded as the canonical request has them
        StringBuilder query = new StringBuilder(512).append("X-Amz-Algorithm=").append(ALGORITHM)
                .append("&X-Amz-Credential=").append(SdkHttpUtils.urlEncode(credentials.accessKeyId() + "/" + scope))
                .append("&X-Amz-Date=").append(stamp)
                .append("&X-Amz-Expires=").append(expiry.toSeconds());
        if (credentials instanceof AwsSessionCredentialsIdentity session) {
            query.append("&X-Amz-Security-Token=").append(SdkHttpUtils.urlEncode(session.sessionToken()));
        }
        query.append("&X-Amz-SignedHeaders=host");
        String canonical = method + "\n" + encodedPath + "\n" + query + "\nhost:" + hostHeader + "\n\nhost\n" + UNSIGNED_PAYLOAD;
        String signature = signature(credentials, date, stamp, scope, canonical);
        return scheme + "://" + hostHeader + encodedPath + "?" + query + "&X-Amz-Signature=" + signature;
    }

    /**
     * The headers that sign a request in its headers: {@code X-Amz-Date}, {@code x-amz-content-sha256}, the session token
     * if any, and {@code Authorization}, over {@code headers} (each signed: the host among them) and the query.
     *
     * @param query the query's parameters, raw (encoded here)
     */
    Map<String, String> signHeaders(AwsCredentialsIdentity credentials, String method, String encodedPath, Map<String, String> query,
            Map<String, String> headers, Instant now) {
        String stamp = STAMP.format(now);
        String date = stamp.substring(0, 8);
        String scope = date + "/" + region + "/s3/aws4_request";
        Map<String, String> added = new java.util.LinkedHashMap<>();
        added.put("X-Amz-Date", stamp);
        added.put("x-amz-content-sha256", UNSIGNED_PAYLOAD);
        if (credentials instanceof AwsSessionCredentialsIdentity session) {
            added.put("X-Amz-Security-Token", session.sessionToken());
        }
        TreeMap<String, String> signed = new TreeMap<>();
        headers.forEach((name, value) -> signed.put(name.toLowerCase(java.util.Locale.ROOT), value.strip()));
        added.forEach((name, value) -> signed.put(name.toLowerCase(java.util.Locale.ROOT), value));
        StringBuilder canonical = new StringBuilder(512).append(method).append('\n').append(encodedPath).append('\n');
        TreeMap<String, String> sortedQuery = new TreeMap<>();
        query.forEach((k, v) -> sortedQuery.put(SdkHttpUtils.urlEncode(k), SdkHttpUtils.urlEncode(v)));
        boolean first = true;
        for (Map.Entry<String, String> q : sortedQuery.entrySet()) {
            canonical.append(first ? "" : "&").append(q.getKey()).append('=').append(q.getValue());
            first = false;
        }
        canonical.append('\n');
        signed.forEach((name, value) -> canonical.append(name).append(':').append(value).append('\n'));
        String signedNames = String.join(";", signed.keySet());
        canonical.append('\n').append(signedNames).append('\n').append(UNSIGNED_PAYLOAD);
        String signature = signature(credentials, date, stamp, scope, canonical.toString());
        added.put("Authorization", ALGORITHM + " Credential=" + credentials.accessKeyId() + "/" + scope + ", SignedHeaders=" + signedNames
                + ", Signature=" + signature);
        return added;
    }

    private String signature(AwsCredentialsIdentity credentials, String date, String stamp, String scope, String canonicalRequest) {
        MessageDigest sha = SHA_256.get();
        String hashed = HEX.formatHex(sha.digest(canonicalRequest.getBytes(StandardCharsets.UTF_8)));
        String toSign = ALGORITHM + "\n" + stamp + "\n" + scope + "\n" + hashed;
        return HEX.formatHex(signingMac(key(credentials, date)).doFinal(toSign.getBytes(StandardCharsets.UTF_8)));
    }

    /** This thread's HMAC under the day's signing key: initialised again only when the key changed (doFinal keeps the key). */
    private static Mac signingMac(byte[] key) {
        KeyedMac keyed = SIGNING_MAC.get();
        if (keyed.key != key) {
            init(keyed.mac, key);
            keyed.key = key;
        }
        return keyed.mac;
    }

    /** A thread's own HMAC and the signing key it was initialised with (by identity: a new day's key is a new array). */
    private static final class KeyedMac {
        final Mac mac;
        byte[] key;

        KeyedMac(Mac mac) {
            this.mac = mac;
        }
    }

    /** The day's signing key, derived again only when the day or the credentials changed. */
    private byte[] key(AwsCredentialsIdentity credentials, String date) {
        SigningKey k = signingKey;
        if (k != null && k.date().equals(date) && k.credentials() == credentials) {
            return k.key();
        }
        byte[] key = hmac(("AWS4" + credentials.secretAccessKey()).getBytes(StandardCharsets.UTF_8), date);
        key = hmac(key, region);
        key = hmac(key, "s3");
        key = hmac(key, "aws4_request");
        signingKey = new SigningKey(credentials, date, key);
        return key;
    }

    /** One HMAC with a key of its own: the four steps that derive a day's signing key, once a day. */
    private static byte[] hmac(byte[] key, String data) {
        Mac mac = newMac();
        init(mac, key);
        return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    }

    private static Mac newMac() {
        try {
            return Mac.getInstance("HmacSHA256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void init(Mac mac, byte[] key) {
        try {
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
        } catch (java.security.InvalidKeyException e) {
            throw new IllegalStateException(e);
        }
    }
}
