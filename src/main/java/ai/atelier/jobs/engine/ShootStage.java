package ai.atelier.jobs.engine;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.inject.Singleton;

import ai.atelier.cache.CacheSpec;
import ai.atelier.config.AtelierConfig;
import ai.atelier.fal.FalException;
import ai.atelier.fal.FalImage;
import ai.atelier.jobs.Columns;
import ai.atelier.jobs.Failure;
import ai.atelier.jobs.JobFile;
import ai.atelier.jobs.JobRepository;
import ai.atelier.jobs.FalRequest;
import ai.atelier.jobs.ShootStyles;
import ai.atelier.jobs.StyleStatus;
import ai.atelier.jobs.StageFailed;
import ai.atelier.models.FalCall;
import ai.atelier.prompts.Prompts;
import ai.atelier.prompts.Style;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;

/**
 * A product shoot after categorisation: one prompt per style, then each style generated and stored,
 * several at once (bounded). Each style's state ({@link StyleStatus}, its prompt, output or error) lives in
 * the row's {@code shoot} column, its fal requests (prompt and picture) in the job's fal requests, each
 * written the moment it changes by a statement of its own (styles run concurrently). A resumed shoot skips
 * finished styles and waits for submitted requests instead of paying again; one style failing does not fail
 * the others. Progress counts finished styles and never goes back.
 */
@Singleton
class ShootStage implements Stage {

    static final String NAME = "shoot";

    private final FalCalls calls;
    private final PromptWriter writer;
    private final Outputs outputs;
    private final InputUrls inputs;
    private final Engine engine;
    private final JobRepository jobs;
    private final AtelierConfig config;
    private final CachedCalls cached;

