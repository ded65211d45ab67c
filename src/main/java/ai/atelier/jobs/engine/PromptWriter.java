package ai.atelier.jobs.engine;

import java.util.Map;
import java.util.function.Function;

import jakarta.inject.Singleton;

import ai.atelier.config.AtelierConfig;
import ai.atelier.llm.LlmAnswer;
import ai.atelier.models.LlmCompletion;
import ai.atelier.prompts.Prompts;
import ai.atelier.prompts.Style;
import io.smallrye.mutiny.Uni;

/** Asks the prompt LLM (durably, as every fal call) for one prompt: for the prompt stage, and for each style of a shoot. */
@Singleton
class PromptWriter {

    /** A prompt the LLM wrote, and what it cost. */
    record Written(String text, LlmAnswer answer) {
    }

    private final FalCalls calls;
    private final AtelierConfig.Llm config;

    PromptWriter(FalCalls calls, AtelierConfig config) {
        this.calls = calls;
        this.config = config.llm();
    }

    /**
     * An empty answer is a failure, not a silent template. The request belongs to {@code stage} (and a shoot's
     * {@code styleIndex}, else null) at {@code step}; {@code persist} writes it (see {@link FalCalls.Call}).
     */
    Uni<Written> write(RunContext ctx, String stage, Integer styleIndex, int step, String what, Style style, Map<String, Object> categories,
            String clientPrompt, String promptModel, Function<ai.atelier.jobs.FalRequest, Uni<Boolean>> persist) {
        return calls.call(ctx, new FalCalls.Call(stage, styleIndex, step, what, LlmCompletion.ROUTER,
                () -> Prompts.writerRequest(style, categories, clientPrompt, promptModel, config.promptTemperature()), persist, status -> { }))
                .map(result -> {
                    LlmAnswer answer = LlmAnswer.of(result.body(), promptModel);
                    return new Written(answer.requirePrompt(), answer);
                });
    }
}
