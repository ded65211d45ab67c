package ai.atelier.jobs.engine;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.enterprise.context.ApplicationScoped;

import ai.atelier.config.AtelierConfig;
import ai.atelier.fal.FalException;
import ai.atelier.fal.FalImage;
import ai.atelier.jobs.Columns;
import ai.atelier.jobs.Failure;
import ai.atelier.jobs.JobFile;
import ai.atelier.jobs.JobRepository;
import ai.atelier.jobs.ShootStyles;
import ai.atelier.jobs.StageFailed;
import ai.atelier.models.FalCall;
import ai.atelier.models.LlmCompletion;
import ai.atelier.prompts.Prompts;
import ai.atelier.prompts.Style;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;

/**
 * A product shoot after categorisation: one prompt per style, then each style generated and stored,
 * several at once (bounded). Each style's state lives in the row's {@code shoot} column and is written
 * as it changes: its prompt, its fal request id the moment fal returns it, its output or its error. A
 * resumed shoot skips finished styles and waits for submitted ones instead of paying again; one style
 * failing does not fail the others. Progress counts finished styles and never goes back.
 */
@ApplicationScoped
class ShootStage implements Stage {

    static final String NAME = "shoot";

    private final FalCalls calls;
    private final PromptWriter writer;
    private final Outputs outputs;
    private final InputUrls inputs;
    private final Engine engine;
    private final JobRepository jobs;
    private final AtelierConfig config;

    ShootStage(FalCalls calls, PromptWriter writer, Outputs outputs, InputUrls inputs, Engine engine, JobRepository jobs, AtelierConfig config) {
        this.calls = calls;
        this.writer = writer;
        this.outputs = outputs;
        this.inputs = inputs;
        this.engine = engine;
        this.jobs = jobs;
        this.config = config;
    }

    private static final String STOPPED = "stopped";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Uni<Void> run(RunContext ctx) {
        List<Map<String, Object>> styles = ShootStyles.of(ctx.job);
        int total = styles.size();
        // styles a previous run finished count as done from the start, and are not counted again
        AtomicInteger done = new AtomicInteger((int) styles.stream().filter(ShootStyles::finished).count());
        long t0 = ctx.begin(NAME, 30, progressMessage(done.get(), total));
        return engine.advance(ctx, null) // the job is running from here on (and it is still ours)
                .chain(active -> {
                    if (!active) {
                        throw new RunContext.Stopped(RunContext.Stop.CANCELLED);
                    }
                    return inputs.of(ctx.job, 1);
                })
                .chain(urls -> Multi.createFrom().range(0, total)
                        .onItem().transformToUni(i -> {
                            boolean already = ShootStyles.finished(styles.get(i));
                            return runStyle(ctx, i, styles.get(i), urls).invoke(r -> {
                                if (!already) {
                                    int n = done.incrementAndGet();
                                    ctx.report(NAME, 30 + 55 * n / Math.max(1, total), progressMessage(n, total), null, List.of());
                                }
                            })
                                    // a stopped run stops every style at once: carried as an item, so the merge ends once
                                    // (a second failure after the first would be dropped and logged as an error)
                                    .onFailure(RunContext.Stopped.class).recoverWithItem(e -> Map.<String, Object>of(STOPPED, e));
                        })
                        .merge(Math.max(1, config.shoots().maxParallelStyles()))
                        .collect().asList())
                .invoke(results -> {
                    for (Map<String, Object> r : results) {
                        if (r.get(STOPPED) instanceof RunContext.Stopped stopped) {
                            throw stopped;
                        }
                    }
                    List<Map<String, Object>> ordered = new ArrayList<>(results);
                    ordered.sort(Comparator.comparingInt(r -> (Integer) r.get("index")));
                    List<JobFile> files = new ArrayList<>();
                    List<String> errors = new ArrayList<>();
                    for (Map<String, Object> r : ordered) {
                        if (r.get("file") instanceof JobFile f) {
                            files.add(f);
                        } else {
                            errors.add(r.get("style") + ": " + r.get("error"));
                        }
                    }
                    if (files.isEmpty()) {
                        throw new StageFailed("no_style_generated", "None of the " + total + " styles was generated: " + String.join("; ", errors));
                    }
                    ctx.outputs = files;
                    ctx.succeeded(NAME, t0, Map.of("styles", total, "generated", files.size()));
                })
                .replaceWithVoid();
    }

    private static String progressMessage(int done, int total) {
        return done + " of " + total + " styles done";
    }

