package ai.atelier.jobs;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import jakarta.enterprise.context.ApplicationScoped;

import ai.atelier.config.AtelierConfig;
import ai.atelier.fal.FalException;
import ai.atelier.fal.FalImage;
import ai.atelier.models.FalCall;
import ai.atelier.models.ModelStrategy;
import ai.atelier.progress.Progress;
import ai.atelier.progress.ProgressStore;
import ai.atelier.prompts.Prompts;
import ai.atelier.prompts.Style;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * A product shoot after categorisation: one prompt per style, then each style generated and stored,
 * several at once (bounded). Each style's state lives in the job row's {@code shoot} column and is
 * written as it changes: its prompt, its fal request id the moment fal returns it, its output or its
 * error. A resumed shoot skips finished styles and waits for submitted ones instead of paying again;
 * one style failing does not fail the others.
 */
@ApplicationScoped
public class ProductShoots {

    /** What the shoot produced: the stored outputs (one per generated style), and the errors of the others. */
    public record Outcome(List<JobFile> outputs, int requested, List<Map<String, String>> errors) {
        String errorSummary() {
            return String.join("; ", errors.stream().map(e -> e.get("style") + ": " + e.get("error")).toList());
        }
    }

    private static final String PATCH_STYLE = """
            update jobs set updated_at = now(),
                   shoot = jsonb_set(shoot, array['styles', $2::text], (shoot -> 'styles' -> $3::int) || $4::jsonb)
            where id = $1""";

    private final JobPipeline pipeline;
    private final FalCalls calls;
    private final ProgressStore progress;
    private final Pool pool;
    private final AtelierConfig config;

    public ProductShoots(JobPipeline pipeline, FalCalls calls, ProgressStore progress, Pool pool, AtelierConfig config) {
        this.pipeline = pipeline;
        this.calls = calls;
        this.progress = progress;
        this.pool = pool;
        this.config = config;
    }

