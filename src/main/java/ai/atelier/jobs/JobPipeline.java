package ai.atelier.jobs;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.Supplier;

import jakarta.enterprise.context.ApplicationScoped;

import ai.atelier.config.AtelierConfig;
import ai.atelier.fal.FalClient;
import ai.atelier.fal.FalCompletions;
import ai.atelier.fal.FalException;
import ai.atelier.fal.FalImage;
import ai.atelier.fal.FalStatus;
import ai.atelier.ingest.ImageInfo;
import ai.atelier.models.FalCall;
import ai.atelier.models.ModelCatalog;
import ai.atelier.models.ModelStrategy;
import ai.atelier.problem.Problem;
import ai.atelier.progress.Progress;
import ai.atelier.progress.ProgressStore;
import ai.atelier.storage.ObjectStore;
import ai.atelier.webhooks.Webhooks;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;

/**
 * A job's stages after ingest, one {@code Uni} each, top to bottom: categorise → prompt → infer →
 * store → finish. No stage blocks a thread and no transaction is held across a call to fal or S3.
 * A job that already has a fal request id resumes polling it instead of paying fal again, and the
 * store stage skips outputs already copied, so running a job again after a crash is safe.
 */
@ApplicationScoped
public class JobPipeline {

    private final ModelCatalog models;
    private final FalClient fal;
    private final ObjectStore store;
    private final ProgressStore progress;
    private final AtelierConfig config;
    private final Webhooks webhooks;
    private final FalCompletions completions;

    public JobPipeline(ModelCatalog models, FalClient fal, ObjectStore store, ProgressStore progress, Webhooks webhooks,
            FalCompletions completions, AtelierConfig config) {
        this.completions = completions;
        this.webhooks = webhooks;
        this.models = models;
        this.fal = fal;
        this.store = store;
        this.progress = progress;
        this.config = config;
    }

    /** Thrown when this instance no longer holds the job's lease: another one has it, so stop without a trace. */
    static final class LeaseLost extends RuntimeException {
        LeaseLost(UUID id) {
            super("lease on job " + id + " lost", null, false, false);
        }
    }

    /** Thrown when the job was cancelled while it ran: stop, store nothing, record nothing more. */
    static final class Cancelled extends RuntimeException {
        Cancelled(UUID id) {
            super("job " + id + " was cancelled", null, false, false);
        }
    }

    /**
     * Runs (or resumes) a job to a terminal state; never fails: a failure is recorded on the job.
     *
     * @param stillOwned answers whether this instance still holds the job's lease; asked before paying fal
     */
    public Uni<Void> run(UUID id, Supplier<Uni<Boolean>> stillOwned) {
        return Panache.withSession(() -> Job.<Job>findById(id))
                .chain(job -> job == null || job.status.terminal() ? Uni.createFrom().voidItem() : stages(job, stillOwned))
                .onFailure(LeaseLost.class).invoke(e -> Log.infof("job %s: lease lost; left to its new owner", id))
                .onFailure(LeaseLost.class).recoverWithNull()
                .onFailure(Cancelled.class).invoke(e -> Log.infof("job %s: cancelled while running; outputs not stored", id))
                .onFailure(Cancelled.class).recoverWithNull()
                .onFailure().recoverWithUni(failure -> fail(id, failure));
    }

    private Uni<Void> stages(Job job, Supplier<Uni<Boolean>> stillOwned) {
        ModelStrategy model = models.require(job.model);
        return start(job)
                .chain(() -> categorise(job))
                .chain(() -> prompt(job))
                .chain(() -> infer(job, model, stillOwned))
                .call(() -> notCancelled(job.id))
                .chain(images -> storeOutputs(job, images))
                .chain(outputs -> finish(job, outputs));
    }

