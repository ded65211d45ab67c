package ai.atelier.jobs.submit;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import jakarta.inject.Singleton;

import ai.atelier.config.AtelierConfig;
import ai.atelier.ingest.Ingest;
import ai.atelier.jobs.Priority;
import ai.atelier.jobs.StyleStatus;
import ai.atelier.models.ModelCatalog;
import ai.atelier.models.ModelStrategy;
import ai.atelier.problem.Problem;
import ai.atelier.prompts.Style;

/**
 * Every rule a request must meet, checked before anything is fetched, stored or paid: a bad one is a 4xx,
 * never a failed job. The model's own declarations (prompt required, images taken, a reference photo, the
 * parameters it locks and tunes) are asked of its strategy; nothing here is about one model.
 */
@Singleton
public class SubmitRules {

    /** A request as checked: everything the job will be made of but its files. */
    public record Checked(ModelStrategy model, String prompt, Map<String, Object> tuned, short priority, Map<String, Object> options,
            Map<String, Object> shoot, Map<String, Object> init) {
    }

    private final ModelCatalog models;
    private final String shootModel;
    private final int maxStyles;

    public SubmitRules(ModelCatalog models, AtelierConfig config) {
        this.models = models;
        this.shootModel = config.shoots().model();
        this.maxStyles = config.shoots().maxStyles();
    }

    public Checked check(Submission s) {
        boolean shoot = s.styles() != null;
        ModelStrategy model = models.require(shoot && (s.model() == null || s.model().isBlank()) ? shootModel : s.model());
        String prompt = s.prompt() == null ? null : s.prompt().strip();
        Submission.StageOptions stages = s.stages() == null ? Submission.StageOptions.NONE : s.stages();
        Map<String, Object> options = options(model, stages, shoot, s.images());
        boolean promptWritten = stages.style() != null || shoot || "llm".equals(options.get("prompt_mode"));
        if (shoot) {
            checkShootModel(model);
        }
        if (prompt != null && prompt.length() > 10_000) {
            throw Problem.invalid("prompt-too-long", "Prompt too long", "A prompt may have at most 10000 characters").with("field", "prompt");
        }
        Map<String, Object> init = initImage(s.images());
        checkInputs(model, prompt, promptWritten, s.images().stream().map(Ingest.Source::role).toList(), init != null);
        if (s.deadlineSeconds() != null && (s.deadlineSeconds() < 1 || s.deadlineSeconds() > 86_400)) {
            throw Problem.invalid("invalid-deadline", "Invalid deadline", "deadline_seconds must be from 1 to 86400").with("field", "deadline_seconds");
        }
        Map<String, Object> tuned = ModelCatalog.check(model, s.params());
        return new Checked(model, prompt, tuned, Priority.of(s.priority()), options, shoot ? shootState(s.styles()) : null, init);
    }

    /** An Idempotency-Key as kept: null when none was sent. */
    public static String idempotencyKey(Submission s) {
        String key = s.idempotencyKey() == null || s.idempotencyKey().isBlank() ? null : s.idempotencyKey().strip();
        if (key != null && key.length() > 255) {
            throw Problem.badRequest("invalid-idempotency-key", "Invalid Idempotency-Key", "An Idempotency-Key has at most 255 characters");
        }
        return key;
    }

