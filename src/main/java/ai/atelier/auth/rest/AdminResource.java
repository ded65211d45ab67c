package ai.atelier.auth.rest;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PATCH;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.resteasy.reactive.RestResponse;

import ai.atelier.auth.ApiKeys;
import ai.atelier.auth.Scopes;
import ai.atelier.auth.Tenant;
import ai.atelier.auth.Tenants;
import ai.atelier.problem.Problem;
import ai.atelier.usage.Ledger;
import ai.atelier.usage.rest.UsageResource;
import io.smallrye.mutiny.Uni;

/** The operator's API (the admin key): tenants, their keys and limits, and everyone's usage. */
@Path("/v1/admin")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Admin")
@Scopes.Requires(Scopes.ADMIN)
public class AdminResource {

    /** A tenant as the admin API shows it. */
    public record TenantView(@Schema(required = true) String id, @Schema(required = true) String name, Integer requestsPerMinute,
            Integer maxJobsInFlight, BigDecimal budgetUsdPerDay, BigDecimal budgetUsdPerMonth, @Schema(required = true) Instant createdAt,
            @Schema(required = true) Instant updatedAt,
            @Schema(description = "How many of its batch items may run at once; absent: atelier.batches.max-running") Integer batchMaxRunning,
            @Schema(description = "The result cache on or off for this tenant; absent: the service's default (atelier.cache.enabled)") Boolean cacheEnabled,
            @Schema(description = "How old a cached result may be and still be served when a request does not say (e.g. 7d); absent: atelier.cache.max-age",
                    examples = "7d") String cacheMaxAge) {
        static TenantView of(Tenant t) {
            return new TenantView(t.id, t.name, t.requestsPerMinute, t.maxJobsInFlight, t.budgetUsdPerDay, t.budgetUsdPerMonth, t.createdAt,
                    t.updatedAt, t.batchMaxRunning, t.cacheEnabled, t.cacheMaxAgeSeconds == null ? null : ai.atelier.cache.CacheAge.format(t.cacheMaxAgeSeconds));
        }
    }

    public record NewTenant(@Schema(description = "A unique name, e.g. shop-a", required = true) String name) {
    }

    public record NewKey(@Schema(description = "What the key is for, e.g. ci", required = true) String name,
            @Schema(description = "jobs:write, jobs:read, admin") List<String> scopes,
            @Schema(description = "When the key stops working (optional)") Instant expiresAt) {
    }

    /** A key as listed: never the key itself. */
    public record KeyView(UUID id, String tenantId, String name, String prefix, List<String> scopes, Instant createdAt, Instant expiresAt,
            Instant revokedAt, Instant lastUsedAt) {
        static KeyView of(ApiKeys.KeyRow r) {
            return new KeyView(r.id(), r.tenantId(), r.name(), r.prefix(), r.scopes(), r.createdAt(), r.expiresAt(), r.revokedAt(), r.lastUsedAt());
        }
    }

    /** A key just made: {@code key} appears here and nowhere else, ever. */
    public record CreatedKey(@Schema(required = true) UUID id, @Schema(required = true) String key, @Schema(required = true) String prefix,
            @Schema(required = true) String name, @Schema(required = true) List<String> scopes, @Schema(required = true) Instant createdAt,
            Instant expiresAt) {
    }

    /** RFC 3339 has four-digit years; PostgreSQL and every client read dates before this one. */
    private static final Instant LATEST_EXPIRY = Instant.parse("9999-12-31T23:59:59Z");

    private final Tenants tenants;
    private final ApiKeys keys;
    private final Ledger ledger;

    public AdminResource(Tenants tenants, ApiKeys keys, Ledger ledger) {
        this.tenants = tenants;
        this.keys = keys;
        this.ledger = ledger;
    }