    private Uni<Void> start(Job job) {
        Log.infof("job %s: running %s (%s)", job.id, job.model, job.falRequestId == null ? "new" : "resuming fal request " + job.falRequestId);
        Instant now = Instant.now();
        return Panache.withTransaction(() -> Job.update("status = ?1, stage = ?2, progress = ?3, startedAt = coalesce(startedAt, ?4), "
                + "updatedAt = ?4 where id = ?5 and status in ?6", JobStatus.RUNNING, "categorise", 12, now, job.id,
                List.of(JobStatus.QUEUED, JobStatus.RUNNING)))
                .invoke(updated -> {
                    if (updated == 0) {
                        throw new Cancelled(job.id); // cancelled between claim and start
                    }
                })
                .call(() -> job.startedAt == null && job.webhookUrl != null ? webhooks.enqueue(job.id, "started") : Uni.createFrom().voidItem())
                .chain(() -> report(job.id, JobStatus.RUNNING, "categorise", 12, "Starting", null, List.of()));
    }

    /** Pass-through for now (vision categorisation comes with product shoots): live progress only, nothing to record. */
    private Uni<Void> categorise(Job job) {
        return report(job.id, JobStatus.RUNNING, "categorise", 15, null, null, List.of());
    }

    /** Pass-through for now: the client's prompt is used as given; logged once per job, never with a key or data URL. */
    private Uni<Void> prompt(Job job) {
        Log.infof("job %s: prompt for %s with %s: %s", job.id, job.model, job.params, job.prompt);
        return report(job.id, JobStatus.RUNNING, "prompt", 20, null, null, List.of());
    }

    /** Runs each fal call of the model's plan through the queue; each call gets the previous call's outputs. */
    private Uni<List<FalImage>> infer(Job job, ModelStrategy model, Supplier<Uni<Boolean>> stillOwned) {
        List<FalCall> plan = model.plan(job.prompt, job.params);
        return stage(job.id, "infer", 25)
                .chain(() -> inputUrls(job))
                .chain(urls -> step(job, plan, 0, urls, stillOwned));
    }

    private Uni<List<FalImage>> step(Job job, List<FalCall> plan, int index, List<String> imageUrls, Supplier<Uni<Boolean>> stillOwned) {
        FalCall call = plan.get(index);
        Uni<String> requestId = job.falRequestId != null && job.falStep == index && call.endpointId().equals(job.falEndpoint)
                ? Uni.createFrom().item(job.falRequestId)
                : stillOwned.get().chain(owned -> {
                    if (!owned) {
                        throw new LeaseLost(job.id);
                    }
                    return submit(job, call, index, imageUrls);
                });
        return requestId
                .chain(rid -> awaitCompletion(job, call.endpointId(), rid, index, plan.size())
                        .chain(() -> fal.result(call.endpointId(), rid)))
                .map(result -> {
                    List<FalImage> images = FalImage.read(result);
                    if (images.isEmpty()) {
                        throw new FalException(200, "no_output", "fal returned no images", null, false);
                    }
                    return images;
                })
                .chain(images -> index + 1 < plan.size()
                        ? step(job, plan, index + 1, images.stream().map(FalImage::url).toList(), stillOwned)
                        : Uni.createFrom().item(images));
    }

    /** Submits and records the request id at once: a crash after this line resumes, never resubmits. */
    private Uni<String> submit(Job job, FalCall call, int index, List<String> imageUrls) {
        JsonObject payload = call.payload().apply(imageUrls);
        return fal.submit(call.endpointId(), payload, job.priority == 2 ? "low" : "normal")
                .call(rid -> Panache.withTransaction(() -> Job.update("falRequestId = ?1, falEndpoint = ?2, falStep = ?3, updatedAt = ?4 "
                        + "where id = ?5", rid, call.endpointId(), index, Instant.now(), job.id)))
                .invoke(rid -> {
                    job.falRequestId = rid;
                    job.falEndpoint = call.endpointId();
                    job.falStep = index;
                    Log.infof("job %s: fal request %s on %s", job.id, rid, call.endpointId());
                });
    }

    /**
     * Polls fal until the request completes. With fal webhooks on, polling slows down and a webhook
     * for this request (received by any instance) wakes the wait at once; polling then only reconciles
     * webhooks that never came.
     */
    private Uni<Void> awaitCompletion(Job job, String endpointId, String requestId, int index, int steps) {
        int[] logsSeen = { 0 };
        String[] lastReported = { "" };
        long deadline = System.nanoTime() + config.fal().requestDeadline().toNanos();
        Duration interval = fal.webhooksOn() ? config.fal().webhookPollInterval() : config.fal().pollInterval();
        return poll(job, endpointId, requestId, index, steps, logsSeen, lastReported, deadline, interval);
    }

