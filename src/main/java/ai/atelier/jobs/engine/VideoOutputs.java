package ai.atelier.jobs.engine;

import jakarta.inject.Singleton;

import ai.atelier.fal.FalImage;
import ai.atelier.ingest.VideoInfo;
import ai.atelier.jobs.JobFile;
import ai.atelier.jobs.StageFailed;
import ai.atelier.models.ModelStrategy;
import ai.atelier.storage.ObjectStore;
import ai.atelier.storage.VideoCopier;
import io.smallrye.mutiny.Uni;

/**
 * Stores a video model's clip: streamed from fal's file URL into an S3 multipart upload ({@link VideoCopier}), so a
 * clip of any size (up to {@code atelier.video.max-bytes}) is never held in memory, checked from its boxes as it
 * passes, and recorded with the length, size and sound track its boxes give. A file that is no MP4, shorter than fal's
 * {@code file_size}, or gone from fal's CDN (an expired URL) fails the job {@code invalid_output} and leaves nothing in
 * the bucket; an S3 failure is an outage, ridden out like any other ({@link Engine#durably}).
 */
@Singleton
class VideoOutputs implements OutputWriter {

    private final VideoCopier copier;
    private final Engine engine;

    VideoOutputs(VideoCopier copier, Engine engine) {
        this.copier = copier;
        this.engine = engine;
    }

    @Override
    public ModelStrategy.Output kind() {
        return ModelStrategy.Output.VIDEO;
    }

    @Override
    public Uni<JobFile> store(RunContext ctx, String keyBase, FalImage file, String role) {
        String key = keyBase + ".mp4";
        String name = key.substring(key.lastIndexOf('/') + 1);
        if (file.url() == null) {
            return Uni.createFrom().failure(new StageFailed("invalid_output", "fal's result names no file for " + name));
        }
        return engine.durably(ctx, "store video " + name, () -> Uni.createFrom().deferred(() -> {
            ctx.ensureActive(); // cancelled before the copy: nothing may reach S3
            return copier.copy(file.url(), file.fileSize(), key);
        }).emitOn(ctx::onContext).onFailure(VideoCopier.Failed.class).transform(e -> {
            VideoCopier.Failed f = (VideoCopier.Failed) e;
            // S3 failing is an outage (tried again, the copy aborted each time); anything else is the file's own fault:
            // fetching a refused, short or expired file again gives the same answer
            return f.reason() == VideoCopier.Failed.Reason.STORAGE ? new ObjectStore.Unavailable(f.getMessage())
                    : new StageFailed("invalid_output", "fal output " + name + " is not a usable video: " + f.getMessage());
        })).map(copied -> {
            VideoInfo v = copied.video();
            double seconds = Math.round(v.seconds() * 1000) / 1000.0;
            return new JobFile(key, VideoInfo.CONTENT_TYPE, v.width() > 0 ? v.width() : null, v.height() > 0 ? v.height() : null, copied.bytes(),
                    role, seconds, v.hasAudio());
        });
    }
}
