package ai.atelier.net;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Locale;

import jakarta.inject.Singleton;

import ai.atelier.config.AtelierConfig;
import ai.atelier.problem.Problem;
import ai.atelier.util.Contexts;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;

/**
 * Keeps client-given URLs (images to fetch, webhooks to call) from reaching inside our network
 * (SSRF): http(s) only, the host is resolved and every address must be public, and the caller
 * connects to the address that was checked, so DNS cannot be rebound in between. Address literals
 * are read as the OS resolver reads them ({@link IpLiterals}: {@code 0177.0.0.1} is 127.0.0.1), and
 * IPv6 addresses that lead to an IPv4 one are judged by it. Hosts listed in
 * {@code atelier.ingest.allowed-hosts} skip the address check, for local use.
 */
@Singleton
public class UrlGuard {

    /** A checked URL and the address to connect to. */
    public record Target(String host, int port, boolean https, String pathAndQuery, InetAddress address) {

        /** Request options that connect to the checked address while keeping the URL's host for TLS and Host. */
        public RequestOptions request(HttpMethod method, long timeoutMillis) {
            return new RequestOptions().setMethod(method).setHost(host).setPort(port).setSsl(https).setURI(pathAndQuery)
                    .setServer(SocketAddress.inetSocketAddress(port, address.getHostAddress())).setTimeout(timeoutMillis);
        }
    }

    private final List<String> allowedHosts;

    public UrlGuard(AtelierConfig config) {
        this.allowedHosts = config.ingest().allowedHosts().orElse(List.of()).stream().map(h -> h.toLowerCase(Locale.ROOT)).toList();
    }

