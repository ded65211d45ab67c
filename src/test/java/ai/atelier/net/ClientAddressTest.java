package ai.atelier.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

/** Which addresses count as trusted proxies: blocks of either family, single addresses, and refused settings. */
class ClientAddressTest {

    @Test
    void blocksAndSingleAddressesOfBothFamilies() {
        ClientAddress a = new ClientAddress(List.of("10.0.0.0/8", "192.168.1.7", "fd00::/8", " 172.16.0.0/12 "));
        assertThat(a.isTrusted("10.255.1.2")).isTrue();
        assertThat(a.isTrusted("11.0.0.1")).isFalse();
        assertThat(a.isTrusted("192.168.1.7")).isTrue();
        assertThat(a.isTrusted("192.168.1.8")).isFalse();
        assertThat(a.isTrusted("172.31.255.255")).isTrue();
        assertThat(a.isTrusted("172.32.0.0")).isFalse();
        assertThat(a.isTrusted("fd12::1")).isTrue();
        assertThat(a.isTrusted("[fd12::1]")).isTrue();
        assertThat(a.isTrusted("fe80::1")).isFalse();
        assertThat(a.isTrusted("not-an-address")).as("a name is never resolved, never trusted").isFalse();
        assertThat(a.isTrusted("")).isFalse();
        assertThat(new ClientAddress(List.of()).isTrusted("10.0.0.1")).isFalse();
    }

    @Test
    void aSettingThatIsNoAddressStopsTheStart() {
        assertThatThrownBy(() -> new ClientAddress(List.of("ingress.local"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ingress.local");
        assertThatThrownBy(() -> new ClientAddress(List.of("10.0.0.0/33"))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ClientAddress(List.of("10.0.0.0/x"))).isInstanceOf(IllegalArgumentException.class);
    }
}
