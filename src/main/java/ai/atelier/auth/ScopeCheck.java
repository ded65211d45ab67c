package ai.atelier.auth;

import java.lang.reflect.Method;

import jakarta.ws.rs.core.Response;

import org.jboss.resteasy.reactive.server.ServerRequestFilter;
import org.jboss.resteasy.reactive.server.SimpleResourceInfo;

import ai.atelier.problem.Problem;
import ai.atelier.problem.ProblemMappers;
import io.vertx.ext.web.RoutingContext;

/**
 * Each route says the scope it needs ({@link Scopes.Requires}, on the method or its class); a caller
 * whose key lacks it gets a 403 problem, before the request's body is read.
 */
public class ScopeCheck {

    @ServerRequestFilter
    public Response requireScope(SimpleResourceInfo resource, RoutingContext rc) {
        Scopes.Requires needed = needed(resource);
        if (needed == null) {
            return null;
        }
        Caller caller = Caller.of(rc);
        if (caller == null) {
            // an open route with a scope would be a mistake: refuse rather than serve anyone
            return ProblemMappers.toResponse(new Problem(401, "missing-api-key", "Missing API key", "This route needs an API key"),
                    rc.normalizedPath());
        }
        if (!caller.may(needed.value())) {
            return ProblemMappers.toResponse(new Problem(403, "missing-scope", "Missing scope",
                    "This key may not do this: it needs the scope " + needed.value()).with("scope", needed.value()), rc.normalizedPath());
        }
        return null;
    }

    private static final java.util.Map<String, java.util.Optional<Scopes.Requires>> NEEDED = new java.util.concurrent.ConcurrentHashMap<>();

    private static Scopes.Requires needed(SimpleResourceInfo resource) {
        return NEEDED.computeIfAbsent(resource.getResourceClass().getName() + "#" + resource.getMethodName() + "/"
                + resource.parameterTypes().length, k -> java.util.Optional.ofNullable(lookup(resource))).orElse(null);
    }

    private static Scopes.Requires lookup(SimpleResourceInfo resource) {
        try {
            Method m = resource.getResourceClass().getMethod(resource.getMethodName(), resource.parameterTypes());
            Scopes.Requires onMethod = m.getAnnotation(Scopes.Requires.class);
            return onMethod != null ? onMethod : resource.getResourceClass().getAnnotation(Scopes.Requires.class);
        } catch (NoSuchMethodException e) {
            return resource.getResourceClass().getAnnotation(Scopes.Requires.class);
        }
    }
}