    /**
     * Whether a request gives a model what it takes: a prompt when it needs one (or a style, an LLM prompt, a
     * reference photo standing in for it), and as many photos as it takes.
     *
     * @param promptWritten whether a stage writes the prompt (a style, a shoot, an LLM prompt)
     * @param roles         the photos' roles in request order (input, face, product, background, reference)
     * @param hasInitImage  whether seed 004's roles name an init image (extra photos are then kept, not sent)
     */
    static void checkInputs(ModelStrategy model, String prompt, boolean promptWritten, List<String> roles, boolean hasInitImage) {
        boolean hasReference = roles.contains("reference");
        boolean promptGiven = prompt != null && !prompt.isEmpty();
        if (!promptGiven && !promptWritten && model.promptRequired()) {
            throw Problem.invalid("missing-prompt", "Missing prompt", "Model " + model.id() + " needs a non-empty prompt").with("field", "prompt");
        }
        if (model.takesReferenceImage()) {
            if (!promptGiven && !promptWritten && !hasReference) {
                throw Problem.invalid("missing-prompt", "Missing prompt", "Model " + model.id() + " needs a prompt, a style or a reference background image")
                        .with("field", "prompt");
            }
            if (roles.size() > 1 && (roles.size() > 2 || !"reference".equals(roles.get(roles.size() - 1)))) {
                // the second picture is only ever the reference background, never a guess from its position
                throw Problem.invalid("wrong-image-count", "Wrong number of images", "Model " + model.id()
                        + " takes one photo, plus an optional reference background as reference_image_url");
            }
        } else if (hasReference) {
            throw Problem.invalid("reference-not-accepted", "Reference image not accepted", "Model " + model.id()
                    + " takes no reference background image").with("field", "reference_image_url");
        }
        if (hasReference && promptGiven) {
            throw Problem.invalid("prompt-and-reference", "Prompt and reference image", "Give a prompt or a reference background image, not both");
        }
        // fal's schemas count characters as Python does: code points, not UTF-16 units
        if (promptGiven && prompt.codePointCount(0, prompt.length()) > model.maxPromptLength()) {
            throw Problem.invalid("prompt-too-long", "Prompt too long", "Model " + model.id() + " takes a prompt of at most "
                    + model.maxPromptLength() + " characters; this one has " + prompt.codePointCount(0, prompt.length())).with("field", "prompt");
        }
        if (!model.acceptsPrompt() && promptGiven) {
            throw Problem.invalid("prompt-not-accepted", "Prompt not accepted", "Model " + model.id() + " takes no prompt").with("field", "prompt");
        }
        int images = roles.size();
        if (hasInitImage && (count(roles, "face") > 1 || count(roles, "product") > 3 || count(roles, "background") > 1)) {
            // what seed 004's shoots carry, and no more: kept photos are stored and cost storage even when the model takes one
            throw Problem.invalid("wrong-image-count", "Wrong number of images", "A request may carry at most one face photo, three product photos "
                    + "and one background photo; this one has " + count(roles, "face") + ", " + count(roles, "product") + " and "
                    + count(roles, "background"));
        }
        // photos with seed 004's roles may outnumber what the model takes: the init image and the next ones go, all are kept
        if (images < model.minImages() || (images > model.maxImages() && !hasInitImage)) {
            throw Problem.invalid("wrong-image-count", "Wrong number of images", "Model " + model.id() + " takes "
                    + (model.minImages() == model.maxImages() ? String.valueOf(model.minImages()) : model.minImages() + " to " + model.maxImages())
                    + " image(s); the request has " + images);
        }
    }

    private static long count(List<String> roles, String role) {
        return roles.stream().filter(role::equals).count();
    }

    /** Whether a model can run a product shoot's styles: it edits one photo from a prompt, in one call. */
    static void checkShootModel(ModelStrategy model) {
        if (model.output() != ModelStrategy.Output.IMAGES || !model.acceptsPrompt() || model.endpoints().size() != 1) {
            throw Problem.invalid("model-not-for-shoots", "Model not usable for a product shoot",
                    "A product shoot needs a model that edits one photo from a prompt, e.g. bria-background-replace or flux-general-i2i")
                    .with("field", "model");
        }
    }

    /** The stage options as the job row keeps them; checked here so a bad one is a 422 at submit, not a failed job. */
    private static Map<String, Object> options(ModelStrategy model, Submission.StageOptions o, boolean shoot, List<Ingest.Source> images) {
        Map<String, Object> options = new LinkedHashMap<>();
        boolean categorise = o.categorise() != null ? o.categorise() : shoot;
        if (categorise) {
            if (images.isEmpty() || model.output() != ModelStrategy.Output.IMAGES) {
                throw Problem.invalid("nothing-to-categorise", "Nothing to categorise", "categorise needs a product image and an image model");
            }
            options.put("categorise", true);
        }
        if (o.promptMode() != null && !o.promptMode().isBlank()) {
            if (!List.of("template", "llm").contains(o.promptMode())) {
                throw Problem.invalid("invalid-prompt-mode", "Invalid prompt mode", "prompt_mode must be template or llm");
            }
            if (!model.acceptsPrompt() || model.output() != ModelStrategy.Output.IMAGES) {
                throw Problem.invalid("prompt-not-accepted", "Prompt not accepted", "Model " + model.id() + " takes no written prompt");
            }
            options.put("prompt_mode", o.promptMode());
        }
        if (o.style() != null) {
            if (shoot) {
                throw Problem.invalid("style-and-styles", "style and styles", "A product shoot takes styles, not style");
            }
            if (!model.acceptsPrompt() || model.output() != ModelStrategy.Output.IMAGES) {
                throw Problem.invalid("prompt-not-accepted", "Prompt not accepted", "Model " + model.id() + " takes no style: it has no prompt");
            }
            options.put("style", checkStyle(o.style(), "style"));
        }
        putModel(options, "vision_model", o.visionModel());
        putModel(options, "prompt_model", o.promptModel());
        return options;
    }

