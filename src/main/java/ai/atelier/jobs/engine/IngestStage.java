package ai.atelier.jobs.engine;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;

import ai.atelier.ingest.Ingest;
import ai.atelier.jobs.JobFile;
import ai.atelier.jobs.JobFiles;
import ai.atelier.jobs.JobRepository;
import ai.atelier.jobs.StageFailed;
import ai.atelier.problem.Problem;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;

/**
 * Fetches and stores the inputs a job was accepted without: a batch item's http(s) images (a batch of 10,000 is not
 * 10,000 fetches at accept; its URLs were only checked against the URL guard then). Every other job's inputs were
 * stored at submit, and the stage is skipped. Durable like the others: a run that stored the inputs but died before
 * the stage was recorded finds them on the row; one that died before fetches again into the same keys.
 */
@Singleton
class IngestStage implements Stage {

    static final String NAME = "ingest";
    /** The option under which a job keeps the inputs still to fetch: [{url, role}], the init image first. */
    static final String PENDING = "pending_inputs";

    private final Ingest ingest;
    private final JobRepository jobs;
    private final Engine engine;

    IngestStage(Ingest ingest, JobRepository jobs, Engine engine) {
        this.ingest = ingest;
        this.jobs = jobs;
        this.engine = engine;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String skipReason(RunContext ctx) {
        return ctx.job.options.get(PENDING) instanceof List<?> l && !l.isEmpty() ? null : "inputs stored at submit";
    }

    @Override
    public Uni<Produced> run(RunContext ctx, Produced before) {
        long t0 = ctx.begin(NAME, 5, "Fetching the input images");
        if (!ctx.job.inputs.items().isEmpty()) {
            // an earlier run stored them and recorded them on the row before it stopped
            ctx.succeeded(NAME, t0, Map.of("inputs", ctx.job.inputs.items().size()));
            return Uni.createFrom().item(before);
        }
        List<Ingest.Source> sources = new ArrayList<>();
        for (Object o : (List<?>) ctx.job.options.get(PENDING)) {
            Map<?, ?> m = (Map<?, ?>) o;
            sources.add(Ingest.Source.url(String.valueOf(m.get("url")), String.valueOf(m.get("role"))));
        }
        return engine.copying(ctx, () -> ingest.ingest(ctx.job.tenant, ctx.job.id, sources))
                // an image the run cannot use ends the job with the reason a submit would have answered
                .onFailure(Problem.class).transform(e -> new StageFailed(((Problem) e).slug().replace('-', '_'), e.getMessage()))
                .chain(files -> {
                    Map<String, Object> init = ctx.job.initImage == null ? null : new LinkedHashMap<>(ctx.job.initImage);
                    if (init != null && !files.isEmpty()) {
                        init.put("input_key", files.get(0).key());
                    }
                    return engine.durably(ctx, "record the inputs", () -> jobs.storeInputs(ctx.job.id, ctx.owner, JobFiles.of(files), init))
                            .map(won -> {
                                if (!won) {
                                    throw new RunContext.Stopped(RunContext.Stop.CANCELLED);
                                }
                                ctx.job.inputs = JobFiles.of(files);
                                ctx.job.initImage = init;
                                ctx.succeeded(NAME, t0, Map.of("inputs", files.size(), "bytes", files.stream().mapToLong(JobFile::bytes).sum()));
                                Log.infof("job %s: fetched and stored %d input(s)", ctx.job.id, files.size());
                                return before;
                            });
                });
    }
}
