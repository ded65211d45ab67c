package ai.atelier.jobs.engine;

import java.util.LinkedHashMap;
import java.util.Map;

import jakarta.inject.Singleton;

import ai.atelier.config.AtelierConfig;
import ai.atelier.jobs.StageFailed;
import ai.atelier.llm.LlmAnswer;
import ai.atelier.models.LlmCompletion;
import ai.atelier.prompts.Categories;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;

/**
 * Seed 002's categorisation: the vision model sorts the product photo into nine categories, kept on
 * the job for the prompt stage. Runs when the request asks for it.
 */
@Singleton
class CategoriseStage implements Stage {

    static final String NAME = "categorise";

    private final FalCalls calls;
    private final Engine engine;
    private final InputUrls inputs;
    private final AtelierConfig.Llm config;

    CategoriseStage(FalCalls calls, Engine engine, InputUrls inputs, AtelierConfig config) {
        this.calls = calls;
        this.engine = engine;
        this.inputs = inputs;
        this.config = config.llm();
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String skipReason(RunContext ctx) {
        return Boolean.TRUE.equals(ctx.job.options.get("categorise")) ? null : "not requested";
    }

    @Override
    public Uni<Produced> run(RunContext ctx, Produced before) {
        String visionModel = Options.string(ctx.job, "vision_model", config.visionModel());
        long t0 = ctx.begin(NAME, 15, "Looking at the product");
        ctx.note(NAME, Map.of("model", visionModel));
        return inputs.of(ctx.job, 1)
                .chain(urls -> calls.call(ctx, new FalCalls.Call(NAME, null, 0, NAME, LlmCompletion.VISION,
                        () -> Categories.visionRequest(visionModel, config.visionTemperature(), config.visionMaxTokens(), urls),
                        r -> engine.advance(ctx, null), new FalProgress(ctx, NAME, 15, 19, 0, 1)::accept)))
                .map(result -> {
                    LlmAnswer answer = LlmAnswer.of(result.body(), visionModel);
                    Map<String, Object> measured = answer.measuredMap();
                    Categories.Parsed parsed;
                    try {
                        parsed = Categories.parse(answer.requireOutput("the vision model"));
                    } catch (Categories.Unusable e) {
                        ctx.note(NAME, measured);
                        throw new StageFailed("categories_unusable", e.getMessage());
                    }
                    ctx.setCategories(new LinkedHashMap<>(parsed.values()));
                    measured.put("missing_keys", parsed.missing());
                    ctx.succeeded(NAME, t0, measured);
                    Log.infof("job %s: categories %s (%s, $%s)", ctx.job.id, parsed.values(), visionModel, answer.cost());
                    return before;
                });
    }
}
