package ai.atelier.models;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import ai.atelier.fal.FalImage;
import ai.atelier.problem.Problem;
import io.vertx.core.json.JsonObject;

/**
 * The shape fal's video models share (fal-video.md §1): a text-to-video endpoint and an image-to-video one, chosen
 * by whether the request brings a photo; a duration typed exactly as the endpoint takes it; parameters that exist in one mode only; the output in
 * {@code video}; a price per second of output. A model declares what it is ({@link Declaration}) and nothing else:
 * its payload is fal's defaults as the model sets them, then what the request tuned, then the locked fields last.
 *
 * <p>Defaults that fal sets expensively are set here explicitly, as the model's tunable defaults (audio off,
 * 720p or the nearest tier, no prompt rewriting), so a request that does not ask for them never pays for them.
 */
public abstract class VideoModel implements ModelStrategy {

    /** Where video jobs wait: fal's p99 for video is above ten minutes (fal-video.md §3, §7.1). */
    static final Duration DEFAULT_DEADLINE = Duration.ofMinutes(20);

    /** What a video model is: its endpoints, parameters, price per second and timing. */
    protected static final class Declaration {
        private final String id;
        private final String description;
        private String textEndpoint;
        private String imageEndpoint;
        private final Map<String, Object> locked = new LinkedHashMap<>();
        private final List<ParamSpec> tunable = new ArrayList<>();
        private final Set<String> textOnly = new LinkedHashSet<>();
        private final Set<String> imageOnly = new LinkedHashSet<>();
        private CostBasis.PerSecond price;
        private Duration typicalLatency;
        private Duration deadline = DEFAULT_DEADLINE;
        private int maxPrompt = Integer.MAX_VALUE;

        private Declaration(String id, String description) {
            this.id = id;
            this.description = description;
        }

        /** The text-to-video endpoint: used when the request has no photo. */
        public Declaration textToVideo(String endpointId) {
            this.textEndpoint = endpointId;
            return this;
        }

        /**
         * The image-to-video endpoint: used when the request has a photo, the clip's first frame. (Kling and Hailuo also
         * take a last frame; no request carries a photo for that role yet, so none is sent.)
         */
        public Declaration imageToVideo(String endpointId) {
            this.imageEndpoint = endpointId;
            return this;
        }

        /** Fields fal always receives with these values (alternating names and values), in both modes. */
        public Declaration locked(Object... namesAndValues) {
            for (int i = 0; i < namesAndValues.length; i += 2) {
                locked.put((String) namesAndValues[i], namesAndValues[i + 1]);
            }
            return this;
        }

        /** Parameters a request may set in both modes. */
        public Declaration tunable(ParamSpec... specs) {
            tunable.addAll(List.of(specs));
            return this;
        }

        /** A parameter only the text-to-video endpoint has (an image-to-video clip follows its photo). */
        public Declaration textOnly(ParamSpec spec) {
            tunable.add(spec);
            textOnly.add(spec.name());
            return this;
        }

        /** A parameter only the image-to-video endpoint has. */
        public Declaration imageOnly(ParamSpec spec) {
            tunable.add(spec);
            imageOnly.add(spec.name());
            return this;
        }

        /** What one second of output bills, in the endpoints' pricing unit. */
        public Declaration pricedPerSecond(CostBasis.PerSecond perSecond) {
            this.price = perSecond;
            return this;
        }

        /** How long a clip usually takes at fal, queue included (for progress). */
        public Declaration typicalLatency(Duration latency) {
            this.typicalLatency = latency;
            return this;
        }

        /** The longest a request may take at fal before the job fails (default 20 minutes). */
        public Declaration deadline(Duration deadline) {
            this.deadline = deadline;
            return this;
        }

        /** The longest prompt fal's schema takes, in characters. */
        public Declaration maxPrompt(int characters) {
            this.maxPrompt = characters;
            return this;
        }
    }

    /** Starts a model's declaration. */
    protected static Declaration video(String id, String description) {
        return new Declaration(id, description);
    }

    private final Declaration d;
    private final Map<String, Object> locked;
    private final List<ParamSpec> tunable;

    protected VideoModel(Declaration declaration) {
        if (declaration.price == null || (declaration.textEndpoint == null && declaration.imageEndpoint == null)) {
            throw new IllegalStateException(declaration.id + " needs an endpoint and a price per second");
        }
        this.d = declaration;
        this.locked = Collections.unmodifiableMap(new LinkedHashMap<>(declaration.locked));
        this.tunable = List.copyOf(declaration.tunable);
    }

