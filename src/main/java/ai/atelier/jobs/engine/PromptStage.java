package ai.atelier.jobs.engine;

import java.util.LinkedHashMap;
import java.util.Map;

import jakarta.inject.Singleton;

import ai.atelier.config.AtelierConfig;
import ai.atelier.jobs.StageFailed;
import ai.atelier.models.ModelStrategy;
import ai.atelier.prompts.Prompts;
import ai.atelier.prompts.Style;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;

/**
 * Writes the prompt fal receives: a template by default, or an LLM from the categories and the style.
 * Stored on the job and logged once at INFO with the model and its parameters (never a key or a data
 * URL: images are part of neither).
 */
@Singleton
class PromptStage implements Stage {

    static final String NAME = "prompt";

    private final PromptWriter writer;
    private final Engine engine;
    private final AtelierConfig.Llm config;

    PromptStage(PromptWriter writer, Engine engine, AtelierConfig config) {
        this.writer = writer;
        this.engine = engine;
        this.config = config.llm();
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String skipReason(RunContext ctx) {
        return ctx.model.acceptsPrompt() ? null : "model " + ctx.model.id() + " takes no prompt";
    }

    @Override
    public Uni<Produced> run(RunContext ctx, Produced before) {
        ModelStrategy model = ctx.model;
        if (model.output() == ModelStrategy.Output.TEXT || ctx.job.inputs.items().stream().anyMatch(f -> "reference".equals(f.role()))) {
            // a completion's prompt is the question itself; a reference background photo replaces the prompt
            save(ctx, ctx.job.prompt, System.nanoTime(), Map.of("mode", "client"));
            return Uni.createFrom().item(before);
        }
        Style style = Options.style(ctx.job.options.get("style"));
        long t0 = ctx.begin(NAME, 20, "Writing the prompt");
        if (!"llm".equals(ctx.job.options.get("prompt_mode"))) {
            String text = Prompts.template(style, ctx.job.categories, ctx.job.prompt);
            if (text.isBlank()) {
                return Uni.createFrom().failure(new StageFailed("missing_prompt", "There is no prompt: give one, or a style"));
            }
            save(ctx, text, t0, Map.of("mode", "template"));
            return Uni.createFrom().item(before);
        }
        String promptModel = Options.string(ctx.job, "prompt_model", config.promptModel());
        ctx.note(NAME, Map.of("model", promptModel));
        return writer.write(ctx, NAME, null, 0, NAME, style, ctx.job.categories, ctx.job.prompt, promptModel, r -> engine.advance(ctx, null))
                .map(written -> {
                    Map<String, Object> measured = written.answer().measuredMap();
                    measured.put("mode", "llm");
                    save(ctx, written.text(), t0, measured);
                    return before;
                });
    }

    private static void save(RunContext ctx, String text, long t0, Map<String, Object> measured) {
        ctx.setFinalPrompt(text);
        Map<String, Object> sent = new LinkedHashMap<>(ctx.job.params);
        sent.putAll(ctx.model.locked());
        Log.infof("job %s: prompt for %s (%s) with %s: %s", ctx.job.id, ctx.model.id(), String.join(" → ", ctx.model.endpoints()), sent, text);
        ctx.succeeded(NAME, t0, new LinkedHashMap<>(measured));
    }
}
