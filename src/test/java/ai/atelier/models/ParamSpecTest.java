package ai.atelier.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** LoRA paths: fal fetches them from inside its network, so only https URLs to public hosts pass. */
class ParamSpecTest {

    private final ParamSpec loras = ParamSpec.loras(3);

    private Object lora(String path) {
        return loras.coerce(List.of(Map.of("path", path, "scale", 0.8)));
    }

    private void assertRefused(String path, String words) {
        assertThatThrownBy(() -> lora(path)).as(path.length() > 100 ? path.substring(0, 100) + "…" : path)
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("each LoRA path must").hasMessageContaining(words);
    }

    @Test
    void acceptsAnHttpsUrlToAPublicHost() {
        assertThat(lora("https://example.com/style.safetensors"))
                .isEqualTo(List.of(Map.of("path", "https://example.com/style.safetensors", "scale", 0.8)));
        assertThat((List<?>) lora("HTTPS://huggingface.co/user/repo/resolve/main/lora.safetensors?download=true")).hasSize(1);
        assertThat((List<?>) lora("https://8.8.8.8/x.safetensors")).hasSize(1);
        assertThat((List<?>) lora("https://[2606:4700:4700::1111]:8443/x")).hasSize(1);
        assertThat((List<?>) lora("https://example.com./x")).hasSize(1);
        assertThat((List<?>) lora("https://example.com/" + "a".repeat(2048 - "https://example.com/".length()))).hasSize(1);
    }

    @Test
    void refusesOtherSchemes() {
        assertRefused("http://169.254.169.254/latest/meta-data/", "https URL");
        assertRefused("http://example.com/style.safetensors", "https URL");
        assertRefused("file:///etc/passwd", "https URL");
        assertRefused("gopher://127.0.0.1:6379/_FLUSHALL", "https URL");
        assertRefused("user/my-lora", "https URL");
        assertRefused("https:opaque", "with a host");
        assertRefused("https:///x", "with a host");
    }

    @Test
    void refusesOverlongAndMalformedPaths() {
        assertRefused("https://example.com/" + "a".repeat(50 * 1024), "at most 2048 characters");
        assertRefused("https://example.com/" + "a".repeat(2049 - "https://example.com/".length()), "at most 2048 characters");
        assertRefused("https://example.com/a b", "without spaces or control characters");
        assertRefused("https://example.com/a\r\nHost: x", "without spaces or control characters");
        assertRefused("https://example.com/a\u0000", "without spaces or control characters");
        assertRefused("https://example.com\\@127.0.0.1/", "valid https URL");
    }

    @Test
    void refusesUserInfo() {
        assertRefused("https://user@host.example/x", "user name or password");
        assertRefused("https://user:secret@example.com/x", "user name or password");
        assertRefused("https://example.com@127.1/x", "user name or password");
    }

    @Test
    void refusesNonPublicAddressesInEveryForm() {
        assertRefused("https://169.254.169.254/latest/meta-data/", "non-public address 169.254.169.254");
        assertRefused("https://127.1/x", "non-public address 127.1 (127.0.0.1)");
        assertRefused("https://0177.0.0.1/x", "non-public address");
        assertRefused("https://2130706433/x", "non-public address");
        assertRefused("https://0x7f.1:443/x", "non-public address");
        assertRefused("https://10.0.0.7/x", "non-public address");
        assertRefused("https://[::1]/x", "non-public address [::1]");
        assertRefused("https://[::ffff:10.0.0.1]/x", "non-public address");
        assertRefused("https://[::127.0.0.1]/x", "non-public address");
        assertRefused("https://[64:ff9b::a9fe:a9fe]/x", "non-public address");
        assertRefused("https://[2002:7f00:1::]/x", "non-public address");
        assertRefused("https://[fd00::1]/x", "non-public address");
        assertRefused("https://127.0.0.1./x", "valid IP address");
        assertRefused("https://256.1.1.1/x", "valid IP address");
        assertRefused("https://[fe80::1%25eth0]/x", "valid IP address");
    }

    @Test
    void refusesNamesOnlyAnInternalResolverKnows() {
        assertRefused("https://localhost/x", "not 'localhost'");
        assertRefused("https://LOCALHOST./x", "public host");
        assertRefused("https://api.localhost/x", "public host");
        assertRefused("https://printer.local/x", "public host");
        assertRefused("https://metadata.google.internal/computeMetadata/v1/", "public host");
        assertRefused("https://intranet/x", "public host");
    }

    @Test
    void keepsTheOtherLoraRules() {
        assertThatThrownBy(() -> loras.coerce(List.of(Map.of("path", "https://example.com/a", "scale", 5)))).hasMessageContaining("0 to 4");
        assertThatThrownBy(() -> loras.coerce(List.of(Map.of("path", "https://example.com/a", "weight", 1)))).hasMessageContaining("\"weight\"");
        assertThatThrownBy(() -> loras.coerce(List.of(Map.of("path", "https://a.example/1"), Map.of("path", "https://a.example/2"),
                Map.of("path", "https://a.example/3"), Map.of("path", "https://a.example/4")))).hasMessageContaining("at most 3");
        assertThatThrownBy(() -> loras.coerce(List.of(Map.of("path", " ")))).hasMessageContaining("non-empty");
    }
}