    @Override
    public String id() {
        return d.id;
    }

    @Override
    public String description() {
        return d.description;
    }

    @Override
    public List<String> endpoints() {
        List<String> endpoints = new ArrayList<>();
        if (d.textEndpoint != null) {
            endpoints.add(d.textEndpoint);
        }
        if (d.imageEndpoint != null) {
            endpoints.add(d.imageEndpoint);
        }
        return List.copyOf(endpoints);
    }

    @Override
    public int minImages() {
        return d.textEndpoint != null ? 0 : 1;
    }

    @Override
    public int maxImages() {
        return d.imageEndpoint == null ? 0 : 1;
    }

    @Override
    public boolean acceptsPrompt() {
        return true;
    }

    @Override
    public boolean promptRequired() {
        return true;
    }

    @Override
    public Map<String, Object> locked() {
        return locked;
    }

    @Override
    public List<ParamSpec> tunable() {
        return tunable;
    }

    @Override
    public Output output() {
        return Output.VIDEO;
    }

    @Override
    public CostBasis costBasis(String endpointId) {
        return CostBasis.seconds(d.price);
    }

    @Override
    public Optional<Duration> requestDeadline() {
        return Optional.of(d.deadline);
    }

    @Override
    public Optional<Duration> typicalLatency() {
        return Optional.ofNullable(d.typicalLatency);
    }

    @Override
    public int maxPromptLength() {
        return d.maxPrompt;
    }

    /** The clip, in fal's {@code video} file object ({@code url}, {@code content_type}, {@code file_size}, …). */
    @Override
    public List<FalImage> outputs(JsonObject result) {
        return FalImage.single(result, "video");
    }

    /** The parameters only text-to-video takes (by name). */
    public Set<String> textOnly() {
        return Collections.unmodifiableSet(d.textOnly);
    }

    /** The parameters only image-to-video takes (by name). */
    public Set<String> imageOnly() {
        return Collections.unmodifiableSet(d.imageOnly);
    }

    @Override
    public List<FalCall> plan(String prompt, Map<String, Object> tuned) {
        return plan(prompt, tuned, 0);
    }

    /**
     * One call: text-to-video without a photo, image-to-video with one. A parameter of the other mode is refused
     * (a 422 naming it, at submit, where the quote plans the calls), never sent to an endpoint that would ignore it.
     */
    @Override
    public List<FalCall> plan(String prompt, Map<String, Object> tuned, int images) {
        boolean image = images > 0;
        String endpoint = image ? d.imageEndpoint : d.textEndpoint;
        if (endpoint == null) {
            throw Problem.invalid("wrong-image-count", "Wrong number of images", "Model " + d.id + (image ? " makes a video from a prompt only"
                    : " makes a video from a photo: send one"));
        }
        Set<String> otherMode = image ? d.textOnly : d.imageOnly;
        for (String name : tuned.keySet()) {
            if (otherMode.contains(name)) {
                throw Problem.invalid("invalid-parameter", "Invalid parameter", "Parameter '" + name + "' of model " + d.id + " applies to "
                        + (image ? "text-to-video only (without a photo); image-to-video follows the photo" : "image-to-video only (with a photo)"))
                        .with("parameter", name);
            }
        }
        return List.of(new FalCall(endpoint, urls -> payload(prompt, urls, tuned, image, otherMode)));
    }

    /** Every field fal gets besides the prompt and the photo: the defaults set here, what was tuned, the locked ones. */
    @Override
    public Map<String, Object> effectiveParams(Map<String, Object> tuned, int images) {
        boolean image = images > 0;
        JsonObject body = payload(null, image ? List.of("") : List.of(), tuned, image, image ? d.textOnly : d.imageOnly);
        body.remove("image_url");
        return body.getMap();
    }

    private JsonObject payload(String prompt, List<String> images, Map<String, Object> tuned, boolean image, Set<String> otherMode) {
        Map<String, Object> body = new LinkedHashMap<>();
        if (prompt != null) {
            body.put("prompt", prompt);
        }
        if (image) {
            body.put("image_url", images.get(0));
        }
        for (ParamSpec p : tunable) {
            if (p.defaultValue() != null && !otherMode.contains(p.name())) {
                body.put(p.name(), p.defaultValue());
            }
        }
        body.putAll(tuned);
        body.putAll(locked);
        return new JsonObject(body);
    }
}
