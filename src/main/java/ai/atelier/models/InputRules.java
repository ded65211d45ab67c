package ai.atelier.models;

import java.util.List;

import ai.atelier.problem.Problem;

/**
 * Whether a request gives a model what it takes: a prompt when it needs one (or a style, an LLM prompt,
 * a reference photo standing in for it), and as many photos as it takes. The rules are the strategy's
 * own declarations ({@link ModelStrategy#promptRequired}, {@link ModelStrategy#takesReferenceImage},
 * image counts); nothing here is about one model.
 */
public final class InputRules {

    private InputRules() {
    }

    /**
     * @param promptWritten whether a stage writes the prompt (a style, a shoot, an LLM prompt)
     * @param roles         the photos' roles in request order (input, face, product, background, reference)
     * @param hasInitImage  whether seed 004's roles name an init image (extra photos are then kept, not sent)
     */
    public static void check(ModelStrategy model, String prompt, boolean promptWritten, List<String> roles, boolean hasInitImage) {
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
    public static void checkShootModel(ModelStrategy model) {
        if (model.output() != ModelStrategy.Output.IMAGES || !model.acceptsPrompt() || model.endpoints().size() != 1) {
            throw Problem.invalid("model-not-for-shoots", "Model not usable for a product shoot",
                    "A product shoot needs a model that edits one photo from a prompt, e.g. bria-background-replace or flux-general-i2i")
                    .with("field", "model");
        }
    }
}