    private Uni<Void> poll(Job job, String endpointId, String requestId, int index, int steps, int[] logsSeen, String[] lastReported,
            long deadline, Duration interval) {
        // a status call that ran out of retries (fal down for a while) is not the job's end: fal still
        // holds the request, so wait and ask again until the request's deadline
        Uni<FalStatus> status = fal.status(endpointId, requestId)
                .onFailure(e -> e instanceof FalException f && f.retryable() && System.nanoTime() < deadline).recoverWithUni(e -> {
                    Log.warnf("job %s: fal status unavailable (%s); asking again in %s", job.id, ((FalException) e).code(), interval);
                    return Uni.createFrom().voidItem().onItem().delayIt().by(interval).replaceWith(new FalStatus("UNKNOWN", null, List.of(), null));
                });
        return status
                .call(s -> {
                    // report only what changed: a new state, a new queue position, or new log lines
                    List<String> fresh = s.logs().size() > logsSeen[0] ? s.logs().subList(logsSeen[0], s.logs().size()) : List.of();
                    logsSeen[0] = Math.max(logsSeen[0], s.logs().size());
                    String signature = s.status() + "/" + s.queuePosition();
                    if (fresh.isEmpty() && signature.equals(lastReported[0])) {
                        return Uni.createFrom().voidItem();
                    }
                    lastReported[0] = signature;
                    return report(job.id, JobStatus.RUNNING, "infer", percent(s, index, steps), describe(s), s.queuePosition(), List.copyOf(fresh));
                })
                .chain(s -> {
                    if (s.completed()) {
                        return Uni.createFrom().voidItem();
                    }
                    if (System.nanoTime() > deadline) {
                        return Uni.createFrom().failure(new FalException(0, "deadline", "fal did not finish within "
                                + config.fal().requestDeadline(), null, true));
                    }
                    Uni<Void> tick = Uni.createFrom().voidItem().onItem().delayIt().by(interval);
                    Uni<Void> wake = fal.webhooksOn() ? Uni.combine().any().of(tick, completions.await(requestId)).replaceWithVoid() : tick;
                    return wake.chain(() -> poll(job, endpointId, requestId, index, steps, logsSeen, lastReported, deadline, interval));
                });
    }

    private static int percent(FalStatus s, int index, int steps) {
        int within = s.queued() ? 0 : s.completed() ? 100 : Math.min(90, 20 + 15 * s.logs().size());
        return 25 + (55 * index + 55 * within / 100) / steps;
    }

    private static String describe(FalStatus s) {
        if (s.queued()) {
            return "Waiting in fal's queue" + (s.queuePosition() == null ? "" : " (position " + s.queuePosition() + ")");
        }
        return s.completed() ? "Generated" : "Generating";
    }

    private Uni<List<String>> inputUrls(Job job) {
        if (config.fal().inputMode() == AtelierConfig.Fal.InputMode.PRESIGNED_URL) {
            return Uni.createFrom().item(job.inputs.items().stream().map(f -> store.presignGet(f.key())).toList());
        }
        return Multi.createFrom().iterable(job.inputs.items())
                .onItem().transformToUniAndConcatenate(f -> store.get(f.key())
                        .map(bytes -> "data:" + f.contentType() + ";base64," + Base64.getEncoder().encodeToString(bytes)))
                .collect().asList();
    }

    /** Copies each output into S3 under a fixed key; a key already there (a resumed job) is not copied twice. */
    private Uni<List<JobFile>> storeOutputs(Job job, List<FalImage> images) {
        return stage(job.id, "store", 85)
                .chain(() -> Multi.createFrom().range(0, images.size())
                        .onItem().transformToUniAndConcatenate(i -> storeOne(job, i, images.get(i)))
                        .collect().asList());
    }

    /** Fails with {@link Cancelled} when the row says the job was cancelled. */
    private Uni<Void> notCancelled(UUID id) {
        return Panache.withSession(() -> Job.<Job>findById(id)).invoke(j -> {
            if (j == null || j.status == JobStatus.CANCELLED) {
                throw new Cancelled(id);
            }
        }).replaceWithVoid();
    }

