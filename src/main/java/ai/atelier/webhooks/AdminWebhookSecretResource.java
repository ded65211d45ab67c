package ai.atelier.webhooks;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
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

import ai.atelier.auth.Scopes;
import ai.atelier.auth.Tenants;
import ai.atelier.webhooks.WebhookSecretResource.CreatedSecret;
import ai.atelier.webhooks.WebhookSecretResource.SecretView;
import io.smallrye.mutiny.Uni;

/** The operator's side of the webhook secrets (the admin key): make, rotate and look at any tenant's. */
@Path("/v1/admin/tenants/{id}/webhook-secret")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Admin")
@Scopes.Requires(Scopes.ADMIN)
public class AdminWebhookSecretResource {

    private final WebhookSecrets secrets;
    private final Tenants tenants;

    public AdminWebhookSecretResource(WebhookSecrets secrets, Tenants tenants) {
        this.secrets = secrets;
        this.tenants = tenants;
    }

    @GET
    @Operation(operationId = "getTenantWebhookSecret", summary = "A tenant's webhook secret (its id and dates, never its value) and the rotated-out ones still signing")
    public Uni<SecretView> get(@PathParam("id") String tenant) {
        return tenants.find(tenant).chain(t -> WebhookSecretResource.view(secrets, t.id));
    }

    @POST
    @Operation(operationId = "createTenantWebhookSecret", summary = "Make a tenant's webhook signing secret; its value is in this answer only")
    @APIResponse(responseCode = "201", description = "The secret, shown this once",
            content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = CreatedSecret.class)))
    public Uni<RestResponse<CreatedSecret>> create(@PathParam("id") String tenant) {
        return tenants.find(tenant).chain(t -> secrets.create(t.id).map(m -> WebhookSecretResource.created(t.id, m)));
    }

    @POST
    @Path("/rotate")
    @Operation(operationId = "rotateTenantWebhookSecret", summary = "Replace a tenant's webhook secret; the old one still signs for grace_seconds (deliveries carry both signatures)")
    @APIResponse(responseCode = "201", description = "The new secret, shown this once",
            content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = CreatedSecret.class)))
    public Uni<RestResponse<CreatedSecret>> rotate(@PathParam("id") String tenant, @Parameter(description = WebhookSecretResource.GRACE,
            schema = @Schema(type = SchemaType.INTEGER, minimum = "0", maximum = "604800")) @QueryParam("grace_seconds") String graceSeconds) {
        var grace = WebhookSecrets.grace(graceSeconds);
        return tenants.find(tenant).chain(t -> secrets.rotate(t.id, grace).map(m -> WebhookSecretResource.created(t.id, m)));
    }
}
