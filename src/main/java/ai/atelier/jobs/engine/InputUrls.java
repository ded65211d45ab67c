package ai.atelier.jobs.engine;

import java.util.Base64;
import java.util.List;

import jakarta.inject.Singleton;

import ai.atelier.config.AtelierConfig;
import ai.atelier.jobs.Job;
import ai.atelier.jobs.JobFile;
import ai.atelier.storage.ObjectStore;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

/** A job's input images as fal should fetch them: presigned S3 GETs, or inline data URLs (atelier.fal.input-mode). */
@Singleton
class InputUrls {

    private final ObjectStore store;
    private final AtelierConfig.Fal config;

    InputUrls(ObjectStore store, AtelierConfig config) {
        this.store = store;
        this.config = config.fal();
    }

    /** The job's first {@code limit} inputs (the init image first, see Ingest). */
    Uni<List<String>> of(Job job, int limit) {
        List<JobFile> inputs = job.inputs.items().subList(0, Math.min(limit, job.inputs.items().size()));
        if (config.inputMode() == AtelierConfig.Fal.InputMode.PRESIGNED_URL) {
            return Uni.createFrom().item(inputs.stream().map(f -> store.presignGet(f.key())).toList());
        }
        return Multi.createFrom().iterable(inputs)
                .onItem().transformToUniAndConcatenate(f -> store.get(f.key())
                        .map(bytes -> "data:" + f.contentType() + ";base64," + Base64.getEncoder().encodeToString(bytes)))
                .collect().asList();
    }
}