    private static void putModel(Map<String, Object> options, String key, String model) {
        if (model == null || model.isBlank()) {
            return;
        }
        if (model.length() > 200 || !model.matches("[A-Za-z0-9._:/\\-]+")) {
            throw Problem.invalid("invalid-llm-model", "Invalid LLM model", key + " must be an OpenRouter model id such as openai/gpt-5-mini");
        }
        options.put(key, model.strip());
    }

    private static Map<String, Object> checkStyle(Style style, String field) {
        if (style == null) {
            throw Problem.invalid("invalid-style", "Invalid style", field + " must be an object {\"name\", \"description\"}");
        }
        String name = style.name() == null ? "" : style.name().strip();
        String description = style.description() == null ? "" : style.description().strip();
        if (name.isEmpty() || name.length() > 60) {
            throw Problem.invalid("invalid-style", "Invalid style", field + ".name must have 1 to 60 characters");
        }
        if (description.isEmpty() || description.length() > 1000) {
            throw Problem.invalid("invalid-style", "Invalid style", field + ".description must have 1 to 1000 characters");
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("description", description);
        return m;
    }

    private Map<String, Object> shootState(List<Style> requested) {
        List<Style> styles = requested.isEmpty() ? Style.DEFAULTS : requested;
        if (styles.size() > maxStyles) {
            throw Problem.invalid("too-many-styles", "Too many styles", "A product shoot takes at most " + maxStyles + " styles");
        }
        List<Map<String, Object>> list = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < styles.size(); i++) {
            Map<String, Object> style = checkStyle(styles.get(i), "styles[" + i + "]");
            if (!names.add(style.get("name").toString().toLowerCase(Locale.ROOT))) {
                throw Problem.invalid("duplicate-style", "Duplicate style", "Style names must differ; '" + style.get("name") + "' is given twice");
            }
            style.put("status", StyleStatus.PENDING.wire());
            list.add(style);
        }
        Map<String, Object> shoot = new LinkedHashMap<>();
        shoot.put("styles", list);
        return shoot;
    }

    /**
     * Seed 004's rule for a request with several photos: the init image is the face photo, else the first
     * product photo, else the background photo. The init image goes first (it is what a one-image model
     * gets); the choice and the reason are recorded on the job.
     */
    static Map<String, Object> initImage(List<Ingest.Source> images) {
        for (String role : List.of("face", "product", "background")) {
            for (int i = 0; i < images.size(); i++) {
                if (role.equals(images.get(i).role())) {
                    Map<String, Object> choice = new LinkedHashMap<>();
                    choice.put("role", role);
                    choice.put("index", i);
                    choice.put("reason", switch (role) {
                        case "face" -> "a face photo was given: it is the init image";
                        case "product" -> "no face photo: the first product photo is the init image";
                        default -> "no face or product photo: the background photo is the init image";
                    });
                    return choice;
                }
            }
        }
        return null;
    }

    /** The images with the init image first, the others after it in their order. */
    public static List<Ingest.Source> initFirst(List<Ingest.Source> images, Map<String, Object> init) {
        if (init == null || (int) init.get("index") == 0) {
            return images;
        }
        List<Ingest.Source> ordered = new ArrayList<>();
        ordered.add(images.get((int) init.get("index")));
        for (int i = 0; i < images.size(); i++) {
            if (i != (int) init.get("index")) {
                ordered.add(images.get(i));
            }
        }
        return ordered;
    }
}
