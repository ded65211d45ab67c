package ai.atelier.models.rest;

import java.util.List;
import java.util.Map;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

import ai.atelier.models.CostBasis;
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
     * may take before the job fails (a video model's own; absent: the service-wide fal deadline); how each of its
     * endpoints is priced; for a video model, the durations and resolutions a request may ask.
     */
    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
    public record ModelView(String id, String description, List<String> falEndpoints, int minImages, int maxImages,
            boolean acceptsPrompt, boolean promptRequired, Map<String, Object> locked, List<ParamSpec> tunable,
            @Schema(enumeration = { "images", "video", "text" }) String output,
            Long typicalLatencySeconds, Long deadlineSeconds,
            @Schema(description = "How a call to each endpoint is counted; its cost is those units times fal's unit price for the endpoint") List<PriceBasis> priceBasis,
            @Schema(description = "Video only: the durations a request may ask, each exactly as the endpoint takes it (the values of the duration parameter)") List<String> durations,
            @Schema(description = "Video only: the resolutions a request may ask (the values of the resolution parameter); absent where the model has one resolution") List<String> resolutions) {
    }

    /** What one endpoint's call is counted in, so a client can reckon a price before asking for a quote. */
    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
    public record PriceBasis(String endpoint,
            @Schema(enumeration = { "pricing_unit", "seconds" }, description = "pricing_unit: the unit fal's pricing API names for the endpoint "
                    + "(output megapixels rounded up per image, images, or the dollars of a token-priced call); seconds: seconds of output") String countedIn,
            @Schema(description = "pricing_unit only: whether the input pictures' megapixels are billed too") Boolean inputsBilled,
            @Schema(description = "seconds only: the units one second of output bills") PerSecond perSecond) {
    }

    /** What one second of a video endpoint's output bills, by resolution, silent and with audio. */
    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
    public record PerSecond(@Schema(description = "The parameter that sets the duration") String durationParam,
            @Schema(description = "The parameter that sets the resolution; absent where the model has none") String resolutionParam,
            @Schema(description = "The resolution billed when the request names none; * for any") String defaultResolution,
            @Schema(description = "The boolean parameter that turns audio on; absent where audio does not change the price") String audioParam,
            @Schema(description = "Units a second by resolution (* for any), without audio") Map<String, Double> silent,
            @Schema(description = "Units a second by resolution (* for any), with audio") Map<String, Double> withAudio) {
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
        List<PriceBasis> bases = m.endpoints().stream().map(e -> priceBasis(e, m.costBasis(e))).toList();
        // the choices are the values of the parameters the price reads, so what is listed is what is priced
        CostBasis.PerSecond rates = m.endpoints().stream().map(m::costBasis).map(CostBasis::perSecond).filter(java.util.Objects::nonNull)
                .findFirst().orElse(null);
        return new ModelView(m.id(), m.description(), m.endpoints(), m.minImages(), m.maxImages(), m.acceptsPrompt(), m.promptRequired(),
                m.locked(), m.tunable(), m.output().name().toLowerCase(java.util.Locale.ROOT),
                m.typicalLatency().map(java.time.Duration::toSeconds).orElse(null), m.requestDeadline().map(java.time.Duration::toSeconds).orElse(null),
                bases, rates == null ? null : choices(m, rates.durationParam()), rates == null ? null : choices(m, rates.resolutionParam()));
    }

    private static PriceBasis priceBasis(String endpoint, CostBasis basis) {
        if (basis.kind() == CostBasis.Kind.SECONDS) {
            CostBasis.PerSecond p = basis.perSecond();
            return new PriceBasis(endpoint, "seconds", null, new PerSecond(p.durationParam(), p.resolutionParam(), p.resolution(), p.audioParam(),
                    new java.util.TreeMap<>(p.silent()), new java.util.TreeMap<>(p.withAudio())));
        }
        return new PriceBasis(endpoint, "pricing_unit", basis.inputsBilled(), null);
    }

    /** The values a request may give the named parameter, or null where the model has no such parameter. */
    private static List<String> choices(ModelStrategy m, String param) {
        return param == null ? null
                : m.tunable().stream().filter(p -> p.name().equals(param) && !p.values().isEmpty()).map(ParamSpec::values).findFirst().orElse(null);
    }
}