    ShootStage(FalCalls calls, PromptWriter writer, Outputs outputs, InputUrls inputs, Engine engine, JobRepository jobs, AtelierConfig config,
            CachedCalls cached) {
        this.cached = cached;
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
    public Uni<Produced> run(RunContext ctx, Produced before) {
        List<Map<String, Object>> styles = ShootStyles.of(ctx.job);
        int total = styles.size();
        // styles a previous run finished count as done from the start, and are not counted again
        AtomicInteger done = new AtomicInteger((int) styles.stream().filter(ShootStyles::finished).count());
        long t0 = ctx.begin(NAME, 30, progressMessage(done.get(), total));
        return inputs.of(ctx.job, 1)
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
                .map(results -> {
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
                    ctx.succeeded(NAME, t0, Map.of("styles", total, "generated", files.size()));
                    return before.withOutputs(files);
                });
    }

    private static String progressMessage(int done, int total) {
        return done + " of " + total + " styles done";
    }

    /** One style: prompt, generate, store. Never fails for the style's own reasons; those are recorded on it. */
    private Uni<Map<String, Object>> runStyle(RunContext ctx, int index, Map<String, Object> state, List<String> urls) {
        Style style = new Style(String.valueOf(state.get("name")), String.valueOf(state.get("description")));
        if (StyleStatus.of(state.get("status")).finished() && state.get("output") instanceof Map<?, ?> out) {
            return Uni.createFrom().item(result(index, style, Columns.file(out), null));
        }
        if (StyleStatus.of(state.get("status")) == StyleStatus.FAILED) {
            // failed in an earlier run of this attempt (the run was resumed after a crash): it stays failed until a client retries
            Object message = state.get("error") instanceof Map<?, ?> e ? e.get("message") : null;
            return Uni.createFrom().item(result(index, style, null, String.valueOf(message)));
        }
        long t0 = System.nanoTime();
        return prompt(ctx, index, style, state)
                .chain(prompt -> generate(ctx, index, style, state, prompt, urls))
                .call(file -> patch(ctx, index, StyleStatus.SUCCEEDED, new JsonObject().put("output", Columns.json(file))
                        .put("duration_ms", (System.nanoTime() - t0) / 1_000_000).put("finished_at", Instant.now().toString())))
                .map(file -> result(index, style, file, null))
                .onFailure(e -> !(e instanceof RunContext.Stopped)).recoverWithUni(e -> {
                    Failure why = Failure.of(e, "on this style");
                    Log.warnf("job %s: style %s failed: %s: %s", ctx.job.id, style.name(), why.code(), why.message());
                    Object owned = ShootStyles.of(ctx.job).get(index).get("cache_key");
                    return (owned instanceof String k ? cached.abandon(ctx, k) : Uni.createFrom().voidItem()).chain(() -> patch(ctx, index, StyleStatus.FAILED, new JsonObject()
                            .put("error", new JsonObject().put("code", why.code()).put("message", why.message()))))
                            .replaceWith(result(index, style, null, why.message()));
                });
    }

    private Uni<String> prompt(RunContext ctx, int index, Style style, Map<String, Object> state) {
        if (state.get("prompt") instanceof String kept && !kept.isBlank()) {
            return Uni.createFrom().item(kept);
        }
        if (!"llm".equals(ctx.job.options.get("prompt_mode"))) {
            String text = Prompts.template(style, ctx.job.categories, ctx.job.prompt);
            return patch(ctx, index, StyleStatus.GENERATING, new JsonObject().put("prompt", text).put("prompt_mode", "template"))
                    .invoke(() -> logPrompt(ctx, style, text)).replaceWith(text);
        }
        String promptModel = Options.string(ctx.job, "prompt_model", config.llm().promptModel());
        return writer.write(ctx, NAME, index, FalRequest.STYLE_PROMPT, "prompt for " + style.name(), style, ctx.job.categories, ctx.job.prompt,
                promptModel, r -> patch(ctx, index, StyleStatus.PROMPTING, new JsonObject()))
                .call(w -> patch(ctx, index, StyleStatus.GENERATING, new JsonObject().put("prompt", w.text()).put("prompt_mode", "llm")
                        .put("prompt_model", promptModel).put("prompt_cost_usd", w.answer().cost())
                        .put("prompt_usage", w.answer().usage() == null ? null : w.answer().usage().copy())))
                .invoke(w -> logPrompt(ctx, style, w.text()))
                .map(PromptWriter.Written::text);
    }

    private Uni<JobFile> generate(RunContext ctx, int index, Style style, Map<String, Object> state, String prompt, List<String> urls) {
        FalCall call = ctx.model.plan(prompt, ctx.job.params, 1).get(0);
        String role = "style:" + style.name();
        boolean requested = ctx.job.falRequests.get(FalRequest.key(NAME, index, FalRequest.STYLE_PICTURE)).filter(r -> r.state().usable()).isPresent();
        if (requested) {
            // resumed with its request made: no second look; the entry it owns (if any) is filled once its picture is stored
            return called(ctx, index, style, call, urls, state.get("cache_key") instanceof String k ? k : null);
        }
        return cached.look(ctx, call.endpointId(), () -> call.payload().apply(urls), urls).chain(lookup -> {
            if (lookup.hit()) {
                return cached.serve(ctx, lookup, NAME, call.endpointId(), i -> ai.atelier.storage.StorageKeys.outputBase(ctx.job.tenant, ctx.job.id, index),
                        role).chain(files -> files == null || files.isEmpty()
                                ? noted(ctx, index, CacheSpec.BYPASS, null).chain(() -> called(ctx, index, style, call, urls, null))
                                : noted(ctx, index, "hit", null).replaceWith(files.get(0)));
            }
            if (lookup.key() == null) {
                return called(ctx, index, style, call, urls, null);
            }
            return noted(ctx, index, lookup.status(), lookup.owns() ? lookup.key() : null)
                    .chain(() -> called(ctx, index, style, call, urls, lookup.owns() ? lookup.key() : null));
        });
    }

    /** The style's cache outcome (and the key it owns, for a resumed run to fill), written before its fal call. */
    private Uni<Boolean> noted(RunContext ctx, int index, String status, String key) {
        JsonObject fields = new JsonObject().put("cache", status);
        if (key != null) {
            fields.put("cache_key", key);
        }
        return patch(ctx, index, StyleStatus.GENERATING, fields);
    }

    private Uni<JobFile> called(RunContext ctx, int index, Style style, FalCall call, List<String> urls, String cacheKey) {
        return calls.call(ctx, new FalCalls.Call(NAME, index, FalRequest.STYLE_PICTURE, "style " + style.name(), call.endpointId(),
                () -> call.payload().apply(urls), r -> patch(ctx, index, StyleStatus.GENERATING, new JsonObject()), status -> { }))
                .chain(result -> {
                    List<FalImage> images = ctx.model.outputs(result.body());
                    if (images.isEmpty()) {
                        return Uni.createFrom().failure(new FalException(200, "no_output", "fal returned no images", null, false));
                    }
                    return outputs.store(ctx, ai.atelier.storage.StorageKeys.outputBase(ctx.job.tenant, ctx.job.id, index), images.get(0), "style:" + style.name())
                            .call(file -> cached.fill(ctx, cacheKey, NAME, call.endpointId(), result, List.of(file)));
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

    /**
     * Moves one style to {@code to} with these fields, in a statement that also carries the job's fal requests made
     * since the last one (a style's request is written the moment fal returns it); answers whether the job is
     * still this run's (false: cancelled, or another instance's).
     */
    private Uni<Boolean> patch(RunContext ctx, int index, StyleStatus to, JsonObject fields) {
        Object current = ShootStyles.of(ctx.job).get(index).get("status");
        fields.put("status", StyleStatus.move(current, to).wire());
        return engine.durably(ctx, "record style " + index, () -> {
            JsonObject requests = ctx.takeRequests();
            return jobs.patchStyle(ctx.job.id, ctx.owner, index, fields, requests).onFailure().invoke(e -> ctx.restoreRequests(requests));
        })
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
