package ai.atelier.prompts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import org.junit.jupiter.api.Test;

/** What vision models really answer, and what the parser makes of it. */
class CategoriesTest {

    static final String TIDY = """
            {"main_product_type": "Footwear", "subcategory": "Sneakers", "target_audience": "Men", "price_range": "Mid-range", \
            "use_case": "Casual Lifestyle", "style_design": "Streetwear", "season_occasion": "All Season", \
            "industrial_type": "Footwear Manufacturing", "vibe": "Urban/Street"}""";

    @Test
    void readsJsonInsideProseAndCodeFences() {
        Categories.Parsed prose = Categories.parse("Step 1: I see a white sneaker {with laces}.\n\nHere you go:\n" + TIDY + "\nHope it helps!");
        assertThat(prose.values()).containsEntry("main_product_type", "Footwear").containsEntry("vibe", "Urban/Street");
        assertThat(prose.missing()).isEmpty();
        Categories.Parsed fenced = Categories.parse("```json\n" + TIDY + "\n```");
        assertThat(fenced.values()).isEqualTo(prose.values());
        assertThat(fenced.values().keySet()).containsExactlyElementsOf(Categories.KEYS);
    }

    @Test
    void acceptsOtherSpellingsDropsExtraKeysAndFillsMissingOnes() {
        Categories.Parsed p = Categories.parse("""
                {"Main Product Type": "Electronics", "Sub-category": "Headphones", "Target Audience": "Unisex", "Price Range": "premium",
                 "Use Case": "Daily Use", "Style/Design": "Minimalist", "confidence": 0.9, "notes": "new"}""");
        assertThat(p.values()).containsEntry("main_product_type", "Electronics").containsEntry("subcategory", "Headphones")
                .containsEntry("price_range", "Premium").containsEntry("style_design", "Minimalist")
                .containsEntry("season_occasion", "Unknown").containsEntry("industrial_type", "Unknown").containsEntry("vibe", "Unknown")
                .doesNotContainKeys("confidence", "notes");
        assertThat(p.missing()).containsExactly("season_occasion", "industrial_type", "vibe");
    }

    @Test
    void readsCategoriesWrappedOneLevelDownAndIgnoresEmptyValues() {
        assertThat(Categories.parse("{\"categories\": " + TIDY + "}").values()).isEqualTo(Categories.parse(TIDY).values());
        Categories.Parsed p = Categories.parse(TIDY.replace("\"vibe\": \"Urban/Street\"", "\"vibe\": [\" \"]"));
        assertThat(p.values()).containsEntry("vibe", "Unknown");
        assertThat(p.missing()).containsExactly("vibe");
    }

    @Test
    void aPriceOutsideTheClosedSetBecomesUnknown() {
        assertThat(Categories.parse(TIDY.replace("Mid-range", "Affordable")).values()).containsEntry("price_range", "Unknown");
    }

    @Test
    void failsWithAReasonWhenNothingUsableCameBack() {
        assertThatThrownBy(() -> Categories.parse("")).isInstanceOf(Categories.Unusable.class).hasMessageContaining("empty");
        assertThatThrownBy(() -> Categories.parse("I cannot tell what this is.")).hasMessageContaining("no JSON object");
        assertThatThrownBy(() -> Categories.parse("{\"vibe\": \"Fun\", \"price_range\": \"Budget\"}"))
                .hasMessageContaining("2 of the 9").hasMessageContaining("not the main product type");
        assertThatThrownBy(() -> Categories.parse("{\"main_product_type\": \"Food\"}")).hasMessageContaining("1 of the 9");
    }

    @Test
    void templatePromptsAreDeterministicAndUseStyleCategoriesAndClientWords() {
        Map<String, String> c = Categories.parse(TIDY).values();
        Style studio = Style.DEFAULTS.get(0);
        String p = Prompts.template(studio, c, "soft shadow on the left");
        assertThat(p).isEqualTo(Prompts.template(studio, c, "soft shadow on the left"))
                .startsWith("Change only the background to clean white studio background for e-commerce")
                .contains("Keep the sneakers exactly as it is").contains("The product: streetwear sneakers for men; mood: urban/street.")
                .endsWith("soft shadow on the left");
        assertThat(Prompts.template(null, null, "a red bicycle")).isEqualTo("a red bicycle");
    }

    @Test
    void tidiesWhatPromptModelsWrapAroundTheirAnswer() {
        assertThat(Prompts.tidy("```\nChange only the background to a beach.\n```")).isEqualTo("Change only the background to a beach.");
        assertThat(Prompts.tidy("Prompt: \"Change only the background to a beach.\"")).isEqualTo("Change only the background to a beach.");
    }
}
