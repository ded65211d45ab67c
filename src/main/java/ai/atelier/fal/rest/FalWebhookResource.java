package ai.atelier.fal.rest;

import java.util.Map;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.resteasy.reactive.RestHeader;

import ai.atelier.config.AtelierConfig;
import ai.atelier.fal.FalCompletions;
import ai.atelier.fal.FalWebhookVerifier;
import ai.atelier.problem.Problem;
import ai.atelier.problem.ProblemMappers;
import io.quarkus.logging.Log;
import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.quarkus.redis.datasource.value.SetArgs;
import io.smallrye.mutiny.Uni;

/**
 * {@code POST /v1/fal/webhook}: fal calls it when a request Atelier submitted completes. The signature
 * is checked against fal's JWKS, a stale timestamp is refused, a repeat is acknowledged and ignored,
 * and the pipeline waiting on the request is woken. The webhook only says "look now": the result is
 * still fetched from fal's queue API, so a forged or missed webhook cannot change a job. While fal webhooks are off
 * ({@code atelier.fal.public-base-url} unset) the route is not there: a 404, before the body is read or a key fetched.
 */
@Path("/v1/fal/webhook")
@Tag(name = "fal")
public class FalWebhookResource {

    /** What fal reads back: the request the webhook was about, and whether it was a repeat. */
    @org.eclipse.microprofile.openapi.annotations.media.Schema(name = "FalWebhookAcknowledged")
    public record Acknowledged(@org.eclipse.microprofile.openapi.annotations.media.Schema(required = true) String requestId,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(required = true) boolean duplicate) {
    }

    /** Binds {@link #whileOff} to this route alone. */
    @jakarta.ws.rs.NameBinding
    @java.lang.annotation.Retention(java.lang.annotation.RetentionPolicy.RUNTIME)
    @java.lang.annotation.Target({ java.lang.annotation.ElementType.METHOD, java.lang.annotation.ElementType.TYPE })
    public @interface FalWebhookRoute {
    }

    private final FalWebhookVerifier verifier;
    private final FalCompletions completions;
    private final ReactiveRedisDataSource redis;
    private final boolean on;

    public FalWebhookResource(FalWebhookVerifier verifier, FalCompletions completions, ReactiveRedisDataSource redis, AtelierConfig config) {
        this.verifier = verifier;
        this.completions = completions;
        this.redis = redis;
        this.on = config.fal().publicBaseUrl().filter(u -> !u.isBlank()).isPresent();
    }

    /** Off, the route answers what an unknown one does: nobody learns more, and nobody can make Atelier fetch fal's keys. */
    @org.jboss.resteasy.reactive.server.ServerRequestFilter
    @FalWebhookRoute
    public jakarta.ws.rs.core.Response whileOff(io.vertx.ext.web.RoutingContext rc) {
        return on ? null : ProblemMappers.toResponse(Problem.notFound("fal webhooks are off on this service (ATELIER_FAL_PUBLIC_BASE_URL is unset)"),
                rc.normalizedPath());
    }

    @POST
    @FalWebhookRoute
    @Consumes(MediaType.WILDCARD)
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(operationId = "receiveFalWebhook", summary = "fal's completion webhook (Ed25519-signed)",
            description = "Open: no API key, since fal calls it; the request is trusted only if its signature verifies against fal's "
                    + "published keys, and even then it only says \"look now\": the result is read from fal's queue API.")
    @org.eclipse.microprofile.openapi.annotations.responses.APIResponse(responseCode = "200", description = "Taken (or a repeat, ignored)",
            content = @org.eclipse.microprofile.openapi.annotations.media.Content(mediaType = MediaType.APPLICATION_JSON,
                    schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = Acknowledged.class)))
    @org.eclipse.microprofile.openapi.annotations.responses.APIResponse(responseCode = "401",
            description = "The signature does not verify, or its timestamp is stale")
    @org.eclipse.microprofile.openapi.annotations.responses.APIResponse(responseCode = "404",
            description = "fal webhooks are off on this service (ATELIER_FAL_PUBLIC_BASE_URL is unset)")
    public Uni<Map<String, Object>> receive(
            @org.eclipse.microprofile.openapi.annotations.parameters.RequestBody(content = @org.eclipse.microprofile.openapi.annotations.media.Content(
                    mediaType = MediaType.APPLICATION_JSON, schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(
                            type = org.eclipse.microprofile.openapi.annotations.enums.SchemaType.OBJECT,
                            description = "fal's webhook body (read as bytes: the signature covers them exactly): request_id, "
                                    + "gateway_request_id, status (OK or ERROR), payload, error"))) byte[] body, @RestHeader("X-Fal-Webhook-Request-Id") String requestId,
            @RestHeader("X-Fal-Webhook-User-Id") String userId, @RestHeader("X-Fal-Webhook-Timestamp") String timestamp,
            @RestHeader("X-Fal-Webhook-Signature") String signature) {
        return verifier.problem(requestId, userId, timestamp, signature, body == null ? new byte[0] : body)
                .chain(problem -> {
                    if (problem != null) {
                        Log.warnf("fal webhook refused: %s", problem);
                        throw new Problem(401, "invalid-fal-signature", "Invalid fal webhook", "Refused: " + problem);
                    }
                    return redis.value(String.class).setGet("atelier:fal-webhook:" + requestId, "1", new SetArgs().nx().ex(86_400))
                            .onFailure().recoverWithNull();
                })
                .chain(previous -> {
                    if (previous != null) {
                        return Uni.createFrom().item(Map.<String, Object>of("request_id", requestId, "duplicate", true));
                    }
                    return completions.announce(requestId).replaceWith(Map.<String, Object>of("request_id", requestId, "duplicate", false));
                });
    }
}