    private static boolean finished(Map<String, Object> style) {
        return "succeeded".equals(style.get("status"));
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> styles(Job job) {
        Object list = job.shoot == null ? null : job.shoot.get("styles");
        List<Map<String, Object>> out = new ArrayList<>();
        if (list instanceof List<?> l) {
            l.forEach(o -> out.add(new LinkedHashMap<>((Map<String, Object>) o)));
        }
        return out;
    }

    public Uni<Outcome> run(Job job, ModelStrategy model, Supplier<Uni<Boolean>> stillOwned) {
        List<Map<String, Object>> styles = styles(job);
        int total = styles.size();
        // styles a previous run finished count as done from the start, and are not counted again
        AtomicInteger done = new AtomicInteger((int) styles.stream().filter(ProductShoots::finished).count());
        return pipeline.inputUrls(job, 1)
                .chain(urls -> report(job.id, done.get(), total)
                        .chain(() -> Multi.createFrom().range(0, total)
                                .onItem().transformToUni(i -> {
                                    boolean already = finished(styles.get(i));
                                    return runStyle(job, model, i, styles.get(i), urls, stillOwned)
                                            .call(() -> already ? Uni.createFrom().voidItem() : report(job.id, done.incrementAndGet(), total));
                                })
                                .merge(Math.max(1, config.shoots().maxParallelStyles()))
                                .collect().asList()))
                .map(results -> {
                    List<Map<String, Object>> ordered = new ArrayList<>(results);
                    ordered.sort(java.util.Comparator.comparingInt(r -> (Integer) r.get("index")));
                    List<JobFile> outputs = new ArrayList<>();
                    List<Map<String, String>> errors = new ArrayList<>();
                    for (Map<String, Object> r : ordered) {
                        if (r.get("file") instanceof JobFile f) {
                            outputs.add(f);
                        } else {
                            errors.add(Map.of("style", String.valueOf(r.get("style")), "error", String.valueOf(r.get("error"))));
                        }
                    }
                    return new Outcome(outputs, total, errors);
                });
    }

    /** One style: prompt, generate, store. Never fails for the style's own reasons; those are recorded on it. */
    private Uni<Map<String, Object>> runStyle(Job job, ModelStrategy model, int index, Map<String, Object> state, List<String> urls,
            Supplier<Uni<Boolean>> stillOwned) {
        Style style = new Style(String.valueOf(state.get("name")), String.valueOf(state.get("description")));
        if ("succeeded".equals(state.get("status")) && state.get("output") instanceof Map<?, ?> out) {
            return Uni.createFrom().item(result(index, style, Columns.file(out), null));
        }
        long t0 = System.nanoTime();
        return prompt(job, index, style, state, stillOwned)
                .chain(prompt -> generate(job, model, index, style, state, prompt, urls, stillOwned))
                .call(file -> patch(job.id, index, new JsonObject().put("status", "succeeded").put("output", Columns.json(file))
                        .put("duration_ms", (System.nanoTime() - t0) / 1_000_000).put("finished_at", Instant.now().toString())))
                .map(file -> result(index, style, file, null))
                .onFailure(e -> !(e instanceof JobPipeline.LeaseLost || e instanceof JobPipeline.Cancelled)).recoverWithUni(e -> {
                    Failure why = Failure.of(e, "on this style");
                    Log.warnf("job %s: style %s failed: %s: %s", job.id, style.name(), why.code(), why.message());
                    return patch(job.id, index, new JsonObject().put("status", "failed")
                            .put("error", new JsonObject().put("code", why.code()).put("message", why.message())))
                            .replaceWith(result(index, style, null, why.message()));
                });
    }

    private Uni<String> prompt(Job job, int index, Style style, Map<String, Object> state, Supplier<Uni<Boolean>> stillOwned) {
        if (state.get("prompt") instanceof String kept && !kept.isBlank()) {
            return Uni.createFrom().item(kept);
        }
        if (!"llm".equals(job.options.get("prompt_mode"))) {
            String text = Prompts.template(style, job.categories, job.prompt);
            return patch(job.id, index, new JsonObject().put("status", "generating").put("prompt", text).put("prompt_mode", "template"))
                    .invoke(() -> logPrompt(job, style, text)).replaceWith(text);
        }
        String promptModel = JobPipeline.option(job, "prompt_model", config.llm().promptModel());
        return pipeline.writeWithLlm(job.id, "prompt for " + style.name(), style, job.categories, job.prompt, promptModel,
                FalCalls.recorded(state, "prompt_request_id"), stillOwned,
                rid -> patch(job.id, index, new JsonObject().put("status", "prompting").put("prompt_request_id", rid)))
                .call(w -> patch(job.id, index, new JsonObject().put("status", "generating").put("prompt", w.text()).put("prompt_mode", "llm")
                        .put("prompt_model", promptModel).put("prompt_cost_usd", w.answer().cost())
                        .put("prompt_usage", w.answer().usage() == null ? null : w.answer().usage().copy())))
                .invoke(w -> logPrompt(job, style, w.text()))
                .map(JobPipeline.Written::text);
    }

    private Uni<JobFile> generate(Job job, ModelStrategy model, int index, Style style, Map<String, Object> state, String prompt,
            List<String> urls, Supplier<Uni<Boolean>> stillOwned) {
        FalCall call = model.plan(prompt, job.params, 1).get(0);
        return calls.once(job.id, "style " + style.name(), call.endpointId(), () -> call.payload().apply(urls),
                FalCalls.recorded(state, "fal_request_id"), stillOwned,
                rid -> patch(job.id, index, new JsonObject().put("fal_request_id", rid).put("fal_endpoint", call.endpointId())))
                .call(() -> pipeline.notCancelled(job.id))
                .chain(result -> {
                    List<FalImage> images = FalImage.read(result);
                    if (images.isEmpty()) {
                        return Uni.createFrom().failure(new FalException(200, "no_output", "fal returned no images", null, false));
                    }
                    return pipeline.storeOne(job.id, "jobs/" + job.id + "/outputs/" + index, images.get(0), "style:" + style.name());
                });
    }

    private void logPrompt(Job job, Style style, String text) {
        Log.infof("job %s: prompt for style %s on %s with %s: %s", job.id, style.name(), job.model, job.params, text);
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

    private Uni<Void> patch(UUID id, int index, JsonObject fields) {
        return pool.preparedQuery(PATCH_STYLE).execute(Tuple.of(id, String.valueOf(index), index, fields)).replaceWithVoid();
    }

    private Uni<Void> report(UUID id, int done, int total) {
        int percent = 30 + 55 * done / Math.max(1, total);
        return progress.put(id, new Progress("running", "infer", percent, done + " of " + total + " styles done", null, List.of(),
                Instant.now())).onFailure().recoverWithNull();
    }
}
