package ai.atelier.net;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.Locale;

/**
 * Reads IP address literals in URL hosts without DNS, the way the OS resolver reads them. IPv4 in
 * every legacy form glibc's {@code inet_aton} takes (octal, hex, fewer than four parts), because
 * curl, most HTTP clients and fal's servers hand hosts to it: {@code 0177.0.0.1} is 127.0.0.1 there,
 * not the 177.0.0.1 Java makes of it. IPv6 as RFC 4291 writes it, strictly.
 */
public final class IpLiterals {

    private IpLiterals() {
    }

    /**
     * The host of a URL as written, lower case, IPv6 in brackets; null when it has none. Java's URI
     * reads an authority such as {@code 127.1} or {@code 0x7f.1} as a registry name without a host,
     * while resolvers read it as an address: such an authority's host is returned too, when it ends
     * in a number (see {@link #literal}).
     */
    public static String hostOf(URI uri) {
        if (uri.getHost() != null) {
            return uri.getHost().toLowerCase(Locale.ROOT);
        }
        String host = registryHost(uri);
        return host != null && endsInNumber(host) ? host.toLowerCase(Locale.ROOT) : null;
    }

    /** The port of a URL, -1 when it names none, also for the authorities {@link #hostOf} reads itself; -2 when it is not a number. */
    static int portOf(URI uri) {
        if (uri.getHost() != null || uri.getRawAuthority() == null) {
            return uri.getPort();
        }
        String hostAndPort = withoutUserInfo(uri.getRawAuthority());
        int colon = hostAndPort.lastIndexOf(':');
        if (colon < 0) {
            return -1;
        }
        String port = hostAndPort.substring(colon + 1);
        if (port.isEmpty()) {
            return -1;
        }
        if (port.length() > 5 || !port.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return -2;
        }
        return Integer.parseInt(port);
    }

    private static String registryHost(URI uri) {
        if (uri.getRawAuthority() == null) {
            return null;
        }
        String hostAndPort = withoutUserInfo(uri.getRawAuthority());
        int colon = hostAndPort.lastIndexOf(':');
        return colon < 0 ? hostAndPort : hostAndPort.substring(0, colon);
    }

    private static String withoutUserInfo(String authority) {
        return authority.substring(authority.lastIndexOf('@') + 1);
    }

    /**
     * The address a URL host names literally ({@code 127.1}, {@code [::1]}), or null for a host
     * name, which only DNS can turn into addresses.
     *
     * @throws IllegalArgumentException when the host is neither: a bracketed host that is no IPv6
     *         address or has a zone ({@code %eth0}), or a host ending in a number that is no IPv4
     *         literal ({@code 256.1.1.1}, {@code 08.1.1.1}, {@code 127.0.0.1.}). Resolvers read
     *         those differently or not at all (glibc looks {@code 127.0.0.1.} up as a name, browsers
     *         read it as the address), and no real host name ends in a number.
     */
    public static InetAddress literal(String host) {
        byte[] bytes;
        if (host.startsWith("[") && host.endsWith("]")) {
            bytes = parseIpv6(host.substring(1, host.length() - 1));
            if (bytes == null) {
                throw new IllegalArgumentException("not an IPv6 address");
            }
        } else if (endsInNumber(host)) {
            bytes = parseIpv4(host);
            if (bytes == null) {
                throw new IllegalArgumentException("not an IPv4 address");
            }
        } else {
            return null;
        }
        try {
            return InetAddress.getByAddress(bytes); // no lookup: from bytes; IPv4-mapped IPv6 comes back as IPv4
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IP address");
        }
    }

    /**
     * Whether a host's last label (one trailing dot aside) is a number, decimal or {@code 0x} hex,
     * as the URL standard puts it: such a host can only be an IPv4 address.
     */
    static boolean endsInNumber(String host) {
        String h = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
        String last = h.substring(h.lastIndexOf('.') + 1);
        if (last.isEmpty()) {
            return false;
        }
        if (last.startsWith("0x") || last.startsWith("0X")) {
            return last.chars().skip(2).allMatch(c -> hexDigit(c) >= 0);
        }
        return last.chars().allMatch(c -> c >= '0' && c <= '9');
    }

    /**
     * Reads an IPv4 literal as glibc's {@code inet_aton} does: 1 to 4 parts separated by dots, each
     * decimal, octal (leading 0) or hex (0x); each part but the last is one byte and the last fills
     * the remaining bytes ({@code 127.1} is 127.0.0.1, {@code 2130706433} too).
     *
     * @return the 4 bytes, or null when the text is no such literal (a part out of range, an empty
     *         part, a digit its base lacks)
     */
    static byte[] parseIpv4(String s) {
        String[] parts = s.split("\\.", -1);
        if (parts.length > 4) {
            return null;
        }
        long address = 0;
        for (int i = 0; i < parts.length; i++) {
            long v = ipv4Part(parts[i]);
            int bits = i < parts.length - 1 ? 8 : 8 * (4 - i);
            if (v < 0 || v >= 1L << bits) {
                return null;
            }
            address = i < parts.length - 1 ? address << 8 | v : address << bits | v;
        }
        return new byte[] { (byte) (address >>> 24), (byte) (address >>> 16), (byte) (address >>> 8), (byte) address };
    }

