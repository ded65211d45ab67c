package ai.atelier.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Proxy;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import ai.atelier.config.AtelierConfig;
import ai.atelier.problem.Problem;

/** The pure parts of the SSRF guard: which addresses are public, and how literals in hosts are read. */
class UrlGuardTest {

    /** An address from its text, without DNS; Java's own parser is fine for the plain forms used here. */
    private static InetAddress ip(String text) {
        try {
            byte[] v4 = IpLiterals.parseIpv4(text);
            return v4 != null ? InetAddress.getByAddress(v4) : InetAddress.getByAddress(IpLiterals.parseIpv6(text));
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private static void assertNotPublic(String... addresses) {
        for (String a : addresses) {
            assertThat(UrlGuard.isPublic(ip(a))).as(a).isFalse();
        }
    }

    private static void assertPublic(String... addresses) {
        for (String a : addresses) {
            assertThat(UrlGuard.isPublic(ip(a))).as(a).isTrue();
        }
    }

    private static String v4(String text) {
        byte[] b = IpLiterals.parseIpv4(text);
        return b == null ? null : (b[0] & 0xff) + "." + (b[1] & 0xff) + "." + (b[2] & 0xff) + "." + (b[3] & 0xff);
    }

    @Test
    void refusesEveryNonPublicIpv4Range() {
        assertNotPublic("0.0.0.0", "0.255.255.255", "10.0.0.0", "10.255.255.255", "100.64.0.0", "100.127.255.255", "127.0.0.1",
                "127.255.255.255", "169.254.0.0", "169.254.169.254", "169.254.255.255", "172.16.0.0", "172.31.255.255", "192.0.0.0",
                "192.0.0.255", "192.0.2.0", "192.0.2.255", "192.88.99.1", "192.168.0.0", "192.168.255.255", "198.18.0.0",
                "198.19.255.255", "198.51.100.7", "203.0.113.7", "224.0.0.1", "239.255.255.255", "240.0.0.1", "255.255.255.255");
    }

    @Test
    void acceptsPublicIpv4AddressesNextToTheRanges() {
        assertPublic("1.0.0.0", "8.8.8.8", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0", "126.255.255.255", "128.0.0.0",
                "169.253.255.255", "169.255.0.0", "172.15.255.255", "172.32.0.0", "192.0.1.0", "192.0.3.0", "192.88.98.255",
                "192.88.100.0", "192.167.255.255", "192.169.0.0", "198.17.255.255", "198.20.0.0", "198.51.99.255", "198.51.101.0",
                "203.0.112.255", "203.0.114.0", "223.255.255.255");
    }

    @Test
    void refusesIpv6RangesThatAreNotGloballyRoutable() {
        assertNotPublic("::", "::1", "fc00::1", "fdff:ffff::1", "fe80::1", "febf:ffff::1", "fec0::1", "feff::1", "ff02::1", "ff00::",
                "100::", "100::ffff:ffff:ffff:ffff", "2001:db8::1", "2001:db8:ffff::1", "2001:2::1", "2001:2:0:ffff::1", "2001:10::1",
                "2001:1f:ffff::1", "2001:20::1", "2001:2f:ffff::1", "2001::1", "2001:0:ffff::1", "3fff::1", "1::1", "4000::1");
    }

    @Test
    void acceptsGlobalIpv6Addresses() {
        assertPublic("2001:4860:4860::8888", "2606:4700:4700::1111", "2a00:1450:4001:82a::200e", "2001:200::1", "2001:db9::1",
                "2001:db7:ffff::1", "2000::1", "3ffe::1", "3fff:1000::1", "2002:0808:0808::");
    }

    @Test
    void judgesIpv6AddressesByTheIpv4AddressTheyCarry() {
        assertNotPublic("::127.0.0.1", "::a9fe:a9fe", "::10.0.0.1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:0:0",
                "64:ff9b::7f00:1", "64:ff9b::10.1.2.3", "64:ff9b::a9fe:a9fe", "2002:7f00:1::", "2002:a9fe:a9fe::1", "2002:c0a8:101::");
        assertPublic("::8.8.8.8", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:0808:0808::", "2002:808:808:1::1");
        // Teredo hides where it leads, and the local-use NAT64 prefix has no fixed place for the IPv4 address
        assertNotPublic("2001:0:4136:e378:8000:63bf:3fff:fdd2", "64:ff9b:1::a9fe:a9fe", "64:ff9b:1::808:808", "64:ff9b:1:ffff::1");
        // outside 64:ff9b::/96 but in 64:ff9b::/32: reserved, nothing there is reachable
        assertNotPublic("64:ff9b:0:1::808:808");
    }

    @Test
    void readsIpv4LiteralsAsInetAtonDoes() {
        assertThat(v4("0177.0.0.1")).isEqualTo("127.0.0.1");
        assertThat(v4("0x7f.0.0.1")).isEqualTo("127.0.0.1");
        assertThat(v4("0X7F.0.0.1")).isEqualTo("127.0.0.1");
        assertThat(v4("2130706433")).isEqualTo("127.0.0.1");
        assertThat(v4("0x7f000001")).isEqualTo("127.0.0.1");
        assertThat(v4("017700000001")).isEqualTo("127.0.0.1");
        assertThat(v4("127.1")).isEqualTo("127.0.0.1");
        assertThat(v4("0x7f.1")).isEqualTo("127.0.0.1");
        assertThat(v4("127.0.1")).isEqualTo("127.0.0.1");
        assertThat(v4("127.0xffffff")).isEqualTo("127.255.255.255");
        assertThat(v4("1.2.65535")).isEqualTo("1.2.255.255");
        assertThat(v4("00000000000000000177.1")).isEqualTo("127.0.0.1");
        assertThat(v4("1.2.3.4")).isEqualTo("1.2.3.4");
        assertThat(v4("01.02.03.04")).isEqualTo("1.2.3.4");
        assertThat(v4("0")).isEqualTo("0.0.0.0");
        assertThat(v4("0xffffffff")).isEqualTo("255.255.255.255");
        assertThat(v4("0377.1.1.1")).isEqualTo("255.1.1.1");
    }

    @Test
    void refusesWhatInetAtonRefuses() {
        for (String notALiteral : List.of("08.1.1.1", "09", "256.1.1.1", "1.2.3.256", "1.2.3.0400", "0400.1.1.1", "1.2.3.4.5", "1.2.65536",
                "1.16777216", "4294967296", "0x100000000", "99999999999999999999999", "0x", "0x.1", "0xg", "1..1", ".1.2.3", "127.0.0.1.",
                "", "+1.2.3.4", "-1", "1.2.3.4 ", "１２７.0.0.1")) {
            assertThat(IpLiterals.parseIpv4(notALiteral)).as(notALiteral).isNull();
        }
    }

    @Test
    void readsIpv6LiteralsStrictly() {
        assertThat(ip("::127.0.0.1")).isEqualTo(ip("::7f00:1"));
        assertThat(IpLiterals.parseIpv6("1:2:3:4:5:6:7:8")).isNotNull();
        assertThat(IpLiterals.parseIpv6("1::2:3:4:5:6:7")).isNotNull();
        for (String bad : List.of("1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2::3", ":1::", "1:::2", "12345::", "::0177.0.0.1", "::1.2.3",
                "::256.0.0.1", "1.2.3.4::", "fe80::1%eth0", "fe80::1%25eth0", "::g", "")) {
            assertThat(IpLiterals.parseIpv6(bad)).as(bad).isNull();
        }
    }

    @Test
    void readsUrlHostsTheWayResolversDo() throws Exception {
        // Java's URI finds no host in these; resolvers read an address
        assertThat(IpLiterals.hostOf(URI.create("http://127.1/x"))).isEqualTo("127.1");
        assertThat(IpLiterals.hostOf(URI.create("http://user@0x7F.1:8080/x"))).isEqualTo("0x7f.1");
        assertThat(IpLiterals.portOf(URI.create("http://user@0x7F.1:8080/x"))).isEqualTo(8080);
        assertThat(IpLiterals.hostOf(URI.create("http://exa_mple.com/x"))).isNull();
        assertThat(IpLiterals.literal("0177.0.0.1").getHostAddress()).isEqualTo("127.0.0.1");
        assertThat(IpLiterals.literal("[::ffff:127.0.0.1]").getHostAddress()).isEqualTo("127.0.0.1");
        assertThat(IpLiterals.literal("[::1]").isLoopbackAddress()).isTrue();
        assertThat(IpLiterals.literal("example.com")).isNull();
        assertThat(IpLiterals.literal("0x7f.example")).isNull();
        // glibc looks 127.0.0.1. up as a name, browsers read it as the address: refused as neither
        for (String neither : List.of("127.0.0.1.", "08.1.1.1", "256.1.1.1", "1.2.3.4.5", "example.123", "[fe80::1%25eth0]", "[::0177.0.0.1]")) {
            assertThatThrownBy(() -> IpLiterals.literal(neither)).as(neither).isInstanceOf(IllegalArgumentException.class);
        }
    }

    /** A guard whose config only answers the allowed hosts; the URLs below name addresses, so no DNS is asked. */
    private static UrlGuard guard(String... allowedHosts) {
        AtelierConfig.Ingest ingest = (AtelierConfig.Ingest) Proxy.newProxyInstance(UrlGuardTest.class.getClassLoader(),
                new Class<?>[] { AtelierConfig.Ingest.class }, (proxy, method, args) -> method.getName().equals("allowedHosts")
                        ? Optional.of(List.of(allowedHosts)) : null);
        AtelierConfig config = (AtelierConfig) Proxy.newProxyInstance(UrlGuardTest.class.getClassLoader(),
                new Class<?>[] { AtelierConfig.class }, (proxy, method, args) -> method.getName().equals("ingest") ? ingest : null);
        return new UrlGuard(config);
    }

    private static String refusal(String url) {
        try {
            guard().check(url, "image-url").await().indefinitely();
        } catch (Problem p) {
            assertThat(p.status()).isEqualTo(422);
            return p.slug();
        }
        throw new AssertionError(url + " was let through");
    }

    @Test
    void refusesLiteralsOfNonPublicAddressesInEveryForm() {
        for (String url : List.of("http://0177.0.0.1/", "http://0x7f.0.0.1/", "http://2130706433/", "http://127.1/", "http://0x7f.1:8080/x",
                "http://017700000001/", "http://[::127.0.0.1]/", "http://[::ffff:127.0.0.1]/", "http://[64:ff9b::7f00:1]/",
                "http://[64:ff9b:1::a9fe:a9fe]/", "http://[2002:7f00:1::]/", "https://[::1]:8443/", "http://0xa9fea9fe/latest/meta-data/",
                "http://255.255.255.255/", "http://[fe80::1]/")) {
            assertThat(refusal(url)).as(url).isEqualTo("forbidden-image-url");
        }
        for (String url : List.of("http://127.0.0.1./", "http://08.1.1.1/", "http://256.1.1.1/", "http://1.2.3.4.5/", "http://[fe80::1%25eth0]/",
                "http://[::0177.0.0.1]/", "gopher://8.8.8.8/", "file:///etc/passwd", "http://8.8.8.8:99999/", "http:///x")) {
            assertThat(refusal(url)).as(url).isEqualTo("unusable-image-url");
        }
    }

    @Test
    void connectsToTheAddressItChecked() {
        UrlGuard.Target t = guard().check("http://0x08080808/a.png?x=1", "image-url").await().indefinitely();
        assertThat(t.host()).isEqualTo("8.8.8.8");
        assertThat(t.address().getHostAddress()).isEqualTo("8.8.8.8");
        assertThat(t.port()).isEqualTo(80);
        assertThat(t.pathAndQuery()).isEqualTo("/a.png?x=1");
        UrlGuard.Target v6 = guard().check("https://[2002:0808:0808::]:8443", "webhook-url").await().indefinitely();
        assertThat(v6.address().getHostAddress()).isEqualTo("2002:808:808:0:0:0:0:0");
        assertThat(v6.port()).isEqualTo(8443);
        assertThat(v6.https()).isTrue();
        assertThat(v6.pathAndQuery()).isEqualTo("/");
    }

    @Test
    void letsAllowedHostsThrough() {
        assertThat(guard("127.0.0.1").check("http://127.1:5000/x", "webhook-url").await().indefinitely().address().isLoopbackAddress()).isTrue();
    }
}
