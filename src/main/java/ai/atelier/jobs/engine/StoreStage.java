package ai.atelier.jobs.engine;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import jakarta.enterprise.inject.Instance;

import jakarta.inject.Singleton;

import ai.atelier.fal.FalClient;
import ai.atelier.fal.FalException;
import ai.atelier.fal.FalImage;
import ai.atelier.fal.FalResult;
import ai.atelier.jobs.FalRequest;
import ai.atelier.jobs.StageFailed;
import ai.atelier.models.ModelStrategy;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

/**
 * Copies each output of the infer stage into S3, the way its kind is stored ({@link OutputWriter}: pictures, a video). The result is the one the infer stage produced in this run,
 * or (a retry, a restart) fetched again from fal by the infer stage's last request: fal keeps it, and it was
 * paid for once.
 */
@Singleton
class StoreStage implements Stage {

    static final String NAME = "store";

    private final FalClient fal;
    private final Map<ModelStrategy.Output, OutputWriter> writers = new EnumMap<>(ModelStrategy.Output.class);
    private final Engine engine;
    private final CachedCalls cached;

    StoreStage(FalClient fal, Instance<OutputWriter> writers, Engine engine, CachedCalls cached) {
        this.fal = fal;
        writers.forEach(w -> this.writers.put(w.kind(), w));
        this.engine = engine;
        this.cached = cached;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String skipReason(RunContext ctx) {
        return writers.containsKey(ctx.model.output()) ? null : "a " + ctx.model.output().name().toLowerCase(java.util.Locale.ROOT) + " output has no files to store";
    }

    @Override
    public Uni<Produced> run(RunContext ctx, Produced before) {
        long t0 = ctx.begin(NAME, 85, null);
        Map<String, Object> infer = ctx.entry(InferStage.NAME);
        if ("hit".equals(infer.get("cache"))) {
            // served from the result cache: the infer stage copied the stored files to the job's keys (a resumed run finds them in its record)
            List<ai.atelier.jobs.JobFile> files = before.outputs() != null ? before.outputs() : cachedFiles(infer);
            ctx.succeeded(NAME, t0, Map.of("files", files.size(), "cache", "hit"));
            return Uni.createFrom().item(before.withOutputs(files));
        }
        Uni<FalResult> result = before.inferResult() != null ? Uni.createFrom().item(before.inferResult()) : fetchAgain(ctx);
        // the model's output kind picks how its files are fetched, checked and stored (pictures in memory, a video streamed)
        OutputWriter writer = writers.get(ctx.model.output());
        return result.chain(r -> {
            List<FalImage> images = ctx.model.outputs(r.body());
            if (images.isEmpty()) {
                return Uni.createFrom().failure(new FalException(200, "no_output", "fal returned no files", null, false));
            }
            return Multi.createFrom().range(0, images.size())
                    .onItem().transformToUniAndConcatenate(i -> writer.store(ctx, ai.atelier.storage.StorageKeys.outputBase(ctx.job.tenant, ctx.job.id, i), images.get(i), "output"))
                    .collect().asList()
                    // the call this job made for a cache entry it owns: its outputs stored, the entry is filled from them
                    .call(files -> infer.get("cache_key") instanceof String key
                            ? cached.fill(ctx, key, InferStage.NAME, String.valueOf(infer.get("endpoint")), r, files)
                            : Uni.createFrom().voidItem())
                    .map(files -> {
                        ctx.succeeded(NAME, t0, Map.of("files", files.size()));
                        return before.withOutputs(files);
                    });
        });
    }

    private static List<ai.atelier.jobs.JobFile> cachedFiles(Map<String, Object> infer) {
        return infer.get("cache_files") instanceof List<?> l ? l.stream().map(ai.atelier.jobs.Columns::file).toList() : List.of();
    }

    private Uni<FalResult> fetchAgain(RunContext ctx) {
        FalRequest last = ctx.job.falRequests.last(InferStage.NAME).orElse(null);
        if (last == null) {
            return Uni.createFrom().failure(new StageFailed("no_output", "The infer stage left no fal request to store the outputs of"));
        }
        return engine.durably(ctx, "fetch the fal result again", () -> fal.result(last.endpoint(), last.requestId())).emitOn(ctx::onContext);
    }
}
