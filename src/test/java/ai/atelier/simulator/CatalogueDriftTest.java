package ai.atelier.simulator;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import jakarta.inject.Inject;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import ai.atelier.fal.FalImage;
import ai.atelier.models.CostBasis;
import ai.atelier.models.FalCall;
import ai.atelier.models.LlmCompletion;
import ai.atelier.models.ModelCatalog;
import ai.atelier.models.ModelStrategy;
import ai.atelier.models.ParamSpec;
import ai.atelier.models.VideoModel;
import ai.atelier.prompts.Categories;
import ai.atelier.prompts.Prompts;
import ai.atelier.prompts.Style;
import io.quarkus.test.junit.QuarkusTest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * Atelier's model strategies and the simulator's copy of fal's schemas cannot drift apart: every
 * payload every strategy builds (with its defaults, and with every tunable set) passes the schema of
 * the endpoint it goes to, a picture model reads back the answer in the shape its endpoint gives it, a
 * video model quotes the units the simulator bills for that payload, and every endpoint the simulator
 * knows is one a strategy or a stage calls. One case per model, so a failure names the model.
 */
@QuarkusTest
class CatalogueDriftTest {

    private static final String IMAGE = "https://images.example.com/photo.png";

    @Inject
    ModelCatalog models;

    @TestFactory
    Stream<DynamicTest> everyModelsPayloadsPassTheSchemaOfTheirEndpointAndItsAnswerReadsBack() {
        Map<String, SimSchema> schemas = SimSchema.catalogue();
        return models.all().stream().map(model -> DynamicTest.dynamicTest(model.id(), () -> checkModel(model, schemas)));
    }

    private static void checkModel(ModelStrategy model, Map<String, SimSchema> schemas) {
        for (Map<String, Object> all : List.of(Map.<String, Object>of(), everyTunable(model))) {
            for (int images : imageCounts(model)) {
                Map<String, Object> params = forMode(model, all, images);
                List<FalCall> plan = model.plan(model.acceptsPrompt() ? "a red bicycle" : null, ModelCatalog.check(model, params), images);
                assertThat(plan).as("%s plans no fal call", model.id()).isNotEmpty();
                for (int c = 0; c < plan.size(); c++) {
                    FalCall call = plan.get(c);
                    SimSchema schema = schemas.get(call.endpointId());
                    assertThat(schema).as("%s calls %s, which the simulator does not know", model.id(), call.endpointId()).isNotNull();
                    // the first call gets the request's photos; a later one the pictures of the call before
                    int urls = c == 0 ? images : Math.max(1, images);
                    JsonObject payload = call.payload().apply(Stream.generate(() -> IMAGE).limit(urls).toList());
                    assertThat(schema.validate(payload)).as("%s → %s with %s", model.id(), call.endpointId(), payload.encode()).isEmpty();
                    if (model.output() == ModelStrategy.Output.VIDEO) {
                        // what Atelier will quote is what fal (the simulator) bills for that very payload
                        CostBasis basis = model.costBasis(call.endpointId());
                        assertThat(basis.kind()).isEqualTo(CostBasis.Kind.SECONDS);
                        SimSchema.Video video = schema.video;
                        String billed = SimPricing.videoUnits(call.endpointId(), video.seconds(payload), video.resolution(payload), video.audio(payload));
                        assertThat(basis.perSecond().units(payload.getMap())).as("%s units for %s", model.id(), payload.encode())
                                .isEqualTo(Double.parseDouble(billed));
                    }
                }
                if (model.output() != ModelStrategy.Output.IMAGES) {
                    continue; // a completion's text and a clip are read by their own tests (LLM routes, VideoJobsTest)
                }
                // the pictures come from the last call's answer: read it in the shape that endpoint answers in
                SimSchema last = schemas.get(plan.get(plan.size() - 1).endpointId());
                JsonArray pictures = new JsonArray()
                        .add(new JsonObject().put("url", "https://v3.fal.media/files/a.png").put("width", 1024).put("height", 768)
                                .put("content_type", "image/png").put("file_size", 1234))
                        .add(new JsonObject().put("url", "https://v3.fal.media/files/b.png").put("width", 1024).put("height", 768)
                                .put("content_type", "image/png").put("file_size", 1234));
                JsonObject answer = last.answer(pictures, new JsonObject().put("seed", 42).put("timings", new JsonObject()));
                List<FalImage> read = model.outputs(answer);
                int expected = answer.containsKey("image") ? 1 : 2;
                assertThat(read).as("%s reads %s's answer %s", model.id(), last.endpointId, answer.encode()).hasSize(expected);
                assertThat(read.get(0).url()).isEqualTo("https://v3.fal.media/files/a.png");
                assertThat(read.get(0).width()).isEqualTo(1024);
                assertThat(read.get(0).height()).isEqualTo(768);
                assertThat(read.get(0).contentType()).isEqualTo("image/png");
            }
        }
    }

    /** The stages' own calls (the vision model that categorises, the LLM that writes prompts), and no endpoint unused. */
    @Test
    void theStagesCallsPassTheirSchemasAndTheSimulatorKnowsNoEndpointNobodyCalls() {
        Map<String, SimSchema> schemas = SimSchema.catalogue();
        JsonObject vision = Categories.visionRequest("google/gemini-2.5-pro", 0.3, 2000, List.of(IMAGE));
        assertThat(schemas.get(LlmCompletion.VISION).validate(vision)).isEmpty();
        JsonObject writer = Prompts.writerRequest(new Style("Beach", "a sunny beach"), Map.of("main_product_type", "Footwear"), null,
                "openai/gpt-5-mini", 0.7);
        assertThat(schemas.get(LlmCompletion.ROUTER).validate(writer)).isEmpty();

        Set<String> called = new HashSet<>(List.of(LlmCompletion.VISION, LlmCompletion.ROUTER));
        for (ModelStrategy model : models.all()) {
            for (int images : imageCounts(model)) {
                model.plan(model.acceptsPrompt() ? "a red bicycle" : null, ModelCatalog.check(model, forMode(model, Map.of(), images)), images)
                        .forEach(call -> called.add(call.endpointId()));
            }
        }
        Set<String> unused = new HashSet<>(schemas.keySet());
        unused.removeAll(called);
        assertThat(unused).as("endpoints the simulator knows but no model or stage calls").isEmpty();
    }

    /**
     * The fewest photos the model takes (none: text-to-video, a text LLM call), one photo and, where the model takes
     * more (a reference background, several references), the most it takes.
     */
    private static List<Integer> imageCounts(ModelStrategy model) {
        return Stream.of(model.minImages(), Math.max(1, model.minImages()), model.maxImages()).filter(n -> n <= model.maxImages()).distinct()
                .toList();
    }

    /** A video model's parameters of one mode: text-to-video's without a photo, image-to-video's with one. */
    private static Map<String, Object> forMode(ModelStrategy model, Map<String, Object> params, int images) {
        if (!(model instanceof VideoModel video)) {
            return params;
        }
        Map<String, Object> mode = new LinkedHashMap<>(params);
        mode.keySet().removeAll(images > 0 ? video.textOnly() : video.imageOnly());
        return mode;
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