    @POST
    @Path("/tenants")
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(operationId = "createTenant", summary = "Create a tenant")
    @org.eclipse.microprofile.openapi.annotations.responses.APIResponse(responseCode = "201", description = "The tenant",
            content = @org.eclipse.microprofile.openapi.annotations.media.Content(mediaType = "application/json", schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = TenantView.class)),
            headers = @org.eclipse.microprofile.openapi.annotations.headers.Header(name = "Location", schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(type = org.eclipse.microprofile.openapi.annotations.enums.SchemaType.STRING)))
    public Uni<RestResponse<TenantView>> createTenant(NewTenant body) {
        if (body == null) {
            throw Problem.badRequest("missing-body", "Missing body", "Send {\"name\": \"...\"}");
        }
        String name = ai.atelier.auth.Tenants.checkName(body.name());
        return tenants.create(name).map(t -> RestResponse.ResponseBuilder.create(RestResponse.Status.CREATED, TenantView.of(t))
                .header("Location", "/v1/admin/tenants/" + t.id).build());
    }

    @GET
    @Path("/tenants")
    @Operation(operationId = "listTenants", summary = "Every tenant")
    public Uni<List<TenantView>> tenants() {
        return tenants.all().map(list -> list.stream().map(TenantView::of).toList());
    }

    @GET
    @Path("/tenants/{id}")
    @Operation(operationId = "getTenant", summary = "A tenant and its limits")
    public Uni<TenantView> tenant(@PathParam("id") String id) {
        return tenants.find(id).map(TenantView::of);
    }

    @PATCH
    @Path("/tenants/{id}")
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(operationId = "updateTenant", summary = "Change a tenant's limits: requests_per_minute, max_jobs_in_flight, batch_max_running, budget_usd_per_day, budget_usd_per_month (null removes one); "
            + "its result cache: cache_enabled, cache_max_age (null: the service's default)")
    public Uni<TenantView> change(@PathParam("id") String id, Map<String, Object> fields) {
        if (fields == null || fields.isEmpty()) {
            throw Problem.invalid("nothing-to-change", "Nothing to change", "Send the limits to change, e.g. {\"requests_per_minute\": 600}");
        }
        return tenants.change(id, fields).map(TenantView::of);
    }

    @POST
    @Path("/tenants/{id}/keys")
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(operationId = "createKey", summary = "Make an API key for a tenant; the key is in this answer only")
    @org.eclipse.microprofile.openapi.annotations.responses.APIResponse(responseCode = "201", description = "The key, shown this once",
            content = @org.eclipse.microprofile.openapi.annotations.media.Content(mediaType = "application/json", schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = CreatedKey.class)),
            headers = @org.eclipse.microprofile.openapi.annotations.headers.Header(name = "Location", schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(type = org.eclipse.microprofile.openapi.annotations.enums.SchemaType.STRING)))
    public Uni<RestResponse<CreatedKey>> createKey(@PathParam("id") String tenantId, NewKey body) {
        if (body == null) {
            throw Problem.badRequest("missing-body", "Missing body", "Send {\"name\": \"...\", \"scopes\": [\"jobs:write\", \"jobs:read\"]}");
        }
        String name = ai.atelier.auth.Tenants.checkName(body.name());
        // absent: the usual pair; given, exactly what it names (an empty list would be a key that can do nothing)
        Set<String> scopes = new LinkedHashSet<>(body.scopes() == null ? List.of(Scopes.JOBS_WRITE, Scopes.JOBS_READ) : List.of());
        if (body.scopes() != null) {
            if (body.scopes().isEmpty()) {
                throw Problem.invalid("invalid-scope", "Invalid scope", "scopes must name at least one of " + Scopes.ALL
                        + " (leave it out for jobs:write and jobs:read)").with("field", "scopes");
            }
            for (String s : body.scopes()) {
                if (s == null || !Scopes.ALL.contains(s)) {
                    throw Problem.invalid("invalid-scope", "Invalid scope", (s == null ? "A scope is null" : "Unknown scope '" + s + "'")
                            + "; scopes: " + Scopes.ALL).with("field", "scopes");
                }
                scopes.add(s);
            }
        }
        if (body.expiresAt() != null && (!body.expiresAt().isAfter(Instant.now()) || body.expiresAt().isAfter(LATEST_EXPIRY))) {
            throw Problem.invalid("invalid-expiry", "Invalid expiry", "expires_at must be in the future and before the year 10000")
                    .with("field", "expires_at");
        }
        return tenants.find(tenantId).chain(t -> keys.create(t.id, name, scopes, body.expiresAt()))
                .map(k -> RestResponse.ResponseBuilder.create(RestResponse.Status.CREATED, new CreatedKey(k.row().id(), k.key(), k.row().prefix(),
                        k.row().name(), k.row().scopes(), k.row().createdAt(), k.row().expiresAt())).build());
    }

    @GET
    @Path("/tenants/{id}/keys")
    @Operation(operationId = "listKeys", summary = "A tenant's keys (never the keys themselves)")
    public Uni<List<KeyView>> keys(@PathParam("id") String tenantId) {
        return tenants.find(tenantId).chain(t -> keys.ofTenant(t.id)).map(list -> list.stream().map(KeyView::of).toList());
    }

    @DELETE
    @Path("/keys/{id}")
    @Operation(operationId = "revokeKey", summary = "Revoke a key: every instance refuses it within seconds")
    @org.eclipse.microprofile.openapi.annotations.responses.APIResponse(responseCode = "204", description = "Revoked")
    public Uni<RestResponse<Void>> revoke(@PathParam("id") UUID id) {
        return keys.revoke(id).map(found -> {
            if (!found) {
                throw Problem.notFound("There is no key " + id);
            }
            return RestResponse.<Void>noContent();
        });
    }

    @POST
    @Path("/keys/{id}/rotate")
    @Operation(operationId = "rotateKey", summary = "Rotate a live key: a new key with the same name, scopes and expiry, the old one revoked; "
            + "a revoked or expired key is a 409")
    @org.eclipse.microprofile.openapi.annotations.responses.APIResponse(responseCode = "201", description = "The new key, shown this once",
            content = @org.eclipse.microprofile.openapi.annotations.media.Content(mediaType = "application/json", schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = CreatedKey.class)),
            headers = @org.eclipse.microprofile.openapi.annotations.headers.Header(name = "Location", schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(type = org.eclipse.microprofile.openapi.annotations.enums.SchemaType.STRING)))
    public Uni<RestResponse<CreatedKey>> rotate(@PathParam("id") UUID id) {
        return keys.rotate(id).chain(k -> k != null ? Uni.createFrom().item(k) : keys.find(id).map(old -> {
            // not rotated: say why, and never make a working key out of a dead one
            if (old == null) {
                throw Problem.notFound("There is no key " + id);
            }
            if (old.revokedAt() != null) {
                throw new Problem(409, "key-revoked", "Key revoked", "Key " + id + " was revoked at " + old.revokedAt()
                        + " (revocation is final, and a rotated key is revoked); make a new key instead").with("revoked_at", old.revokedAt().toString());
            }
            throw new Problem(409, "key-expired", "Key expired", "Key " + id + " expired at " + old.expiresAt() + "; make a new key instead")
                    .with("expires_at", String.valueOf(old.expiresAt()));
        })).map(k -> RestResponse.ResponseBuilder.create(RestResponse.Status.CREATED, new CreatedKey(k.row().id(), k.key(), k.row().prefix(),
                k.row().name(), k.row().scopes(), k.row().createdAt(), k.row().expiresAt())).build());
    }

    @GET
    @Path("/usage")
    @Operation(operationId = "getAllTenantsUsage", summary = "Every tenant's usage from fal's figures, grouped by tenant, model or day")
    public Uni<List<Ledger.Usage>> usage(@Parameter(description = UsageResource.FROM) @QueryParam("from") String from,
            @Parameter(description = UsageResource.TO) @QueryParam("to") String to,
            @Parameter(description = "How the usage is grouped", schema = @Schema(type = SchemaType.STRING,
                    enumeration = { "tenant", "model", "day", "key", "endpoint" }, defaultValue = "tenant")) @QueryParam("group_by") String groupBy) {
        UsageResource.Period p = UsageResource.period(from, to);
        return ledger.usage(null, p.from(), p.to(), groupBy == null ? "tenant" : groupBy);
    }
}
