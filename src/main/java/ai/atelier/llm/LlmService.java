package ai.atelier.llm;

import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;

import ai.atelier.auth.Caller;
import ai.atelier.config.AtelierConfig;
import ai.atelier.usage.Spending;
import ai.atelier.fal.FalClient;
import ai.atelier.ingest.Ingest;
import ai.atelier.models.LlmCompletion;
import ai.atelier.prompts.Categories;
import ai.atelier.prompts.Prompts;
import ai.atelier.prompts.Style;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;

/**
 * Seed 002's LLM operations over HTTP, synchronous (fal.run): a completion, a streamed completion, a
 * product analysis (nine categories) and a background prompt. The async completion is a job (model
 * {@code llm}) and goes through the jobs API.
 */
@Singleton
public class LlmService {

    private final FalClient fal;
    private final Ingest ingest;
    private final Spending spending;
    private final AtelierConfig.Llm config;

    public LlmService(FalClient fal, Ingest ingest, Spending spending, AtelierConfig config) {
        this.spending = spending;
        this.fal = fal;
        this.ingest = ingest;
        this.config = config.llm();
    }

    /** A completion: the images (if any) are fetched and checked like job inputs, then sent as data URLs. */
    public Uni<LlmAnswer> complete(Caller caller, LlmRequest request) {
        LlmRequest checked = request.checked(config.completionModel());
        return spending.call(caller, "completion", checked.endpoint(),
                () -> withImages(checked).chain(r -> fal.run(r.endpoint(), r.payload(), config.timeout())))
                .map(result -> LlmAnswer.of(result.body(), checked.model()))
                .invoke(a -> a.requireOutput("the model"))
                .invoke(a -> Log.infof("llm completion on %s: %s tokens, $%s", a.model(), a.totalTokens(), a.cost()));
    }

    /** A stream ready to start: the checked request, and the money held for it until it ends. */
    public record PreparedStream(LlmRequest request, Spending.Hold hold) {
    }

    /**
     * Everything a stream needs checked before it starts (the request, the budget, each image URL fetched
     * and checked), so a bad request is a problem+json 4xx and not a 200 with an error event. The stream's
     * expected cost is held from here; {@link #stream} lets it go however the stream ends.
     */
    public Uni<PreparedStream> prepareStream(Caller caller, LlmRequest request) {
        LlmRequest checked = request.checked(config.completionModel());
        return spending.hold(caller, checked.endpoint()).chain(hold -> withImages(checked)
                .onFailure().call(e -> spending.release(hold))
                .map(r -> new PreparedStream(r, hold)));
    }

    /** A prepared completion streamed: fal's events as they come, the last one with the usage. */
    public Multi<JsonObject> stream(Caller caller, PreparedStream prepared) {
        LlmRequest r = prepared.request();
        return fal.stream(r.endpoint(), r.payload(), config.streamIdleTimeout())
                // the last event is the whole answer, with what it cost
                .onItem().call(event -> event.getValue("usage") instanceof JsonObject && !event.getBoolean("partial", false)
                        ? spending.settle(caller, prepared.hold(), "completion", r.endpoint(), new ai.atelier.fal.FalResult(null, event, null))
                        : Uni.createFrom().voidItem())
                // settled or not (failed, the client left), the hold goes: a settled one is gone already
                .onTermination().call((failure, cancelled) -> spending.release(prepared.hold()));
    }

    /** The nine categories of a product photo, with what the call cost. */
    public Uni<Map<String, Object>> analyse(Caller caller, Ingest.Source image, String model) {
        String visionModel = model == null || model.isBlank() ? config.visionModel() : model;
        return spending.call(caller, "analysis", LlmCompletion.VISION, () -> ingest.asDataUrl(image)
                .chain(url -> fal.run(LlmCompletion.VISION,
                        Categories.visionRequest(visionModel, config.visionTemperature(), config.visionMaxTokens(), List.of(url)), config.timeout())))
                .map(result -> {
                    LlmAnswer answer = LlmAnswer.of(result.body(), visionModel);
                    Categories.Parsed parsed = Categories.parse(answer.requireOutput("the vision model"));
                    Map<String, Object> out = new java.util.LinkedHashMap<>();
                    out.put("categories", parsed.values());
                    out.put("missing_keys", parsed.missing());
                    out.put("model", visionModel);
                    out.put("usage", answer.usage() == null ? null : answer.usage().getMap());
                    out.put("cost_usd", answer.cost());
                    return out;
                });
    }

    /** A background prompt for a style from the categories: by the prompt LLM (seed 002) or the template. */
    public Uni<Map<String, Object>> backgroundPrompt(Caller caller, Map<String, Object> categories, Style style, String mode, String model) {
        if ("template".equals(mode)) {
            Map<String, Object> out = new java.util.LinkedHashMap<>();
            out.put("prompt", Prompts.template(style, categories, null));
            out.put("mode", "template");
            return Uni.createFrom().item(out);
        }
        String promptModel = model == null || model.isBlank() ? config.promptModel() : model;
        return spending.call(caller, "background_prompt", LlmCompletion.ROUTER, () -> fal.run(LlmCompletion.ROUTER,
                Prompts.writerRequest(style, categories, null, promptModel, config.promptTemperature()), config.timeout()))
                .map(result -> {
                    LlmAnswer answer = LlmAnswer.of(result.body(), promptModel);
                    String text = answer.requirePrompt();
                    Map<String, Object> out = new java.util.LinkedHashMap<>();
                    out.put("prompt", text);
                    out.put("mode", "llm");
                    out.put("model", promptModel);
                    out.put("usage", answer.usage() == null ? null : answer.usage().getMap());
                    out.put("cost_usd", answer.cost());
                    return out;
                });
    }

    private Uni<LlmRequest> withImages(LlmRequest r) {
        if (r.imageUrls() == null || r.imageUrls().isEmpty()) {
            return Uni.createFrom().item(r);
        }
        return Multi.createFrom().iterable(r.imageUrls())
                .onItem().transformToUniAndConcatenate(u -> ingest.asDataUrl(Ingest.Source.url(u, "input")))
                .collect().asList()
                .map(urls -> new LlmRequest(r.prompt(), r.model(), r.systemPrompt(), r.temperature(), r.maxTokens(), r.reasoning(), List.copyOf(urls)));
    }
}
