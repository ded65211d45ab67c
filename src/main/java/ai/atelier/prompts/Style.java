package ai.atelier.prompts;

import java.util.List;

import io.quarkus.runtime.annotations.RegisterForReflection;

/** A look for a product photo: a short name and the description the prompt is written from. */
// also read by hand from a multipart field's JSON (JobResource.Uploads), besides the JSON bodies Quarkus registers it for
@RegisterForReflection
public record Style(String name, String description) {

    /** Seed 002's three defaults. */
    public static final List<Style> DEFAULTS = List.of(
            new Style("Studio", "Clean white studio background for e-commerce, professional lighting, minimal shadows"),
            new Style("Lifestyle", "Lifestyle and contextual setting matching the product's use case and target audience"),
            new Style("Premium", "Premium artistic backdrop with dramatic lighting and sophisticated atmosphere"));
}
