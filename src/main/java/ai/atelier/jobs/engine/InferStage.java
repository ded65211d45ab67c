package ai.atelier.jobs.engine;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;

import ai.atelier.fal.FalException;
import ai.atelier.fal.FalImage;
import ai.atelier.fal.FalResult;
import ai.atelier.jobs.FalRequest;
import ai.atelier.jobs.JobTransitions;
import ai.atelier.llm.LlmAnswer;
import ai.atelier.models.FalCall;
import ai.atelier.models.LlmCompletion;
import ai.atelier.models.ModelStrategy;
import ai.atelier.util.Unis;
import io.smallrye.mutiny.Uni;

/**
 * Runs each fal call of the model's plan through fal's queue; each call gets the previous call's
 * outputs (generate, then turn). Each step's request is recorded the moment fal returns it; a resumed
 * job waits for the request of the step it was at, and never submits it again.
 */
@Singleton
class InferStage implements Stage {

    static final String NAME = "infer";

    private final FalCalls calls;
    private final Engine engine;
    private final InputUrls inputs;
    private final CachedCalls cached;

    InferStage(FalCalls calls, Engine engine, InputUrls inputs, CachedCalls cached) {
        this.calls = calls;
        this.engine = engine;
        this.inputs = inputs;
        this.cached = cached;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Uni<Produced> run(RunContext ctx, Produced before) {
        ModelStrategy model = ctx.model;
        String prompt = ctx.job.finalPrompt != null ? ctx.job.finalPrompt : ctx.job.prompt;
        int images = Math.min(ctx.job.inputs.items().size(), model.maxImages());
        List<FalCall> plan = model.plan(prompt, ctx.job.params, images);
        // the step an earlier run was at, whose request this run waits for instead of submitting it again
        FalRequest resumed = ctx.job.falRequests.last(NAME).filter(r -> r.step() < plan.size()).orElse(null);
        long t0 = ctx.begin(NAME, 25, null);
        int first = resumed == null ? 0 : resumed.step();
        // resuming: the request was submitted with its inputs already; reading them again would only add a way to fail
        Uni<List<String>> urls = resumed != null ? Uni.createFrom().item(List.of()) : inputs.of(ctx.job, model.maxImages());
        // a plan of one call whose request was not made yet may be answered by the result cache
        if (resumed == null && plan.size() == 1 && model.output() != ModelStrategy.Output.TEXT && CachedCalls.applies(ctx)) {
            return Unis.then(urls, u -> cached.look(ctx, plan.get(0).endpointId(), () -> plan.get(0).payload().apply(u), u)
                    .chain(lookup -> {
                        if (lookup.key() != null) {
                            Map<String, Object> note = new LinkedHashMap<>();
                            note.put("cache", lookup.status());
                            if (lookup.owns()) {
                                note.put("cache_key", lookup.key()); // written with the fal request: a resumed run fills the entry it owns
                            }
                            ctx.note(NAME, note);
                        }
                        if (!lookup.hit()) {
                            return called(ctx, before, plan, t0, step(ctx, plan, 0, u));
                        }
                        return cached.serve(ctx, lookup, NAME, plan.get(0).endpointId(),
                                i -> ai.atelier.storage.StorageKeys.outputBase(ctx.job.tenant, ctx.job.id, i), "output")
                                .chain(files -> files == null ? bypassed(ctx, before, plan, t0, u) : servedFromCache(ctx, before, plan, t0, files));
                    }));
        }
        return called(ctx, before, plan, t0, Unis.then(urls, u -> step(ctx, plan, first, u)));
    }

    /** The stored result took the place of the call: the job's own copies, the stage done, written at once (running, then its end). */
    private Uni<Produced> servedFromCache(RunContext ctx, Produced before, List<FalCall> plan, long t0, List<ai.atelier.jobs.JobFile> files) {
        Map<String, Object> measured = new LinkedHashMap<>();
        measured.put("endpoint", plan.get(0).endpointId());
        measured.put("cache", "hit");
        measured.put("cache_files", files.stream().map(ai.atelier.jobs.Columns::json).toList());
        ctx.succeeded(NAME, t0, measured);
        return engine.advance(ctx, null).map(active -> {
            if (!active) {
                throw new RunContext.Stopped(RunContext.Stop.CANCELLED);
            }
            return before.withOutputs(files);
        });
    }

    /** The stored files went while they were copied: fal is called after all, and nothing is cached for it. */
    private Uni<Produced> bypassed(RunContext ctx, Produced before, List<FalCall> plan, long t0, List<String> urls) {
        ctx.note(NAME, Map.of("cache", "bypass"));
        return called(ctx, before, plan, t0, step(ctx, plan, 0, urls));
    }

    private Uni<Produced> called(RunContext ctx, Produced before, List<FalCall> plan, long t0, Uni<FalResult> call) {
        ModelStrategy model = ctx.model;
        return call
                .map(result -> {
                    Map<String, Object> measured = new LinkedHashMap<>();
                    measured.put("endpoint", plan.get(plan.size() - 1).endpointId());
                    if (result.billableUnits() != null) {
                        measured.put("billable_units", result.billableUnits());
                    }
                    Produced produced = before.withInferResult(result);
                    if (model.output() == ModelStrategy.Output.TEXT) {
                        String llmModel = result.body().getString("model",
                                String.valueOf(ctx.job.params.getOrDefault("model", LlmCompletion.DEFAULT_MODEL)));
                        LlmAnswer answer = LlmAnswer.of(result.body(), llmModel);
                        measured.putAll(answer.measuredMap());
                        ctx.note(NAME, measured);
                        answer.requireOutput("the model");
                        produced = produced.withTextResult(answer.asResult());
                    }
                    ctx.succeeded(NAME, t0, measured);
                    return produced;
                });
    }

    private Uni<FalResult> step(RunContext ctx, List<FalCall> plan, int index, List<String> imageUrls) {
        FalCall call = plan.get(index);
        return calls.call(ctx, new FalCalls.Call(NAME, null, index, NAME, call.endpointId(), () -> call.payload().apply(imageUrls),
                r -> engine.advance(ctx, JobTransitions.Request.mirror(r)), new FalProgress(ctx, NAME, 25, 80, index, plan.size())::accept))
                .chain(result -> {
                    if (index + 1 == plan.size()) {
                        return Uni.createFrom().item(result);
                    }
                    List<FalImage> images = ctx.model.outputs(result.body());
                    if (images.isEmpty()) {
                        throw new FalException(200, "no_output", "fal returned no images", null, false);
                    }
                    return step(ctx, plan, index + 1, images.stream().map(FalImage::url).toList());
                });
    }
}