    /** One style: prompt, generate, store. Never fails for the style's own reasons; those are recorded on it. */
    private Uni<Map<String, Object>> runStyle(RunContext ctx, int index, Map<String, Object> state, List<String> urls) {
        Style style = new Style(String.valueOf(state.get("name")), String.valueOf(state.get("description")));
        if (ShootStyles.finished(state) && state.get("output") instanceof Map<?, ?> out) {
            return Uni.createFrom().item(result(index, style, Columns.file(out), null));
        }
        long t0 = System.nanoTime();
        return prompt(ctx, index, style, state)
                .chain(prompt -> generate(ctx, index, style, state, prompt, urls))
                .call(file -> patch(ctx, index, new JsonObject().put("status", "succeeded").put("output", Columns.json(file))
                        .put("duration_ms", (System.nanoTime() - t0) / 1_000_000).put("finished_at", Instant.now().toString())))
                .map(file -> result(index, style, file, null))
                .onFailure(e -> !(e instanceof RunContext.Stopped)).recoverWithUni(e -> {
                    Failure why = Failure.of(e, "on this style");
                    Log.warnf("job %s: style %s failed: %s: %s", ctx.job.id, style.name(), why.code(), why.message());
                    return patch(ctx, index, new JsonObject().put("status", "failed")
                            .put("error", new JsonObject().put("code", why.code()).put("message", why.message())))
                            .replaceWith(result(index, style, null, why.message()));
                });
    }

    private Uni<String> prompt(RunContext ctx, int index, Style style, Map<String, Object> state) {
        if (state.get("prompt") instanceof String kept && !kept.isBlank()) {
            return Uni.createFrom().item(kept);
        }
        if (!"llm".equals(ctx.job.options.get("prompt_mode"))) {
            String text = Prompts.template(style, ctx.job.categories, ctx.job.prompt);
            return patch(ctx, index, new JsonObject().put("status", "generating").put("prompt", text).put("prompt_mode", "template"))
                    .invoke(() -> logPrompt(ctx, style, text)).replaceWith(text);
        }
        String promptModel = Options.string(ctx.job, "prompt_model", config.llm().promptModel());
        return writer.write(ctx, NAME, "prompt for " + style.name(), style, ctx.job.categories, ctx.job.prompt, promptModel,
                Options.recorded(state, "prompt_request_id"),
                rid -> patch(ctx, index, new JsonObject().put("status", "prompting").put("prompt_request_id", rid)
                        .put("prompt_endpoint", LlmCompletion.ROUTER)))
                .call(w -> patch(ctx, index, new JsonObject().put("status", "generating").put("prompt", w.text()).put("prompt_mode", "llm")
                        .put("prompt_model", promptModel).put("prompt_cost_usd", w.answer().cost())
                        .put("prompt_usage", w.answer().usage() == null ? null : w.answer().usage().copy())))
                .invoke(w -> logPrompt(ctx, style, w.text()))
                .map(PromptWriter.Written::text);
    }

    private Uni<JobFile> generate(RunContext ctx, int index, Style style, Map<String, Object> state, String prompt, List<String> urls) {
        FalCall call = ctx.model.plan(prompt, ctx.job.params, 1).get(0);
        return calls.call(ctx, new FalCalls.Call(NAME, "style " + style.name(), call.endpointId(), () -> call.payload().apply(urls),
                Options.recorded(state, "fal_request_id"),
                rid -> patch(ctx, index, new JsonObject().put("fal_request_id", rid).put("fal_endpoint", call.endpointId())),
                status -> { }))
                .chain(result -> {
                    List<FalImage> images = ctx.model.outputs(result.body());
                    if (images.isEmpty()) {
                        return Uni.createFrom().failure(new FalException(200, "no_output", "fal returned no images", null, false));
                    }
                    return outputs.store(ctx, ai.atelier.storage.StorageKeys.outputBase(ctx.job.tenant, ctx.job.id, index), images.get(0), "style:" + style.name());
                });
    }

    private static void logPrompt(RunContext ctx, Style style, String text) {
        Log.infof("job %s: prompt for style %s on %s with %s: %s", ctx.job.id, style.name(), ctx.job.model, ctx.job.params, text);
    }

    private static Map<String, Object> result(int index, Style style, JobFile file, String error) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("index", index);
        r.put("style", style.name());
        if (file != null) {
            r.put("file", file);
        }
        if (error != null) {
            r.put("error", error);
        }
        return r;
    }

    /** Writes into one style; answers whether the job is still this run's (false: cancelled, or another instance's). */
    private Uni<Boolean> patch(RunContext ctx, int index, JsonObject fields) {
        return engine.durably(ctx, "record style " + index, () -> jobs.patchStyle(ctx.job.id, ctx.owner, index, fields))
                .emitOn(ctx::onContext)
                .invoke(won -> {
                    if (won) {
                        updateInMemory(ctx, index, fields);
                    }
                });
    }

    @SuppressWarnings("unchecked")
    private static void updateInMemory(RunContext ctx, int index, JsonObject fields) {
        List<Map<String, Object>> styles = ShootStyles.of(ctx.job);
        Map<String, Object> style = styles.get(index);
        style.putAll(new JsonObject(fields.encode()).getMap()); // nested values as maps and lists, as the row decodes them
        Map<String, Object> shoot = new LinkedHashMap<>(ctx.job.shoot);
        shoot.put("styles", styles);
        ctx.job.shoot = shoot;
    }
}