    private Uni<JobFile> storeOne(Job job, int index, FalImage image) {
        return fal.download(image.url()).call(() -> notCancelled(job.id)).chain(bytes -> {
            ImageInfo info = ImageInfo.sniff(bytes).orElseThrow(() -> new FalException(200, "invalid_output",
                    "fal output " + (index + 1) + " is not a PNG, JPEG or WebP image", null, false));
            String key = "jobs/" + job.id + "/outputs/" + index + "." + info.extension();
            JobFile file = new JobFile(key, info.contentType(), info.width(), info.height(), bytes.length, "output");
            return store.size(key).chain(size -> size != null && size == bytes.length
                    ? Uni.createFrom().item(file)
                    : store.put(key, bytes, info.contentType()).replaceWith(file));
        });
    }

    private Uni<Void> finish(Job job, List<JobFile> outputs) {
        return update(job.id, j -> {
            if (j.status.terminal()) {
                throw new Cancelled(job.id); // cancelled while the last output was being copied
            }
            j.status = JobStatus.SUCCEEDED;
            j.stage = "finish";
            j.progress = 100;
            j.outputs = JobFiles.of(outputs);
            j.finishedAt = Instant.now();
        }).chain(() -> report(job.id, JobStatus.SUCCEEDED, "finish", 100, "Done", null, List.of()))
                .call(() -> job.webhookUrl == null ? Uni.createFrom().voidItem() : webhooks.enqueue(job.id, "completed"))
                .invoke(() -> Log.infof("job %s: succeeded with %d output(s)", job.id, outputs.size()));
    }

    private Uni<Void> fail(UUID id, Throwable failure) {
        String code;
        String message;
        if (failure instanceof FalException f) {
            code = f.code();
            message = "fal: " + f.getMessage();
        } else if (failure instanceof Problem p) {
            code = p.slug();
            message = p.getMessage();
        } else {
            code = "internal_error";
            message = "Atelier failed while running the job (" + failure.getClass().getSimpleName() + ")";
        }
        Log.warnf("job %s: failed: %s: %s", id, code, message);
        if (code.equals("internal_error")) {
            Log.errorf(failure, "job %s: unexpected failure", id);
        }
        boolean[] recorded = { false };
        boolean[] hooked = { false };
        return update(id, j -> {
            if (j.status.terminal()) {
                return; // cancelled meanwhile: the cancellation is the job's end, not this failure
            }
            recorded[0] = true;
            hooked[0] = j.webhookUrl != null;
            j.status = JobStatus.FAILED;
            j.errorCode = code;
            j.errorMessage = message;
            j.finishedAt = Instant.now();
        }).chain(() -> recorded[0] ? report(id, JobStatus.FAILED, "finish", 100, message, null, List.of())
                .call(() -> hooked[0] ? webhooks.enqueue(id, "failed") : Uni.createFrom().voidItem()) : Uni.createFrom().voidItem())
                .onFailure().invoke(e -> Log.errorf(e, "job %s: could not record its failure", id))
                .onFailure().recoverWithNull().replaceWithVoid();
    }

    /** One UPDATE statement (no read first): stages change often and each costs a round trip. */
    private Uni<Void> stage(UUID id, String stage, int percent) {
        return Panache.withTransaction(() -> Job.update("stage = ?1, progress = ?2, updatedAt = ?3 where id = ?4",
                stage, percent, Instant.now(), id))
                .chain(() -> report(id, JobStatus.RUNNING, stage, percent, null, null, List.of()));
    }

    private Uni<Void> update(UUID id, Consumer<Job> change) {
        return Panache.withTransaction(() -> Job.<Job>findById(id).invoke(j -> {
            change.accept(j);
            j.updatedAt = Instant.now();
        })).replaceWithVoid();
    }

    private Uni<Void> report(UUID id, JobStatus status, String stage, int percent, String message, Integer queuePosition,
            List<String> logs) {
        return progress.put(id, new Progress(status.wire(), stage, percent, message, queuePosition, logs, Instant.now()))
                .onFailure().invoke(e -> Log.warnf("job %s: progress not written to Redis: %s", id, e.getMessage()))
                .onFailure().recoverWithNull();
    }
}
