package ai.atelier.ingest;

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
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.ext.web.client.WebClient;

/**
 * Fetches a client's image URL without letting it reach inside our network (SSRF): the host is
 * resolved first, every address must be public, and the connection goes to the address that was
 * checked (no second lookup an attacker could rebind). Redirects are not followed.
 * Hosts in {@code atelier.ingest.allowed-hosts} skip the address check, for local use.
 */
@ApplicationScoped
public class ImageFetcher {

    private final WebClient http;
    private final AtelierConfig.Ingest config;
    private final List<String> allowedHosts;

    public ImageFetcher(Vertx vertx, AtelierConfig config) {
        this.config = config.ingest();
        this.allowedHosts = config.ingest().allowedHosts().orElse(List.of()).stream().map(h -> h.toLowerCase(Locale.ROOT)).toList();
        this.http = WebClient.create(vertx, new WebClientOptions().setFollowRedirects(false).setConnectTimeout(5_000)
                .setUserAgent("atelier-ingest/1.0"));
    }

    public Uni<byte[]> fetch(String url) {
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            return Uni.createFrom().failure(bad("The image URL is not a valid URL"));
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
            return Uni.createFrom().failure(bad("An image URL must be http(s) with a host, or a data: URL"));
        }
        String host = uri.getHost().toLowerCase(Locale.ROOT);
        String bareHost = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
        boolean https = scheme.equals("https");
        int port = uri.getPort() > 0 ? uri.getPort() : https ? 443 : 80;
        String path = (uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath())
                + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
        Uni<InetAddress[]> lookup = Uni.createFrom().item(() -> resolve(bareHost))
                .runSubscriptionOn(Infrastructure.getDefaultWorkerPool()); // DNS lookups block; never on the event loop
        return Contexts.backOnCaller(lookup)
                .chain(addresses -> {
                    if (!allowedHosts.contains(bareHost)) {
                        for (InetAddress a : addresses) {
                            if (!isPublic(a)) {
                                return Uni.createFrom().failure(Problem.invalid("forbidden-image-url", "Image URL not allowed",
                                        "The image URL points at a loopback, private or link-local address (" + a.getHostAddress()
                                                + "); only public hosts are fetched"));
                            }
                        }
                    }
                    RequestOptions options = new RequestOptions().setHost(bareHost).setPort(port).setSsl(https).setURI(path)
                            .setServer(SocketAddress.inetSocketAddress(port, addresses[0].getHostAddress()));
                    return http.request(HttpMethod.GET, options).timeout(config.fetchTimeout().toMillis()).send()
                            .onFailure().transform(e -> bad("The image URL could not be fetched: " + e.getClass().getSimpleName()));
                })
                .map(r -> {
                    if (r.statusCode() != 200) {
                        throw bad("The image URL answered HTTP " + r.statusCode() + (r.statusCode() / 100 == 3 ? " (redirects are not followed)" : ""));
                    }
                    return r.bodyAsBuffer() == null ? new byte[0] : r.bodyAsBuffer().getBytes();
                });
    }

    private static InetAddress[] resolve(String host) {
        try {
            return InetAddress.getAllByName(host);
        } catch (UnknownHostException e) {
            throw bad("The image URL's host '" + host + "' does not resolve");
        }
    }

    /** False for loopback, private, link-local, CGNAT, multicast, unspecified and other non-routable addresses. */
    static boolean isPublic(InetAddress a) {
        if (a.isLoopbackAddress() || a.isSiteLocalAddress() || a.isLinkLocalAddress() || a.isAnyLocalAddress()
                || a.isMulticastAddress()) {
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

    private static Problem bad(String detail) {
        return Problem.invalid("unfetchable-image-url", "Image URL not usable", detail);
    }
}
