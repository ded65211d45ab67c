package ai.atelier.jobs.engine;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;

import ai.atelier.fal.FalException;
import ai.atelier.fal.FalImage;
import ai.atelier.fal.FalResult;
import ai.atelier.jobs.JobStatus;
import ai.atelier.jobs.JobTransitions;
import ai.atelier.llm.LlmAnswer;
import ai.atelier.models.FalCall;
import ai.atelier.models.LlmCompletion;
import ai.atelier.models.ModelStrategy;
import ai.atelier.util.Unis;
import io.smallrye.mutiny.Uni;

/**
 * Runs each fal call of the model's plan through fal's queue; each call gets the previous call's
 * outputs (generate, then turn). The main request id is recorded in the row the moment fal returns it;
 * a resumed job waits for the recorded request of the step it was at, and never submits it again.
 */
@ApplicationScoped
class InferStage implements Stage {

    static final String NAME = "infer";

    private final FalCalls calls;
    private final Engine engine;
    private final InputUrls inputs;

    InferStage(FalCalls calls, Engine engine, InputUrls inputs) {
        this.calls = calls;
        this.engine = engine;
        this.inputs = inputs;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Uni<Void> run(RunContext ctx) {
        ModelStrategy model = ctx.model;
        String prompt = ctx.job.finalPrompt != null ? ctx.job.finalPrompt : ctx.job.prompt;
        int images = Math.min(ctx.job.inputs.items().size(), model.maxImages());
        List<FalCall> plan = model.plan(prompt, ctx.job.params, images);
        boolean resuming = ctx.job.falRequestId != null;
        long t0 = resuming ? System.nanoTime() : ctx.begin(NAME, 25, null);
        int first = resuming ? Math.min(ctx.job.falStep, plan.size() - 1) : 0;
        // resuming: the request was submitted with its inputs already; reading them again would only add a way to fail
        Uni<List<String>> urls = resuming ? Uni.createFrom().item(List.of()) : inputs.of(ctx.job, model.maxImages());
        // a retried job that waits for the request it had is queued until it says it runs again (no new request will)
        Uni<Void> running = resuming && ctx.job.status != JobStatus.RUNNING
                ? engine.advance(ctx, null).invoke(active -> {
                    if (!active) {
                        throw new RunContext.Stopped(RunContext.Stop.CANCELLED);
                    }
                }).replaceWithVoid()
                : Uni.createFrom().voidItem();
        return Unis.then(running.chain(() -> urls), u -> step(ctx, plan, first, u))
                .invoke(result -> {
                    ctx.inferResult = result;
                    Map<String, Object> measured = new LinkedHashMap<>();
                    measured.put("fal_request_id", ctx.job.falRequestId);
                    measured.put("endpoint", ctx.job.falEndpoint);
                    if (result.billableUnits() != null) {
                        measured.put("billable_units", result.billableUnits());
                    }
                    if (model.output() == ModelStrategy.Output.TEXT) {
                        String llmModel = result.body().getString("model",
                                String.valueOf(ctx.job.params.getOrDefault("model", LlmCompletion.DEFAULT_MODEL)));
                        LlmAnswer answer = LlmAnswer.of(result.body(), llmModel);
                        measured.putAll(answer.measuredMap());
                        ctx.note(NAME, measured);
                        answer.requireOutput("the model");
                        ctx.textResult = answer.asResult();
                    }
                    ctx.succeeded(NAME, t0, measured);
                })
                .replaceWithVoid();
    }

    private Uni<FalResult> step(RunContext ctx, List<FalCall> plan, int index, List<String> imageUrls) {
        FalCall call = plan.get(index);
        String recorded = ctx.job.falRequestId != null && ctx.job.falStep == index && call.endpointId().equals(ctx.job.falEndpoint)
                ? ctx.job.falRequestId : null;
        return calls.call(ctx, new FalCalls.Call(NAME, NAME, call.endpointId(), () -> call.payload().apply(imageUrls), recorded,
                rid -> {
                    ctx.job.falRequestId = rid;
                    ctx.job.falEndpoint = call.endpointId();
                    ctx.job.falStep = index;
                    ctx.note(NAME, Map.of("fal_request_id", rid, "endpoint", call.endpointId()));
                    return engine.advance(ctx, new JobTransitions.Request(rid, call.endpointId(), index));
                }, new FalProgress(ctx, NAME, 25, 80, index, plan.size())::accept))
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
