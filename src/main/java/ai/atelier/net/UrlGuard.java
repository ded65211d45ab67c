package ai.atelier.net;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import jakarta.enterprise.context.ApplicationScoped;

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
 * connects to the address that was checked, so DNS cannot be rebound in between. Hosts listed in
 * {@code atelier.ingest.allowed-hosts} skip the address check, for local use.
 */
@ApplicationScoped
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
        if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
            return Uni.createFrom().failure(unusable(kind, "The " + words + " must be http(s) with a host"));
        }
        String host = uri.getHost().toLowerCase(Locale.ROOT);
        String bareHost = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
        boolean https = scheme.equals("https");
        int port = uri.getPort() > 0 ? uri.getPort() : https ? 443 : 80;
        String path = (uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath())
                + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
        Uni<InetAddress[]> lookup = Uni.createFrom().item(() -> {
            try {
                return InetAddress.getAllByName(bareHost);
            } catch (UnknownHostException e) {
                throw unusable(kind, "The " + words + "'s host '" + bareHost + "' does not resolve");
            }
        }).runSubscriptionOn(Infrastructure.getDefaultWorkerPool()); // DNS lookups block: never on the event loop
        return Contexts.backOnCaller(lookup).map(addresses -> {
            if (!allowedHosts.contains(bareHost)) {
                for (InetAddress a : addresses) {
                    if (!isPublic(a)) {
                        throw Problem.invalid("forbidden-" + kind, "URL not allowed", "The " + words + " points at a loopback, private or "
                                + "link-local address (" + a.getHostAddress() + "); only public hosts are reached");
                    }
                }
            }
            return new Target(bareHost, port, https, path, addresses[0]);
        });
    }

    private static Problem unusable(String kind, String detail) {
        return Problem.invalid("unusable-" + kind, "URL not usable", detail);
    }

    /** False for loopback, private, link-local, CGNAT, multicast, unspecified and other non-routable addresses. */
    public static boolean isPublic(InetAddress a) {
        if (a.isLoopbackAddress() || a.isSiteLocalAddress() || a.isLinkLocalAddress() || a.isAnyLocalAddress() || a.isMulticastAddress()) {
            return false;
        }
        byte[] b = a.getAddress();
        if (a instanceof Inet4Address) {
            int first = b[0] & 0xff;
            int second = b[1] & 0xff;
            return !(first == 0 || first >= 240 || (first == 100 && second >= 64 && second < 128)
                    || (first == 192 && second == 0 && (b[2] & 0xff) == 0) || (first == 198 && (second == 18 || second == 19)));
        }
        if (a instanceof Inet6Address) {
            if ((b[0] & 0xfe) == 0xfc) {
                return false; // unique local fc00::/7
            }
            boolean mapped = Arrays.equals(Arrays.copyOf(b, 12), new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff });
            if (mapped) {
                try {
                    return isPublic(InetAddress.getByAddress(Arrays.copyOfRange(b, 12, 16)));
                } catch (UnknownHostException e) {
                    return false;
                }
            }
        }
        return true;
    }
}
