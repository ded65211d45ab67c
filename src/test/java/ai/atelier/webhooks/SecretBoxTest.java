package ai.atelier.webhooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import ai.atelier.config.AtelierConfig;

/**
 * Every way a stored secret fails to open is the one failure the delivery claim expects: it skips that secret. Any
 * other exception would roll back the claim of every tenant's deliveries, again at every poll.
 */
class SecretBoxTest {

    private static final String KEY = Base64.getEncoder().encodeToString(new byte[32]);

    private final SecretBox box = new SecretBox(config(KEY));

    @Test
    void opensWhatItSealedForTheSameTenantAndSecret() {
        byte[] sealed = box.seal("whsec_abc".getBytes(StandardCharsets.UTF_8), "shop-a", "s1");
        assertThat(new String(box.open(sealed, "shop-a", "s1"), StandardCharsets.UTF_8)).isEqualTo("whsec_abc");
        assertThatThrownBy(() -> box.open(sealed, "shop-b", "s1")).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aDamagedRowTooShortForANonceAndTagIsRefusedAsUnreadable() {
        // shorter than a nonce: GCM was handed a negative length and threw an IllegalArgumentException
        for (int length : new int[] { 0, 5, 11 }) {
            assertThatThrownBy(() -> box.open(new byte[length], "shop-a", "s1")).as("%d bytes", length)
                    .isInstanceOf(IllegalStateException.class);
        }
        // a nonce but no room for the tag, and the shortest that holds both: refused the same way
        for (int length : new int[] { 12, 27, 28 }) {
            assertThatThrownBy(() -> box.open(new byte[length], "shop-a", "s1")).as("%d bytes", length)
                    .isInstanceOf(IllegalStateException.class);
        }
    }

    /** The one setting the box reads, without starting Quarkus. */
    private static AtelierConfig config(String key) {
        AtelierConfig.Webhooks webhooks = (AtelierConfig.Webhooks) Proxy.newProxyInstance(SecretBoxTest.class.getClassLoader(),
                new Class<?>[] { AtelierConfig.Webhooks.class }, (p, m, a) -> {
                    if (m.getName().equals("encryptionKey")) {
                        return Optional.of(key);
                    }
                    throw new UnsupportedOperationException(m.getName());
                });
        return (AtelierConfig) Proxy.newProxyInstance(SecretBoxTest.class.getClassLoader(), new Class<?>[] { AtelierConfig.class },
                (p, m, a) -> {
                    if (m.getName().equals("webhooks")) {
                        return webhooks;
                    }
                    throw new UnsupportedOperationException(m.getName());
                });
    }
}
