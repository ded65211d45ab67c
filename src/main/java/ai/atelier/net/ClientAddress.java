package ai.atelier.net;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import jakarta.inject.Singleton;

import ai.atelier.config.AtelierConfig;
import io.vertx.core.http.HttpServerRequest;

/**
 * The address of whoever sent a request. Behind an ingress or load balancer every connection comes from
 * the proxy, so the client is named in {@code X-Forwarded-For} (or RFC 7239 {@code Forwarded}); but anyone
 * can send those headers, so they are read only when the connection comes from a configured trusted proxy
 * ({@code atelier.http.trusted-proxies}), and then from the right: each trusted proxy appends the address
 * it saw, so the first address from the right that is not a trusted proxy is the one no client could
 * forge. With no trusted proxy configured the headers are ignored and the peer's address is the client's.
 */
@Singleton
public class ClientAddress {

    private final List<Cidr> trusted;

    @jakarta.inject.Inject
    public ClientAddress(AtelierConfig config) {
        this(config.http().trustedProxies().orElse(List.of()));
    }

    ClientAddress(List<String> trustedProxies) {
        List<Cidr> list = new ArrayList<>();
        for (String entry : trustedProxies) {
            if (!entry.isBlank()) {
                list.add(Cidr.parse(entry.strip()));
            }
        }
        this.trusted = List.copyOf(list);
    }

    /** The client's address as text (the peer's, or a trusted proxy's report of it); "unknown" when there is none. */
    public String of(HttpServerRequest request) {
        String peer = request.remoteAddress() == null ? null : request.remoteAddress().hostAddress();
        if (peer == null) {
            return "unknown";
        }
        if (trusted.isEmpty() || !isTrusted(peer)) {
            return peer;
        }
        List<String> hops = forwarded(request);
        for (int i = hops.size() - 1; i >= 0; i--) {
            String hop = hops.get(i);
            if (!isTrusted(hop)) {
                return hop;
            }
        }
        // every hop is a trusted proxy (or none was named): the nearest one is all that is known
        return hops.isEmpty() ? peer : hops.get(0);
    }

    /** Whether this address (a literal, as a peer or a forwarded hop) is one of the trusted proxies. */
    boolean isTrusted(String address) {
        InetAddress a = parse(address);
        if (a == null) {
            return false;
        }
        for (Cidr c : trusted) {
            if (c.contains(a)) {
                return true;
            }
        }
        return false;
    }

    /** The hops the proxies reported, nearest the client first: {@code Forwarded} when present, else {@code X-Forwarded-For}. */
    private static List<String> forwarded(HttpServerRequest request) {
        List<String> hops = new ArrayList<>();
        List<String> rfc7239 = request.headers().getAll("Forwarded");
        if (!rfc7239.isEmpty()) {
            for (String header : rfc7239) {
                for (String element : header.split(",")) {
                    for (String pair : element.split(";")) {
                        int eq = pair.indexOf('=');
                        if (eq > 0 && pair.substring(0, eq).strip().toLowerCase(Locale.ROOT).equals("for")) {
                            hops.add(rfc7239Node(pair.substring(eq + 1).strip()));
                        }
                    }
                }
            }
            return hops;
        }
        for (String header : request.headers().getAll("X-Forwarded-For")) {
            for (String hop : header.split(",")) {
                if (!hop.isBlank()) {
                    hops.add(hop.strip());
                }
            }
        }
        return hops;
    }

    /** {@code "[2001:db8::1]:4711"}, {@code 192.0.2.60:8080} or {@code unknown}: the address alone. */
    private static String rfc7239Node(String node) {
        String n = node.startsWith("\"") && node.endsWith("\"") && node.length() > 1 ? node.substring(1, node.length() - 1) : node;
        if (n.startsWith("[")) {
            int close = n.indexOf(']');
            return close > 0 ? n.substring(1, close) : n;
        }
        int colon = n.indexOf(':');
        return colon > 0 && n.indexOf(':', colon + 1) < 0 ? n.substring(0, colon) : n;
    }

    /** An address literal, never a DNS lookup; null when the text is none. */
    static InetAddress parse(String text) {
        if (text == null || text.isEmpty() || text.length() > 64) {
            return null;
        }
        String t = text.startsWith("[") && text.endsWith("]") ? text : text.indexOf(':') >= 0 ? "[" + text + "]" : text;
        try {
            return IpLiterals.literal(t);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** An address block: {@code 10.0.0.0/8}, {@code fd00::/8}, or one address. */
    record Cidr(byte[] network, int bits) {

        static Cidr parse(String text) {
            int slash = text.indexOf('/');
            InetAddress a = ClientAddress.parse(slash < 0 ? text : text.substring(0, slash));
            if (a == null) {
                throw new IllegalArgumentException("atelier.http.trusted-proxies: '" + text + "' is not an address or an address block");
            }
            byte[] bytes = a.getAddress();
            int bits = bytes.length * 8;
            if (slash >= 0) {
                try {
                    bits = Integer.parseInt(text.substring(slash + 1));
                } catch (NumberFormatException e) {
                    bits = -1;
                }
                if (bits < 0 || bits > bytes.length * 8) {
                    throw new IllegalArgumentException("atelier.http.trusted-proxies: '" + text + "' has no valid prefix length");
                }
            }
            return new Cidr(bytes, bits);
        }

        boolean contains(InetAddress address) {
            byte[] b = address.getAddress();
            if (b.length != network.length) {
                return false;
            }
            int full = bits / 8;
            for (int i = 0; i < full; i++) {
                if (b[i] != network[i]) {
                    return false;
                }
            }
            int rest = bits % 8;
            if (rest == 0) {
                return true;
            }
            int mask = 0xff << (8 - rest) & 0xff;
            return (b[full] & mask) == (network[full] & mask);
        }
    }
}
