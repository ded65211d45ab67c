package ai.atelier.fal;

import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

import jakarta.inject.Singleton;

import ai.atelier.config.AtelierConfig;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.ext.web.client.WebClient;

/**
 * Verifies fal's webhook signatures (fal-api.md section 6): Ed25519 over
 * {@code request_id \n user_id \n timestamp \n hex(sha256(body))}, against any key of fal's JWKS,
 * fetched once and kept for at most 24 h; timestamps further than the tolerance from now are refused.
 * A signature no cached key verifies (fal may have added a key) reads the JWKS again, but at most once per
 * {@code atelier.fal.jwks-refetch-interval} and one fetch at a time, so anonymous POSTs cannot make Atelier
 * fetch fal's keys for each of them.
 */
@Singleton
public class FalWebhookVerifier {

    /** DER prefix of an X.509 SubjectPublicKeyInfo for Ed25519; the raw 32-byte key follows it. */
    private static final byte[] ED25519_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");
    private static final Duration KEYS_TTL = Duration.ofHours(24);

    private final WebClient http;
    private final AtelierConfig.Fal config;
    private volatile List<PublicKey> keys = List.of();
    private volatile Instant keysFetched = Instant.EPOCH;
    /** When the JWKS was last asked for, whether that worked or not: refetches are spaced from it. */
    private volatile Instant lastFetch = Instant.EPOCH;
    /** The fetch under way, shared by every request that needs it. */
    private volatile Uni<List<PublicKey>> fetching;

    public FalWebhookVerifier(Vertx vertx, AtelierConfig config) {
        this.http = WebClient.create(vertx);
        this.config = config.fal();
    }

    /** Why a webhook is refused, or null when it is genuine. */
    public Uni<String> problem(String requestId, String userId, String timestamp, String signature, byte[] body) {
        if (requestId == null || userId == null || timestamp == null || signature == null) {
            return Uni.createFrom().item("a signature header is missing");
        }
        long ts;
        try {
            ts = Long.parseLong(timestamp.trim());
        } catch (NumberFormatException e) {
            return Uni.createFrom().item("the timestamp is not a number");
        }
        if (Math.abs(Instant.now().getEpochSecond() - ts) > config.webhookTolerance().toSeconds()) {
            return Uni.createFrom().item("the timestamp is more than " + config.webhookTolerance().toSeconds() + " s away from now");
        }
        byte[] sig;
        try {
            sig = HexFormat.of().parseHex(signature.trim());
        } catch (IllegalArgumentException e) {
            return Uni.createFrom().item("the signature is not hex");
        }
        byte[] message = (requestId + "\n" + userId + "\n" + timestamp + "\n" + sha256Hex(body)).getBytes(StandardCharsets.UTF_8);
        return keys(false).chain(current -> verifies(current, message, sig) ? Uni.createFrom().item((String) null)
                // a key fal rotated in since we fetched: look once more before refusing
                : keys(true).map(fresh -> verifies(fresh, message, sig) ? null : "the signature does not verify"));
    }

    private Uni<List<PublicKey>> keys(boolean refresh) {
        Instant now = Instant.now();
        if (!refresh && !keys.isEmpty() && keysFetched.plus(KEYS_TTL).isAfter(now)) {
            return Uni.createFrom().item(keys);
        }
        Uni<List<PublicKey>> under = fetching;
        if (under != null) {
            return under; // one fetch at a time: wait for the one under way
        }
        if (lastFetch.plus(config.jwksRefetchInterval()).isAfter(now)) {
            return Uni.createFrom().item(keys); // asked fal lately: what we have is what fal had then
        }
        return fetch();
    }

    private synchronized Uni<List<PublicKey>> fetch() {
        if (fetching != null) {
            return fetching;
        }
        lastFetch = Instant.now();
        fetching = http.getAbs(config.jwksUrl()).timeout(10_000).send().map(r -> {
            List<PublicKey> parsed = new ArrayList<>();
            JsonArray list = r.bodyAsJsonObject().getJsonArray("keys", new JsonArray());
            for (Object o : list) {
                if (o instanceof JsonObject k && "OKP".equals(k.getString("kty")) && "Ed25519".equals(k.getString("crv"))) {
                    parsed.add(publicKey(Base64.getUrlDecoder().decode(k.getString("x"))));
                }
            }
            keys = List.copyOf(parsed);
            keysFetched = Instant.now();
            return keys;
        }).onFailure(Exception.class).invoke(e -> Log.warnf("fal JWKS not fetched: %s", e.getMessage()))
                .onFailure(Exception.class).recoverWithItem(() -> keys)
                .onTermination().invoke(() -> {
                    synchronized (this) {
                        fetching = null;
                    }
                })
                .memoize().indefinitely();
        return fetching;
    }

    private static boolean verifies(List<PublicKey> candidates, byte[] message, byte[] sig) {
        for (PublicKey key : candidates) {
            try {
                Signature s = Signature.getInstance("Ed25519");
                s.initVerify(key);
                s.update(message);
                if (s.verify(sig)) {
                    return true;
                }
            } catch (Exception invalid) {
                // try the next key
            }
        }
        return false;
    }

    private static PublicKey publicKey(byte[] raw) {
        try {
            byte[] der = new byte[ED25519_PREFIX.length + raw.length];
            System.arraycopy(ED25519_PREFIX, 0, der, 0, ED25519_PREFIX.length);
            System.arraycopy(raw, 0, der, ED25519_PREFIX.length, raw.length);
            return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(der));
        } catch (Exception e) {
            throw new IllegalArgumentException("not an Ed25519 key", e);
        }
    }

    private static String sha256Hex(byte[] body) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
