package ai.atelier.auth;

import java.util.Set;
import java.util.UUID;

import io.vertx.ext.web.RoutingContext;

/**
 * Who is calling: the tenant everything they touch belongs to, the key they used (none for the
 * anonymous tenant and the operator's admin key) and what it may do. Set by the {@link Authenticator}
 * on the request before anything else runs.
 */
public record Caller(String tenantId, String tenantName, UUID keyId, Set<String> scopes, boolean operator) {

    static final String KEY = "atelier.caller";

    public boolean may(String scope) {
        return scopes.contains(scope);
    }

    /** The caller of this request, or null on the routes that take no key (health, metrics, static pages). */
    public static Caller of(RoutingContext rc) {
        return rc == null ? null : rc.get(KEY);
    }
}
