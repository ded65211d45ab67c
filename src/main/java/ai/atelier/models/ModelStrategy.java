package ai.atelier.models;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One fal model as Atelier offers it: the endpoint(s) it calls, what it locks, what a client may tune
 * and how a request becomes fal's payload. Adding a model is adding one bean implementing this.
 */
public interface ModelStrategy {

    /** The public model name clients send, e.g. {@code flux-schnell}. */
    String id();

    String description();

    /** The fal endpoint ids, in the order they are called. */
    List<String> endpoints();

    int minImages();

    int maxImages();

    /** Whether the model takes a prompt at all, and whether it must have one. */
    boolean acceptsPrompt();

    boolean promptRequired();

    /** Fields fal always receives with these values; a request cannot change them. */
    Map<String, Object> locked();

    /** Fields a request may set, with their ranges. */
    List<ParamSpec> tunable();

    /**
     * The fal calls for a request, in order. The first call gets the job's input image URLs; each later
     * call gets the output image URLs of the one before (generate, then turn).
     *
     * @param tuned the request's parameters, already checked by {@link ModelCatalog#check}
     */
    List<FalCall> plan(String prompt, Map<String, Object> tuned);

    /** The plan for a request with this many input images; most models do not care. */
    default List<FalCall> plan(String prompt, Map<String, Object> tuned, int images) {
        return plan(prompt, tuned);
    }

    /**
     * The parameters a request runs with, as the job echoes them: what it tuned, or (a model that sets fal's defaults
     * explicitly) everything fal will get besides the prompt and the photos. Planning with them gives the same calls.
     */
    default Map<String, Object> effectiveParams(Map<String, Object> tuned, int images) {
        return tuned;
    }

    /** What the model's last call returns: pictures to store, a video file to store, or text (an LLM completion). */
    enum Output { IMAGES, VIDEO, TEXT }

    default Output output() {
        return Output.IMAGES;
    }

    /**
     * How a call to this endpoint is counted for a quote. Pictures (and the LLM): in the unit fal prices the endpoint
     * in, with the input pictures where {@link #billsInputs} says fal bills them; a video model counts seconds.
     */
    default CostBasis costBasis(String endpointId) {
        return CostBasis.pricingUnit(billsInputs(endpointId));
    }

    /**
     * The longest one fal request of this model may take, queue included, before the job fails and the request is
     * cancelled at fal. Empty: the service-wide {@code atelier.fal.request-deadline}. Video takes tens of minutes.
     */
    default Optional<Duration> requestDeadline() {
        return Optional.empty();
    }

    /**
     * How long a request usually takes at fal, queue included: what progress measures elapsed time against (fal gives
     * no percentage). Empty when nobody has measured it.
     */
    default Optional<Duration> typicalLatency() {
        return Optional.empty();
    }

    /** The longest prompt the model's endpoints take, in characters (fal's schema); a longer one is refused at submit. */
    default int maxPromptLength() {
        return Integer.MAX_VALUE;
    }

    /** Whether fal bills this endpoint's input pictures too (FLUX image-to-image counts input plus output megapixels). */
    default boolean billsInputs(String endpointId) {
        return false;
    }

    /** The pictures in a result of the model's last call (or of a step before it), where this model's endpoint puts them. */
    List<ai.atelier.fal.FalImage> outputs(io.vertx.core.json.JsonObject result);

    /**
     * Whether a second photo, sent as {@code reference_image_url}, may stand in for the prompt (a
     * reference background). Such a model takes one photo plus that reference, and a prompt or the
     * reference, never both.
     */
    default boolean takesReferenceImage() {
        return false;
    }
}
