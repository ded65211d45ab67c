package ai.atelier.webhooks;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.List;
import java.util.stream.Collectors;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Standard Webhooks signatures: {@code v1,base64(HMAC-SHA256(key, id + "." + timestamp + "." + body))}, with the
 * key being the bytes a {@code whsec_<base64>} secret decodes to.
 */
public final class WebhookSigner {

    private final byte[] key;

    /** From a secret as the tenant was shown it ({@code whsec_<base64>}). */
    public WebhookSigner(String secret) {
        this(Base64.getDecoder().decode(secret.startsWith("whsec_") ? secret.substring(6) : secret));
    }

    WebhookSigner(byte[] key) {
        this.key = key.clone();
    }

    public String sign(String id, long timestampSeconds, String body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            byte[] digest = mac.doFinal((id + "." + timestampSeconds + "." + body).getBytes(StandardCharsets.UTF_8));
            return "v1," + Base64.getEncoder().encodeToString(digest);
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The {@code webhook-signature} header for several secrets (during a rotation's grace period): their signatures,
     * space-separated, as the spec allows, so a receiver holding either secret verifies the delivery.
     */
    public static String header(List<WebhookSigner> signers, String id, long timestampSeconds, String body) {
        return signers.stream().map(s -> s.sign(id, timestampSeconds, body)).collect(Collectors.joining(" "));
    }

    @Override
    public String toString() {
        return "WebhookSigner[***]";
    }
}
