package ai.atelier.jobs.engine;

import ai.atelier.fal.FalImage;
import ai.atelier.jobs.JobFile;
import ai.atelier.models.ModelStrategy;
import io.smallrye.mutiny.Uni;

/**
 * How one kind of output (pictures, a video) gets from fal's file URL into S3, checked: the store stage takes the
 * writer of the kind the model's strategy declares ({@link ModelStrategy#output()}), so a new kind of model is a new
 * writer, never a branch on a model's name. Each writer stores under a fixed key (the base plus its extension), so a
 * step run again overwrites instead of adding.
 */
interface OutputWriter {

    /** The output kind this writer stores. */
    ModelStrategy.Output kind();

    /** Copies one of fal's files to {@code keyBase} plus its extension, checked; a file that fails its check fails the job {@code invalid_output}. */
    Uni<JobFile> store(RunContext ctx, String keyBase, FalImage file, String role);
}
