package ai.atelier.jobs.engine;


import jakarta.inject.Singleton;

import ai.atelier.fal.FalClient;
import ai.atelier.fal.FalException;
import ai.atelier.fal.FalImage;
import ai.atelier.ingest.ImageInfo;
import ai.atelier.jobs.JobFile;
import ai.atelier.storage.ObjectStore;
import io.smallrye.mutiny.Uni;

/**
 * Copies one fal picture into S3 under a fixed key (plus its extension), so running the step again
 * (after a crash, through an outage) overwrites the same object instead of adding one. Download and
 * upload are one step: while S3 is down the run holds no output bytes, it fetches them again when it
 * tries again (fal keeps them for days).
 */
@Singleton
class Outputs implements OutputWriter {

    private final FalClient fal;
    private final ObjectStore store;
    private final Engine engine;

    Outputs(FalClient fal, ObjectStore store, Engine engine) {
        this.fal = fal;
        this.store = store;
        this.engine = engine;
    }

    @Override
    public ai.atelier.models.ModelStrategy.Output kind() {
        return ai.atelier.models.ModelStrategy.Output.IMAGES;
    }

    @Override
    public Uni<JobFile> store(RunContext ctx, String keyBase, FalImage image, String role) {
        return engine.durably(ctx, "store output " + keyBase.substring(keyBase.lastIndexOf('/') + 1), () -> engine.copying(ctx, () -> fal.download(image.url())
                .emitOn(ctx::onContext)
                .chain(bytes -> {
                    ctx.ensureActive(); // cancelled while it downloaded: its outputs must never reach S3
                    ImageInfo.Checked checked = ImageInfo.check(bytes);
                    if (!checked.ok()) {
                        throw new FalException(200, "invalid_output", "fal output " + keyBase.substring(keyBase.lastIndexOf('/') + 1)
                                + " is not a usable image: " + checked.refusal(), null, false);
                    }
                    ImageInfo info = checked.image();
                    byte[] kept = info.strip(bytes);
                    String key = keyBase + "." + info.extension();
                    JobFile file = new JobFile(key, info.contentType(), info.width(), info.height(), kept.length, role);
                    return store.put(key, kept, info.contentType()).emitOn(ctx::onContext).replaceWith(file);
                })));
    }

    /** Removes what a run stored for a job that turned out cancelled (or another's) at its end. */
    Uni<Void> discard(java.util.List<JobFile> files) {
        return store.deleteEach(files.stream().map(JobFile::key).toList());
    }
}
