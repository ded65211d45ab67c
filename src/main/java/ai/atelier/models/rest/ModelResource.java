package ai.atelier.models.rest;

import java.util.List;
import java.util.Map;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

import ai.atelier.models.ModelCatalog;
import ai.atelier.models.ModelStrategy;
import ai.atelier.models.ParamSpec;

/** {@code GET /v1/models}: every model with what it locks and what a request may tune. */
@Path("/v1/models")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Models")
@ai.atelier.auth.Scopes.Requires(ai.atelier.auth.Scopes.JOBS_READ)
public class ModelResource {

    /**
     * A model as clients see it: what it outputs and, where known, how long a call usually takes at fal and the most it
     * may take before the job fails (a video model's own; absent: the service-wide fal deadline).
     */
    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
    public record ModelView(String id, String description, List<String> falEndpoints, int minImages, int maxImages,
            boolean acceptsPrompt, boolean promptRequired, Map<String, Object> locked, List<ParamSpec> tunable,
            @org.eclipse.microprofile.openapi.annotations.media.Schema(enumeration = { "images", "video", "text" }) String output,
            Long typicalLatencySeconds, Long deadlineSeconds) {
    }

    /** The list wrapper, so the response can grow fields later. */
    public record ModelList(List<ModelView> models) {
    }

    private final ModelCatalog catalog;

    public ModelResource(ModelCatalog catalog) {
        this.catalog = catalog;
    }

    @GET
    @Operation(operationId = "listModels", summary = "Models, with locked and tunable parameters")
    public ModelList list() {
        return new ModelList(catalog.all().stream().map(ModelResource::view).toList());
    }

    static ModelView view(ModelStrategy m) {
        return new ModelView(m.id(), m.description(), m.endpoints(), m.minImages(), m.maxImages(), m.acceptsPrompt(), m.promptRequired(),
                m.locked(), m.tunable(), m.output().name().toLowerCase(java.util.Locale.ROOT),
                m.typicalLatency().map(java.time.Duration::toSeconds).orElse(null), m.requestDeadline().map(java.time.Duration::toSeconds).orElse(null));
    }
}
