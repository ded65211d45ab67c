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
import io.vertx.core.http.HttpClientOptions;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.core.http.HttpClient;
import io.vertx.mutiny.core.http.HttpClientRequest;
import io.vertx.mutiny.core.http.HttpClientResponse;

/**
 * Fetches a client's image URL without letting it reach inside our network (SSRF): the host is
 * resolved first, every address must be public, and the connection goes to the address that was
 * checked (no second lookup an attacker could rebind). Redirects are not followed, and the body is
 * refused as soon as it passes the byte limit.
 * Hosts in {@code atelier.ingest.allowed-hosts} skip the address check, for local use.
 */
@ApplicationScoped
public class ImageFetcher {

    private final HttpClient http;
    private final AtelierConfig.Ingest config;
    private final List<String> allowedHosts;

    public ImageFetcher(Vertx vertx, AtelierConfig config) {
        this.config = config.ingest();
        this.allowedHosts = config.ingest().allowedHosts().orElse(List.of()).stream().map(h -> h.toLowerCase(Locale.ROOT)).toList();
        this.http = vertx.createHttpClient(new HttpClientOptions().setConnectTimeout(5_000).setMaxPoolSize(32));
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
                    RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setHost(bareHost).setPort(port).setSsl(https)
                            .setURI(path).setServer(SocketAddress.inetSocketAddress(port, addresses[0].getHostAddress()))
                            .setTimeout(config.fetchTimeout().toMillis());
                    return http.request(options).chain(HttpClientRequest::send)
                            .onFailure().transform(e -> e instanceof Problem ? e : bad("The image URL could not be fetched: " + e.getClass().getSimpleName()))
                            .chain(this::body);
                });
    }

    /** Reads the body, refusing it as soon as it passes the byte limit: a hostile server cannot make us buffer more. */
    private Uni<byte[]> body(HttpClientResponse r) {
        if (r.statusCode() != 200) {
            r.request().connection().close();
            return Uni.createFrom().failure(bad("The image URL answered HTTP " + r.statusCode()
                    + (r.statusCode() / 100 == 3 ? " (redirects are not followed)" : "")));
        }
        long max = config.maxBytes();
        String length = r.getHeader("Content-Length");
        if (length != null && length.matches("\\d{1,18}") && Long.parseLong(length) > max) {
            r.request().connection().close();
            return Uni.createFrom().failure(tooLarge(Long.parseLong(length), max));
        }
        return r.toMulti()
                .collect().in(Buffer::buffer, (all, chunk) -> {
                    if (all.length() + chunk.length() > max) {
                        r.request().connection().close();
                        throw tooLarge(all.length() + (long) chunk.length(), max);
                    }
                    all.appendBuffer(chunk);
                })
                .map(Buffer::getBytes);
    }

    private static Problem tooLarge(long bytes, long max) {
        return Problem.tooLarge("image-too-many-bytes", "The image URL serves more than " + max + " bytes (" + bytes + " so far)");
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