    /** One part of an IPv4 literal, or -1; anything over 32 bits counts as too big, as in inet_aton. */
    private static long ipv4Part(String p) {
        int radix = 10;
        int start = 0;
        if (p.startsWith("0x") || p.startsWith("0X")) {
            radix = 16;
            start = 2;
            if (p.length() == 2) {
                return -1; // glibc takes a lone "0x" for no number
            }
        } else if (p.startsWith("0")) {
            radix = 8;
        }
        if (p.isEmpty()) {
            return -1;
        }
        long v = 0;
        for (int i = start; i < p.length(); i++) {
            int d = radix == 16 ? hexDigit(p.charAt(i)) : p.charAt(i) >= '0' && p.charAt(i) <= '9' ? p.charAt(i) - '0' : -1;
            if (d < 0 || d >= radix) {
                return -1;
            }
            v = v * radix + d;
            if (v > 0xffffffffL) {
                return -1;
            }
        }
        return v;
    }

    /**
     * Reads an IPv6 literal (RFC 4291: hex groups, one {@code ::}, an optional dotted IPv4 tail in
     * plain decimal as {@code inet_pton} wants it). No zone ({@code %eth0}): it only makes sense
     * for link-local addresses, which are never public.
     *
     * @return the 16 bytes, or null when the text is no IPv6 address
     */
    static byte[] parseIpv6(String s) {
        int gap = s.indexOf("::");
        if (gap >= 0 && s.indexOf("::", gap + 1) >= 0) {
            return null;
        }
        int[] head = gap < 0 ? ipv6Groups(s, true) : gap == 0 ? new int[0] : ipv6Groups(s.substring(0, gap), false);
        int[] tail = gap < 0 ? new int[0] : gap + 2 == s.length() ? new int[0] : ipv6Groups(s.substring(gap + 2), true);
        if (head == null || tail == null || (gap < 0 ? head.length != 8 : head.length + tail.length > 7)) {
            return null;
        }
        byte[] b = new byte[16];
        for (int i = 0; i < head.length; i++) {
            b[2 * i] = (byte) (head[i] >> 8);
            b[2 * i + 1] = (byte) head[i];
        }
        for (int i = 0; i < tail.length; i++) {
            int at = 16 - 2 * (tail.length - i);
            b[at] = (byte) (tail[i] >> 8);
            b[at + 1] = (byte) tail[i];
        }
        return b;
    }

    /** Colon-separated 16-bit groups; a dotted IPv4 address may stand last, as two groups. */
    private static int[] ipv6Groups(String s, boolean ipv4Tail) {
        String[] parts = s.split(":", -1);
        int[] groups = new int[parts.length + 1];
        int n = 0;
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i];
            if (ipv4Tail && i == parts.length - 1 && p.contains(".")) {
                byte[] v4 = dottedQuad(p);
                if (v4 == null) {
                    return null;
                }
                groups[n++] = (v4[0] & 0xff) << 8 | v4[1] & 0xff;
                groups[n++] = (v4[2] & 0xff) << 8 | v4[3] & 0xff;
                continue;
            }
            if (p.isEmpty() || p.length() > 4) {
                return null;
            }
            int v = 0;
            for (int j = 0; j < p.length(); j++) {
                int d = hexDigit(p.charAt(j));
                if (d < 0) {
                    return null;
                }
                v = v << 4 | d;
            }
            groups[n++] = v;
        }
        return java.util.Arrays.copyOf(groups, n);
    }

    /** Four decimal bytes without leading zeros, the only IPv4 form inet_pton takes inside IPv6. */
    private static byte[] dottedQuad(String s) {
        String[] parts = s.split("\\.", -1);
        if (parts.length != 4) {
            return null;
        }
        byte[] b = new byte[4];
        for (int i = 0; i < 4; i++) {
            String p = parts[i];
            if (p.isEmpty() || p.length() > 3 || (p.length() > 1 && p.charAt(0) == '0') || !p.chars().allMatch(c -> c >= '0' && c <= '9')) {
                return null;
            }
            int v = Integer.parseInt(p);
            if (v > 255) {
                return null;
            }
            b[i] = (byte) v;
        }
        return b;
    }

    private static int hexDigit(int c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    }
}
