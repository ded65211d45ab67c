package ai.atelier.compat;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.smallrye.mutiny.Uni;

/** Seed 001's {@code GET /}: the server's status and whether Redis answers. Probes belong on /q/health. */
@Path("/")
@Tag(name = "Compatibility: seed 001")
public class RootResource {

    /** Seed 001's health answer. */
    public record Health(String status, String service, String redis) {
    }

    private final ReactiveRedisDataSource redis;

    public RootResource(ReactiveRedisDataSource redis) {
        this.redis = redis;
    }

    @GET
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(operationId = "legacyHealth", summary = "Seed 001: health with Redis status",
            description = "Open: no API key. Kept for seed 001's clients; probes belong on /q/health.")
    public Uni<Health> health() {
        return redis.execute("PING").map(r -> "connected").onFailure().recoverWithItem("disconnected")
                .map(r -> new Health("healthy", "atelier", r));
    }
}
