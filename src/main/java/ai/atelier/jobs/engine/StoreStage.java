package ai.atelier.jobs.engine;

import java.util.List;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;

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
 * Copies each output of the infer stage into S3. The result is the one the infer stage produced in this run,
 * or (a retry, a restart) fetched again from fal by the infer stage's last request: fal keeps it, and it was
 * paid for once.
 */
@ApplicationScoped
class StoreStage implements Stage {

    static final String NAME = "store";

    private final FalClient fal;
    private final Outputs outputs;
    private final Engine engine;

    StoreStage(FalClient fal, Outputs outputs, Engine engine) {
        this.fal = fal;
        this.outputs = outputs;
        this.engine = engine;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String skipReason(RunContext ctx) {
        return ctx.model.output() == ModelStrategy.Output.TEXT ? "a completion has no files to store" : null;
    }

    @Override
    public Uni<Produced> run(RunContext ctx, Produced before) {
        long t0 = ctx.begin(NAME, 85, null);
        Uni<FalResult> result = before.inferResult() != null ? Uni.createFrom().item(before.inferResult()) : fetchAgain(ctx);
        return result.chain(r -> {
            List<FalImage> images = ctx.model.outputs(r.body());
            if (images.isEmpty()) {
                return Uni.createFrom().failure(new FalException(200, "no_output", "fal returned no images", null, false));
            }
            return Multi.createFrom().range(0, images.size())
                    .onItem().transformToUniAndConcatenate(i -> outputs.store(ctx, ai.atelier.storage.StorageKeys.outputBase(ctx.job.tenant, ctx.job.id, i), images.get(i), "output"))
                    .collect().asList()
                    .map(files -> {
                        ctx.succeeded(NAME, t0, Map.of("files", files.size()));
                        return before.withOutputs(files);
                    });
        });
    }

    private Uni<FalResult> fetchAgain(RunContext ctx) {
        FalRequest last = ctx.job.falRequests.last(InferStage.NAME).orElse(null);
        if (last == null) {
            return Uni.createFrom().failure(new StageFailed("no_output", "The infer stage left no fal request to store the outputs of"));
        }
        return engine.durably(ctx, "fetch the fal result again", () -> fal.result(last.endpoint(), last.requestId())).emitOn(ctx::onContext);
    }
}
