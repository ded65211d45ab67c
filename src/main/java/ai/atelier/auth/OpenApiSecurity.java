package ai.atelier.auth;

import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import jakarta.enterprise.inject.Any;
import jakarta.enterprise.inject.spi.Bean;
import jakarta.ws.rs.HttpMethod;
import jakarta.ws.rs.Path;

import org.eclipse.microprofile.openapi.OASFactory;
import org.eclipse.microprofile.openapi.OASFilter;
import org.eclipse.microprofile.openapi.models.OpenAPI;
import org.eclipse.microprofile.openapi.models.Operation;
import org.eclipse.microprofile.openapi.models.security.SecurityRequirement;

import ai.atelier.http.ApiDocument;
import ai.atelier.problem.ProblemResponses;
import io.quarkus.arc.Arc;
import io.quarkus.smallrye.openapi.OpenApiFilter;

/**
 * Writes on each operation of the OpenAPI document who may call it, from the facts the service enforces, so that the two
 * cannot drift and a route added later is documented without anyone remembering to: a route {@link Authenticator#open}
 * lets through has {@code security: []}; every other takes a key as {@code Authorization: Bearer} or {@code X-API-Key},
 * answers 401 and 429, and, when it has a {@link Scopes.Requires} (on its method or class, as {@link ScopeCheck} reads
 * it), names that scope in {@code x-required-scope} and answers 403 without it. OpenAPI 3.0 allows scopes in a security
 * requirement only for OAuth2, so the scope is an extension (and a sentence of the description), not a scope list.
 *
 * <p>Runs at startup, where the resource classes are beans that can be read; the rest of the document is built at build
 * time. A route whose Java method cannot be found (none today) keeps the key requirement without a scope.
 */
@OpenApiFilter(OpenApiFilter.RunStage.RUNTIME_STARTUP)
public class OpenApiSecurity implements OASFilter {

    /** The extension naming the scope an operation's key needs. */
    public static final String REQUIRED_SCOPE = "x-required-scope";

    @Override
    public void filterOpenAPI(OpenAPI openAPI) {
        SecurityRequirement bearer = OASFactory.createSecurityRequirement().addScheme(ApiDocument.BEARER);
        SecurityRequirement apiKey = OASFactory.createSecurityRequirement().addScheme(ApiDocument.API_KEY);
        // the default for the whole document: a key, either way; open routes say otherwise
        openAPI.setSecurity(new java.util.ArrayList<>(List.of(bearer, apiKey)));
        if (openAPI.getPaths() == null || openAPI.getPaths().getPathItems() == null) {
            return;
        }
        Map<String, Optional<String>> scopes = scopesByOperation();
        openAPI.getPaths().getPathItems().forEach((path, item) -> {
            if (item.getOperations() == null) {
                return;
            }
            item.getOperations().forEach((method, operation) -> {
                if (Authenticator.open(path)) {
                    operation.setSecurity(new java.util.ArrayList<>()); // explicitly none
                    return;
                }
                operation.setSecurity(new java.util.ArrayList<>(List.of(bearer, apiKey)));
                Optional<String> scope = scopes.getOrDefault(method.name() + " " + path, Optional.empty());
                ProblemResponses.addResponse(operation, "401", ProblemResponses.UNAUTHORIZED);
                ProblemResponses.addResponse(operation, "429", ProblemResponses.TOO_MANY_REQUESTS);
                scope.ifPresent(s -> {
                    operation.addExtension(REQUIRED_SCOPE, s);
                    ProblemResponses.addResponse(operation, "403", ProblemResponses.FORBIDDEN);
                    describe(operation, "Needs a key with the scope `" + s + "`.");
                });
            });
        });
    }

    private static void describe(Operation operation, String sentence) {
        String description = operation.getDescription();
        operation.setDescription(description == null || description.isBlank() ? sentence : description + "\n\n" + sentence);
    }

    /**
     * "METHOD /path/{template}" of every resource method of the application, with the scope it needs: read from the
     * resource classes (every JAX-RS resource is a bean) the way JAX-RS joins their paths.
     */
    static Map<String, Optional<String>> scopesByOperation() {
        Map<String, Optional<String>> out = new HashMap<>();
        for (Bean<?> bean : Arc.container().beanManager().getBeans(Object.class, Any.Literal.INSTANCE)) {
            Class<?> type = bean.getBeanClass();
            Path base = type.getAnnotation(Path.class);
            if (base == null) {
                continue;
            }
            Scopes.Requires onClass = type.getAnnotation(Scopes.Requires.class);
            for (Method m : type.getMethods()) {
                String verb = httpMethod(m);
                if (verb == null) {
                    continue;
                }
                Path sub = m.getAnnotation(Path.class);
                Scopes.Requires onMethod = m.getAnnotation(Scopes.Requires.class);
                Scopes.Requires needed = onMethod != null ? onMethod : onClass;
                out.put(verb + " " + join(base.value(), sub == null ? "" : sub.value()), Optional.ofNullable(needed).map(Scopes.Requires::value));
            }
        }
        return out;
    }

    private static String httpMethod(Method m) {
        for (Annotation a : m.getAnnotations()) {
            HttpMethod verb = a.annotationType().getAnnotation(HttpMethod.class);
            if (verb != null) {
                return verb.value().toUpperCase(Locale.ROOT);
            }
        }
        return null;
    }

    /** A class path and a method path as one template, as the document writes it ({@code {id: regex}} becomes {@code {id}}). */
    static String join(String base, String sub) {
        String joined = ("/" + base + "/" + sub).replaceAll("/+", "/").replaceAll("\\{\\s*([^}:\\s]+)\\s*:[^}]*}", "{$1}");
        return joined.length() > 1 && joined.endsWith("/") ? joined.substring(0, joined.length() - 1) : joined;
    }
}
