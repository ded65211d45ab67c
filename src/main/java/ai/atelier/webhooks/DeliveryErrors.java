package ai.atelier.webhooks;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.nio.channels.ClosedChannelException;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

import javax.net.ssl.SSLException;

import ai.atelier.problem.Problem;

/**
 * What a failed delivery attempt is called where the client reads it (GET /v1/jobs/{id}/webhooks): the answer's
 * HTTP status or one neutral reason, never an exception's name or message, nor an address the host resolved to
 * (which would let a client map our network through its webhook URL).
 */
final class DeliveryErrors {

    static final String TIMEOUT = "timeout";
    static final String CONNECTION_REFUSED = "connection refused";
    static final String ADDRESS_POLICY = "refused by address policy";
    static final String HOST_NOT_FOUND = "host not found";
    static final String HOST_UNREACHABLE = "host unreachable";
    static final String TLS = "TLS handshake failed";
    static final String CONNECTION_CLOSED = "connection closed";
    static final String CONNECTION_FAILED = "connection failed";
    static final String UNUSABLE_URL = "unusable URL";
    static final String NO_SECRET = "no webhook secret";

    /** Every reason there is: what was stored before these existed is shown as {@link #CONNECTION_FAILED}. */
    static final Set<String> REASONS = Set.of(TIMEOUT, CONNECTION_REFUSED, ADDRESS_POLICY, HOST_NOT_FOUND, HOST_UNREACHABLE, TLS,
            CONNECTION_CLOSED, CONNECTION_FAILED, UNUSABLE_URL, NO_SECRET);
    private static final Pattern HTTP = Pattern.compile("HTTP [1-5][0-9][0-9]");

    private DeliveryErrors() {
    }

    /** A non-2xx answer. */
    static String http(int status) {
        return "HTTP " + status;
    }

    /** The reason an attempt got no answer, from what failed (the SSRF guard's problem, or the connection's exception). */
    static String of(Throwable failure) {
        if (failure instanceof Problem p) {
            if (p.slug().startsWith("forbidden-")) {
                return ADDRESS_POLICY;
            }
            return String.valueOf(p.getMessage()).contains("does not resolve") ? HOST_NOT_FOUND : UNUSABLE_URL;
        }
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            // Vert.x's and Netty's own timeouts (connect, idle) and Mutiny's overall one all say so in their type
            if (t instanceof TimeoutException || t instanceof io.smallrye.mutiny.TimeoutException
                    || t.getClass().getSimpleName().contains("Timeout")) {
                return TIMEOUT;
            }
            if (t instanceof UnknownHostException) {
                return HOST_NOT_FOUND;
            }
            if (t instanceof NoRouteToHostException) {
                return HOST_UNREACHABLE;
            }
            if (t instanceof ConnectException) {
                return String.valueOf(t.getMessage()).toLowerCase(java.util.Locale.ROOT).contains("refused") ? CONNECTION_REFUSED
                        : CONNECTION_FAILED;
            }
            if (t instanceof SSLException) {
                return TLS;
            }
            if (t instanceof ClosedChannelException || t instanceof io.vertx.core.http.HttpClosedException
                    || String.valueOf(t.getMessage()).toLowerCase(java.util.Locale.ROOT).contains("closed")) {
                return CONNECTION_CLOSED;
            }
        }
        return CONNECTION_FAILED;
    }

    /** What a stored error may show: a status or one of the reasons; anything else (rows from older versions) is generic. */
    static String shown(String stored) {
        if (stored == null || REASONS.contains(stored) || HTTP.matcher(stored).matches()) {
            return stored;
        }
        return CONNECTION_FAILED;
    }
}
