package ai.atelier.auth;

import jakarta.inject.Singleton;

import ai.atelier.problem.Problem;
import io.quarkus.vertx.http.runtime.CurrentVertxRequest;

/** The caller of the request being served, as the {@link Authenticator} found it. */
@Singleton
public class Callers {

    private final CurrentVertxRequest request;

    public Callers(CurrentVertxRequest request) {
        this.request = request;
    }

    public Caller current() {
        Caller c = Caller.of(request.getCurrent());
        if (c == null) {
            throw new Problem(401, "missing-api-key", "Missing API key", "This route needs an API key");
        }
        return c;
    }

    /** The tenant everything this request touches belongs to; the operator's key has none (it administers, it does not submit). */
    public Caller tenantCaller() {
        Caller c = current();
        if (c.tenantId() == null) {
            throw new Problem(403, "missing-scope", "Missing scope", "The admin key administers tenants; use a tenant's key for this route");
        }
        return c;
    }

    public String tenant() {
        return tenantCaller().tenantId();
    }
}