    /**
     * Checks a URL; fails with a 422 problem of type {@code forbidden-<kind>} (private address) or
     * {@code unusable-<kind>} (not http(s), no host, unknown host).
     *
     * @param kind what the URL is for, as a slug: {@code image-url}, {@code webhook-url}
     */
    public Uni<Target> check(String url, String kind) {
        String words = kind.replace('-', ' ');
        URI uri;
        try {
            uri = URI.create(url == null ? "" : url.trim());
        } catch (IllegalArgumentException e) {
            return Uni.createFrom().failure(unusable(kind, "The " + words + " is not a valid URL"));
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        String host = IpLiterals.hostOf(uri);
        int port = IpLiterals.portOf(uri);
        if (!scheme.equals("http") && !scheme.equals("https") || host == null) {
            return Uni.createFrom().failure(unusable(kind, "The " + words + " must be http(s) with a host"));
        }
        if (port == 0 || port < -1 || port > 65535) {
            return Uni.createFrom().failure(unusable(kind, "The " + words + "'s port must be a number from 1 to 65535"));
        }
        InetAddress literal;
        try {
            // before anything else, so the address checked and connected to is the one curl or glibc would read
            literal = IpLiterals.literal(host);
        } catch (IllegalArgumentException e) {
            return Uni.createFrom().failure(unusable(kind, "The " + words + "'s host '" + host + "' is neither a host name nor a valid IP "
                    + "address (a host ending in a number must be an IPv4 address, without a trailing dot)"));
        }
        String written = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
        // an IPv4 literal travels in its usual form, as curl sends it: 127.1 and 0x7f.1 name 127.0.0.1
        String bareHost = literal instanceof Inet4Address && !host.startsWith("[") ? literal.getHostAddress() : written;
        boolean https = scheme.equals("https");
        int effectivePort = port > 0 ? port : https ? 443 : 80;
        String path = (uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath())
                + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
        Uni<InetAddress[]> lookup = Uni.createFrom().item(new InetAddress[] { literal });
        if (literal == null) {
            lookup = Uni.createFrom().item(() -> {
                try {
                    return InetAddress.getAllByName(bareHost);
                } catch (UnknownHostException e) {
                    throw unusable(kind, "The " + words + "'s host '" + bareHost + "' does not resolve");
                }
            }).runSubscriptionOn(Infrastructure.getDefaultWorkerPool()); // DNS lookups block: never on the event loop
        }
        return Contexts.backOnCaller(lookup).map(addresses -> {
            if (!allowedHosts.contains(written) && !allowedHosts.contains(bareHost)) {
                for (InetAddress a : addresses) {
                    if (!isPublic(a)) {
                        throw Problem.invalid("forbidden-" + kind, "URL not allowed", "The " + words + " points at a loopback, private, "
                                + "link-local or otherwise non-public address (" + a.getHostAddress() + "); only public hosts are reached");
                    }
                }
            }
            return new Target(bareHost, effectivePort, https, path, addresses[0]);
        });
    }

    private static Problem unusable(String kind, String detail) {
        return Problem.invalid("unusable-" + kind, "URL not usable", detail);
    }

    /**
     * False for loopback, private, link-local, CGNAT, multicast, unspecified, documentation and other
     * addresses that are not globally routable. IPv6 addresses that carry an IPv4 address
     * (IPv4-mapped and -compatible, NAT64, 6to4) are judged by the IPv4 address they lead to.
     */
    public static boolean isPublic(InetAddress a) {
        return isPublic(a.getAddress());
    }

    /** {@link #isPublic(InetAddress)} on the 4 or 16 bytes of an address. */
    static boolean isPublic(byte[] b) {
        if (b.length == 4) {
            return isPublicIpv4(b, 0);
        }
        if (b.length != 16) {
            return false;
        }
        if (zeros(b, 0, 10) && (b[10] & b[11] & 0xff) == 0xff) {
            return isPublicIpv4(b, 12); // IPv4-mapped ::ffff:0:0/96
        }
        if (zeros(b, 0, 12)) {
            return isPublicIpv4(b, 12); // IPv4-compatible ::/96; :: and ::1 fall in 0.0.0.0/8, so they are refused too
        }
        int first = (b[0] & 0xff) << 8 | b[1] & 0xff;
        int second = (b[2] & 0xff) << 8 | b[3] & 0xff;
        if (first == 0x64 && second == 0xff9b && zeros(b, 4, 12)) {
            return isPublicIpv4(b, 12); // NAT64 well-known prefix 64:ff9b::/96
        }
        if (first == 0x64 && second == 0xff9b && b[4] == 0 && b[5] == 1) {
            // NAT64 local-use 64:ff9b:1::/48: site-specific, and where it carries the IPv4 address depends on the
            // prefix length the site picked (RFC 6052), so no reading of it is safe
            return false;
        }
        if (first == 0x2002) {
            return isPublicIpv4(b, 2); // 6to4 2002::/16
        }
        if ((first & 0xe000) != 0x2000) {
            // outside 2000::/3, the only block handed out for global unicast: this leaves out ::/128, ::1, 100::/64
            // (discard), fc00::/7 (unique local), fe80::/10 (link-local), fec0::/10 (site-local), ff00::/8 (multicast)
            // and the other reserved blocks
            return false;
        }
        if (first == 0x2001 && (second & 0xfe00) == 0) {
            // 2001::/23, IETF protocol assignments: Teredo 2001::/32 (which hides the IPv4 address it reaches),
            // benchmarking 2001:2::/48, ORCHID 2001:10::/28 and 2001:20::/28, and the like
            return false;
        }
        if (first == 0x2001 && second == 0xdb8 || first == 0x3fff && (second & 0xf000) == 0) {
            return false; // documentation 2001:db8::/32 and 3fff::/20
        }
        return true;
    }

    private static boolean isPublicIpv4(byte[] b, int at) {
        int first = b[at] & 0xff;
        int second = b[at + 1] & 0xff;
        int third = b[at + 2] & 0xff;
        return !(first == 0 // "this network" 0/8
                || first == 10 || first == 127 // private 10/8, loopback 127/8
                || first == 100 && (second & 0xc0) == 64 // CGNAT 100.64/10
                || first == 169 && second == 254 // link-local 169.254/16
                || first == 172 && (second & 0xf0) == 16 // private 172.16/12
                || first == 192 && second == 0 && (third == 0 || third == 2) // IETF protocol assignments 192.0.0/24, TEST-NET-1 192.0.2/24
                || first == 192 && second == 88 && third == 99 // 6to4 relay anycast 192.88.99/24
                || first == 192 && second == 168 // private 192.168/16
                || first == 198 && (second & 0xfe) == 18 // benchmarking 198.18/15
                || first == 198 && second == 51 && third == 100 // TEST-NET-2 198.51.100/24
                || first == 203 && second == 0 && third == 113 // TEST-NET-3 203.0.113/24
                || first >= 224); // multicast 224/4, reserved 240/4 and broadcast 255.255.255.255
    }

    private static boolean zeros(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }
}
