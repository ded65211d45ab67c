package ai.atelier.webhooks;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.resteasy.reactive.RestResponse;

import ai.atelier.auth.Callers;
import ai.atelier.auth.Scopes;
import ai.atelier.problem.Problem;
import io.smallrye.mutiny.Uni;

/**
 * The caller's own webhook signing secret: made and rotated with the tenant's key, its value answered once, when it
 * is made. {@link AdminWebhookSecretResource} does the same for the operator, for any tenant.
 */
@Path("/v1/webhook-secret")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Webhooks")
public class WebhookSecretResource {

    /** A tenant's webhook secret as shown after it was made: never its value. */
    public record SecretView(@Schema(required = true) UUID id, @Schema(required = true) String tenantId, @Schema(required = true) Instant createdAt,
            @Schema(required = true, description = "Rotated-out secrets that still sign until expires_at") List<PreviousSecret> previous) {
        static SecretView of(String tenant, WebhookSecrets.State s) {
            return new SecretView(s.current().id(), tenant, s.current().createdAt(), PreviousSecret.of(s.previous()));
        }
    }

    /** A rotated-out secret in its grace period: deliveries carry its signature too until {@code expires_at}. */
    public record PreviousSecret(@Schema(required = true) UUID id, @Schema(required = true) Instant createdAt,
            @Schema(required = true) Instant expiresAt) {
        static List<PreviousSecret> of(List<WebhookSecrets.Info> infos) {
            return infos.stream().map(i -> new PreviousSecret(i.id(), i.createdAt(), i.expiresAt())).toList();
        }
    }

    /** A secret just made: {@code secret} appears here and nowhere else, ever. */
    public record CreatedSecret(@Schema(required = true) UUID id, @Schema(required = true) String tenantId,
            @Schema(required = true, description = "whsec_ and 32 random bytes in base64: verify deliveries with it (Standard Webhooks)") String secret,
            @Schema(required = true) Instant createdAt, @Schema(required = true) List<PreviousSecret> previous) {
        static CreatedSecret of(String tenant, WebhookSecrets.Made m) {
            return new CreatedSecret(m.secret().id(), tenant, m.value(), m.secret().createdAt(), PreviousSecret.of(m.previous()));
        }

        @Override
        public String toString() {
            return "CreatedSecret[" + id + ", secret=***]";
        }
    }

    /** The rotation's one parameter (read as text, so that a non-number is this API's own 422, like every other value). */
    static final String GRACE = "Seconds the rotated-out secret still signs: 0 (it stops at once) to 604800 (7 days); default "
            + "ATELIER_WEBHOOKS_SECRET_GRACE (24 h)";

    private final WebhookSecrets secrets;
    private final Callers callers;

    public WebhookSecretResource(WebhookSecrets secrets, Callers callers) {
        this.secrets = secrets;
        this.callers = callers;
    }

    @GET
    @Scopes.Requires(Scopes.JOBS_READ)
    @Operation(operationId = "getWebhookSecret", summary = "The tenant's webhook secret (its id and dates, never its value) and the rotated-out ones still signing")
    public Uni<SecretView> get() {
        String tenant = callers.tenant();
        return view(secrets, tenant);
    }

    @POST
    @Scopes.Requires(Scopes.JOBS_WRITE)
    @Operation(operationId = "createWebhookSecret", summary = "Make the tenant's webhook signing secret; its value is in this answer only")
    @APIResponse(responseCode = "201", description = "The secret, shown this once",
            content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = CreatedSecret.class)))
    public Uni<RestResponse<CreatedSecret>> create() {
        String tenant = callers.tenant();
        return secrets.create(tenant).map(m -> created(tenant, m));
    }

    @POST
    @Path("/rotate")
    @Scopes.Requires(Scopes.JOBS_WRITE)
    @Operation(operationId = "rotateWebhookSecret", summary = "Replace the tenant's webhook secret; the old one still signs for grace_seconds (deliveries carry both signatures)")
    @APIResponse(responseCode = "201", description = "The new secret, shown this once",
            content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = CreatedSecret.class)))
    public Uni<RestResponse<CreatedSecret>> rotate(@Parameter(description = GRACE, schema = @Schema(type = SchemaType.INTEGER,
            minimum = "0", maximum = "604800")) @QueryParam("grace_seconds") String graceSeconds) {
        String tenant = callers.tenant();
        return secrets.rotate(tenant, WebhookSecrets.grace(graceSeconds)).map(m -> created(tenant, m));
    }

    static Uni<SecretView> view(WebhookSecrets secrets, String tenant) {
        return secrets.state(tenant).map(s -> {
            if (s.current() == null) {
                throw Problem.notFound("Tenant " + tenant + " has no webhook secret; make one with POST …/webhook-secret");
            }
            return SecretView.of(tenant, s);
        });
    }

    static RestResponse<CreatedSecret> created(String tenant, WebhookSecrets.Made m) {
        return RestResponse.ResponseBuilder.create(RestResponse.Status.CREATED, CreatedSecret.of(tenant, m))
                // shown once: no cache or proxy along the way may keep a copy
                .header("Cache-Control", "no-store").build();
    }
}
