package ai.atelier.cache.rest;

import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

import ai.atelier.auth.Scopes;
import ai.atelier.auth.Tenants;
import ai.atelier.cache.ResultCache;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;

/** The operator's control of a tenant's result cache (the admin key): drop every stored result, so each next request calls fal. */
@Path("/v1/admin/tenants/{id}/cache")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Admin")
@Scopes.Requires(Scopes.ADMIN)
public class AdminCacheResource {

    /** What a drop removed. */
    public record Dropped(@Schema(required = true) String tenantId,
            @Schema(required = true, description = "Entries removed (stored results and calls in flight for one); their files are deleted") int entries) {
    }

    private final ResultCache cache;
    private final Tenants tenants;

    public AdminCacheResource(ResultCache cache, Tenants tenants) {
        this.cache = cache;
        this.tenants = tenants;
    }

    @DELETE
    @Operation(operationId = "dropTenantCache", summary = "Drop a tenant's result cache: every stored result and its files; a call in flight "
            + "for one is not stored when it ends")
    public Uni<Dropped> drop(@PathParam("id") String tenant) {
        return tenants.find(tenant).chain(t -> cache.drop(t.id)).invoke(n -> Log.infof("result cache of tenant %s dropped: %d entries", tenant, n))
                .map(n -> new Dropped(tenant, n));
    }
}
