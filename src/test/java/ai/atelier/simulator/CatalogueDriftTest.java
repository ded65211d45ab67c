package ai.atelier.simulator;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import ai.atelier.models.FalCall;
import ai.atelier.models.LlmCompletion;
import ai.atelier.models.ModelCatalog;
import ai.atelier.models.ModelStrategy;
import ai.atelier.models.ParamSpec;
import ai.atelier.prompts.Categories;
import ai.atelier.prompts.Prompts;
import ai.atelier.prompts.Style;
import io.quarkus.test.junit.QuarkusTest;
import io.vertx.core.json.JsonObject;

/**
 * Atelier's model strategies and the simulator's copy of fal's schemas cannot drift apart: every
 * payload every strategy builds (with its defaults, and with every tunable set) passes the schema of
 * the endpoint it goes to, and every endpoint the simulator knows is one a strategy or a stage calls.
 */
@QuarkusTest
class CatalogueDriftTest {

    private static final String IMAGE = "https://images.example.com/photo.png";

    @Inject
    ModelCatalog models;

    @Test
    void everyPayloadOfEveryModelPassesTheSchemaOfItsEndpoint() {
        Map<String, SimSchema> schemas = SimSchema.catalogue();
        List<String> checked = new ArrayList<>();
        for (ModelStrategy model : models.all()) {
            for (Map<String, Object> params : List.of(Map.<String, Object>of(), everyTunable(model))) {
                for (int images : imageCounts(model)) {
                    List<FalCall> plan = model.plan(model.acceptsPrompt() ? "a red bicycle" : null, ModelCatalog.check(model, params), images);
                    for (FalCall call : plan) {
                        SimSchema schema = schemas.get(call.endpointId());
                        assertThat(schema).as("%s calls %s, which the simulator does not know", model.id(), call.endpointId()).isNotNull();
                        JsonObject payload = call.payload().apply(Stream.generate(() -> IMAGE).limit(Math.max(1, images)).toList());
                        assertThat(schema.validate(payload)).as("%s → %s with %s", model.id(), call.endpointId(), payload.encode()).isEmpty();
                        checked.add(call.endpointId());
                    }
                }
            }
        }
        // the stages' own calls: the vision model that categorises, the LLM that writes prompts
        JsonObject vision = Categories.visionRequest("google/gemini-2.5-pro", 0.3, 2000, List.of(IMAGE));
        assertThat(schemas.get(LlmCompletion.VISION).validate(vision)).isEmpty();
        JsonObject writer = Prompts.writerRequest(new Style("Beach", "a sunny beach"), Map.of("main_product_type", "Footwear"), null,
                "openai/gpt-5-mini", 0.7);
        assertThat(schemas.get(LlmCompletion.ROUTER).validate(writer)).isEmpty();
        checked.add(LlmCompletion.VISION);
        checked.add(LlmCompletion.ROUTER);

        Set<String> unused = new HashSet<>(schemas.keySet());
        unused.removeAll(checked);
        assertThat(unused).as("endpoints the simulator knows but no model or stage calls").isEmpty();
    }

    /** One photo and, where the model takes more (a reference background, several references), the most it takes. */
    private static List<Integer> imageCounts(ModelStrategy model) {
        return model.minImages() == model.maxImages() ? List.of(model.minImages()) : List.of(Math.max(1, model.minImages()), model.maxImages());
    }

    /** A valid value for every parameter a request may tune (its default, or one from its range). */
    private static Map<String, Object> everyTunable(ModelStrategy model) {
        Map<String, Object> params = new LinkedHashMap<>();
        for (ParamSpec p : model.tunable()) {
            Object v = switch (p.type()) {
                case INTEGER -> p.defaultValue() != null ? p.defaultValue() : p.min().intValue();
                case NUMBER -> p.defaultValue() != null ? p.defaultValue() : p.min();
                case BOOLEAN -> true;
                case ENUM -> p.values().get(p.values().size() - 1);
                case STRING -> p.defaultValue() != null ? p.defaultValue() : "sharp details";
                case SEED -> 42;
                case IMAGE_SIZE -> Map.of("width", Math.max(p.min().intValue(), 512), "height", Math.max(p.min().intValue(), 512));
                case LORAS -> List.of(Map.of("path", "https://models.example.com/style.safetensors", "scale", 0.8));
            };
            params.put(p.name(), v);
        }
        return params;
    }
}
