package ai.atelier.webhooks;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;

import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import jakarta.inject.Singleton;

import ai.atelier.config.AtelierConfig;

/**
 * Keeps the tenants' webhook secrets encrypted at rest: they must be usable to sign, so a hash would not do.
 * AES-256-GCM under the key in {@code ATELIER_WEBHOOKS_ENCRYPTION_KEY}, a fresh 12-byte nonce per secret, and
 * the tenant and secret id as associated data, so a ciphertext copied to another tenant's row does not open.
 */
@Singleton
public class SecretBox {

    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;
    /** Made at run time, per bean (a static one would be built into a native image with its seed). */
    private final SecureRandom random = new SecureRandom();

    private final SecretKey key;

    public SecretBox(AtelierConfig config) {
        this.key = config.webhooks().encryptionKey().filter(k -> !k.isBlank()).map(SecretBox::key).orElse(null);
    }

    private static SecretKey key(String base64) {
        byte[] raw;
        try {
            raw = Base64.getDecoder().decode(base64.strip());
        } catch (IllegalArgumentException e) {
            // never echo the value: it is the key
            throw new IllegalStateException("atelier.webhooks.encryption-key (ATELIER_WEBHOOKS_ENCRYPTION_KEY) is not base64");
        }
        if (raw.length != 32) {
            throw new IllegalStateException("atelier.webhooks.encryption-key (ATELIER_WEBHOOKS_ENCRYPTION_KEY) must be 32 bytes in base64 "
                    + "(openssl rand -base64 32), not " + raw.length);
        }
        return new SecretKeySpec(raw, "AES");
    }

    /** Whether a key is configured: without one no secret can be made or read. */
    public boolean available() {
        return key != null;
    }

    /** The nonce followed by the ciphertext and its tag. */
    public byte[] seal(byte[] plain, String tenant, String secretId) {
        byte[] nonce = new byte[NONCE_BYTES];
        random.nextBytes(nonce);
        byte[] sealed = cipher(Cipher.ENCRYPT_MODE, nonce, tenant, secretId, plain, 0, plain.length);
        return ByteBuffer.allocate(NONCE_BYTES + sealed.length).put(nonce).put(sealed).array();
    }

    /** The secret's bytes; fails when the key is not the one it was sealed with, or the row was altered or moved. */
    public byte[] open(byte[] box, String tenant, String secretId) {
        if (box.length < NONCE_BYTES + TAG_BITS / 8) {
            // a damaged row: GCM would be handed a negative length and throw something no caller expects
            throw new IllegalStateException("the sealed secret is too short");
        }
        byte[] nonce = java.util.Arrays.copyOf(box, NONCE_BYTES);
        return cipher(Cipher.DECRYPT_MODE, nonce, tenant, secretId, box, NONCE_BYTES, box.length - NONCE_BYTES);
    }

    private byte[] cipher(int mode, byte[] nonce, String tenant, String secretId, byte[] input, int offset, int length) {
        if (key == null) {
            throw new IllegalStateException("no webhook encryption key is configured");
        }
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(mode, key, new GCMParameterSpec(TAG_BITS, nonce));
            c.updateAAD((tenant + "/" + secretId).getBytes(StandardCharsets.UTF_8));
            return c.doFinal(input, offset, length);
        } catch (GeneralSecurityException e) {
            // the exception names no secret; its message is not passed on either
            throw new IllegalStateException("a webhook secret could not be " + (mode == Cipher.ENCRYPT_MODE ? "sealed" : "opened"));
        }
    }
}
