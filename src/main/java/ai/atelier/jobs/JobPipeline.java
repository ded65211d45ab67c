package ai.atelier.jobs;

import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
import ai.atelier.llm.LlmAnswer;
import ai.atelier.models.FalCall;
import ai.atelier.models.ModelCatalog;
import ai.atelier.models.LlmCompletion;
import ai.atelier.models.ModelStrategy;
import ai.atelier.prompts.Categories;
import ai.atelier.prompts.Prompts;
import ai.atelier.prompts.Style;
import ai.atelier.progress.Progress;
import ai.atelier.progress.ProgressStore;
import ai.atelier.storage.ObjectStore;
import ai.atelier.webhooks.Webhooks;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * A job's stages after ingest, one {@code Uni} each, top to bottom: categorise → prompt → infer →
 * store → finish (a product shoot runs prompt, infer and store per style, see {@link ProductShoots}).
 * Each stage records its status, duration and cost in the row's {@code stages}; a retried job skips
 * what earlier runs already paid for. No stage blocks a thread and no transaction is held across a call to fal or S3.
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
    private final StageLog stageLog;
    private final FalCalls calls;
    private final ProductShoots shoots;
    private final Pool pool;
    private final FalWaits waits;

    public JobPipeline(ModelCatalog models, FalClient fal, ObjectStore store, ProgressStore progress, Webhooks webhooks,
            FalCompletions completions, AtelierConfig config, StageLog stageLog, FalCalls calls, ProductShoots shoots, Pool pool, FalWaits waits) {
        this.waits = waits;
        this.stageLog = stageLog;
        this.calls = calls;
        this.shoots = shoots;
        this.pool = pool;
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

    /** A stage ended the job with a reason of its own (an unusable LLM answer, an empty prompt…). */
    public static final class StageFailed extends RuntimeException {
        final String code;

        public StageFailed(String code, String message) {
            super(message, null, false, false);
            this.code = code;
        }
    }

    /**
     * Runs (or resumes) a job to a terminal state; never fails: a failure is recorded on the job.
     *
     * @param stillOwned answers whether this instance still holds the job's lease; asked before paying fal
     * @param settled called once the job only waits for fal (its database-heavy start is over), so the
     *        runner may start another one
     */
    public Uni<Void> run(UUID id, Supplier<Uni<Boolean>> stillOwned, Runnable settled) {
        return Panache.withSession(() -> Job.<Job>findById(id))
                .chain(job -> job == null || job.status.terminal() ? Uni.createFrom().voidItem() : stages(job, stillOwned, settled))
                .onFailure(LeaseLost.class).invoke(e -> Log.infof("job %s: lease lost; left to its new owner", id))
                .onFailure(LeaseLost.class).recoverWithNull()
                .onFailure(Cancelled.class).invoke(e -> Log.infof("job %s: cancelled while running; outputs not stored", id))
                .onFailure(Cancelled.class).recoverWithNull()
                .onFailure(FalWaits.Parked.class).recoverWithNull()
                .onFailure().recoverWithUni(failure -> fail(id, failure));
    }

    private Uni<Void> stages(Job job, Supplier<Uni<Boolean>> stillOwned, Runnable settled) {
        if (job.falRequestId != null) {
            // resuming (from parking or after a crash): only while the lease is still this instance's
            return stillOwned.get().chain(owned -> {
                if (!owned) {
                    return Uni.createFrom().failure(new LeaseLost(job.id));
                }
                return stagesOwned(job, stillOwned, settled);
            });
        }
        return stagesOwned(job, stillOwned, settled);
    }

    private Uni<Void> stagesOwned(Job job, Supplier<Uni<Boolean>> stillOwned, Runnable settled) {
        ModelStrategy model = models.require(job.model);
        if (Job.KIND_SHOOT.equals(job.kind)) {
            return start(job)
                    .chain(() -> categorise(job, stillOwned))
                    .invoke(settled)
                    .chain(() -> shoots.run(job, model, stillOwned))
                    .chain(outcome -> finishShoot(job, outcome));
        }
        return start(job)
                .chain(() -> categorise(job, stillOwned))
                .chain(() -> prompt(job, model, stillOwned))
                .chain(() -> infer(job, model, stillOwned, settled))
                .call(() -> notCancelled(job.id))
                .chain(result -> model.output() == ModelStrategy.Output.TEXT
                        ? finishText(job, result)
                        : storeOutputs(job, FalImage.read(result)).chain(outputs -> finish(job, outputs)));
    }

    private static final String START = """
            update jobs set status = 'running', stage = case when stage in ('ingest', 'queued') then 'start' else stage end,
                   progress = greatest(progress, 12), started_at = coalesce(started_at, now()),
                   updated_at = now()
            where id = $1 and status in ('queued', 'running')""";

    private Uni<Void> start(Job job) {
        Log.infof("job %s: running %s (%s)", job.id, job.model, job.falRequestId == null ? "new" : "resuming fal request " + job.falRequestId);
        return pool.preparedQuery(START).execute(Tuple.of(job.id))
                .invoke(rows -> {
                    if (rows.rowCount() == 0) {
                        throw new Cancelled(job.id); // cancelled between claim and start
                    }
                })
                .call(() -> job.startedAt == null && job.webhookUrl != null ? webhooks.enqueue(job.id, "started") : Uni.createFrom().voidItem())
                // a resumed job (back from parking, or after a crash) keeps the progress it had reached
                .chain(() -> job.falRequestId != null ? Uni.createFrom().voidItem()
                        : report(job.id, JobStatus.RUNNING, "start", 12, "Starting", null, List.of()));
    }

    /**
     * Seed 002's categorisation: the vision model sorts the product photo into nine categories, stored on
     * the job. Runs when the request asks for it; a retried job keeps the categories it already paid for.
     */
    private Uni<Void> categorise(Job job, Supplier<Uni<Boolean>> stillOwned) {
        if (!Boolean.TRUE.equals(job.options.get("categorise"))) {
            return job.stages.containsKey("categorise") ? Uni.createFrom().voidItem() : stageLog.skipped(job.id, "categorise", "not requested");
        }
        if (job.categories != null) {
            return Uni.createFrom().voidItem(); // paid for by an earlier run: its record stays as it was
        }
        String visionModel = option(job, "vision_model", config.llm().visionModel());
        long t0 = System.nanoTime();
        return stageLog.begin(job.id, "categorise", 15)
                .chain(() -> report(job.id, JobStatus.RUNNING, "categorise", 15, "Looking at the product", null, List.of()))
                .chain(() -> inputUrls(job, 1))
                .chain(urls -> calls.once(job.id, "categorise", LlmCompletion.VISION,
                        () -> Categories.visionRequest(visionModel, config.llm().visionTemperature(), config.llm().visionMaxTokens(), urls),
                        FalCalls.recorded(stageEntry(job, "categorise"), "fal_request_id"), stillOwned,
                        rid -> stageLog.merge(job.id, "categorise", new JsonObject().put("fal_request_id", rid).put("model", visionModel))))
                .chain(result -> {
                    LlmAnswer answer = LlmAnswer.of(result, visionModel);
                    Categories.Parsed parsed;
                    try {
                        parsed = Categories.parse(answer.requireOutput("the vision model"));
                    } catch (Categories.Unusable e) {
                        return stageLog.merge(job.id, "categorise", answer.measured())
                                .chain(() -> Uni.createFrom().failure(new StageFailed("categories_unusable", e.getMessage())));
                    }
                    job.categories = new LinkedHashMap<>(parsed.values());
                    JsonObject measured = answer.measured().put("missing_keys", new JsonArray(parsed.missing()));
                    return pool.preparedQuery("update jobs set categories = $2, updated_at = now() where id = $1")
                            .execute(Tuple.of(job.id, new JsonObject(new LinkedHashMap<>(parsed.values()))))
                            .chain(() -> stageLog.succeeded(job.id, "categorise", t0, measured))
                            .invoke(() -> Log.infof("job %s: categories %s (%s, $%s)", job.id, parsed.values(), visionModel, answer.cost()));
                });
    }

    /**
     * Writes the prompt fal receives: a template by default, or an LLM from the categories and the style.
     * Stored on the job and logged once at INFO with the model and its parameters (never a key or a data
     * URL: images are not part of either).
     */
    private Uni<Void> prompt(Job job, ModelStrategy model, Supplier<Uni<Boolean>> stillOwned) {
        if (!model.acceptsPrompt()) {
            return job.stages.containsKey("prompt") ? Uni.createFrom().voidItem()
                    : stageLog.skipped(job.id, "prompt", "model " + model.id() + " takes no prompt");
        }
        if (job.finalPrompt != null) {
            return Uni.createFrom().voidItem(); // written by an earlier run: its record stays as it was
        }
        if (model.output() == ModelStrategy.Output.TEXT || job.inputs.items().stream().anyMatch(f -> "reference".equals(f.role()))) {
            // a completion's prompt is the question itself; a reference background photo replaces the prompt
            return savePrompt(job, model, job.prompt, System.nanoTime(), new JsonObject().put("mode", "client"));
        }
        Style style = styleOf(job.options.get("style"));
        long t0 = System.nanoTime();
        Uni<Void> begin = stageLog.begin(job.id, "prompt", 20).chain(() -> report(job.id, JobStatus.RUNNING, "prompt", 20, "Writing the prompt", null, List.of()));
        if (!"llm".equals(job.options.get("prompt_mode"))) {
            String text = Prompts.template(style, job.categories, job.prompt);
            if (text.isBlank()) {
                return begin.chain(() -> Uni.createFrom().failure(new StageFailed("missing_prompt", "There is no prompt: give one, or a style")));
            }
            return begin.chain(() -> savePrompt(job, model, text, t0, new JsonObject().put("mode", "template")));
        }
        String promptModel = option(job, "prompt_model", config.llm().promptModel());
        return begin.chain(() -> writeWithLlm(job.id, "prompt", style, job.categories, job.prompt, promptModel,
                FalCalls.recorded(stageEntry(job, "prompt"), "fal_request_id"), stillOwned,
                rid -> stageLog.merge(job.id, "prompt", new JsonObject().put("fal_request_id", rid).put("model", promptModel))))
                .chain(written -> savePrompt(job, model, written.text(), t0, written.answer().measured().put("mode", "llm")));
    }

    /** A prompt written by the prompt LLM, and what it cost. */
    record Written(String text, LlmAnswer answer) {
    }

    /** Asks the prompt LLM (durably) for one prompt; an empty answer is a failure, not a silent template. */
    Uni<Written> writeWithLlm(UUID id, String what, Style style, Map<String, Object> categories, String clientPrompt, String promptModel,
            String recordedRequestId, Supplier<Uni<Boolean>> stillOwned, java.util.function.Function<String, Uni<Void>> record) {
        return calls.once(id, what, LlmCompletion.ROUTER,
                () -> Prompts.writerRequest(style, categories, clientPrompt, promptModel, config.llm().promptTemperature()), recordedRequestId,
                stillOwned, record)
                .map(result -> {
                    LlmAnswer answer = LlmAnswer.of(result, promptModel);
                    String text = answer.requirePrompt();
                    return new Written(text, answer);
                });
    }

    private Uni<Void> savePrompt(Job job, ModelStrategy model, String text, long t0, JsonObject measured) {
        job.finalPrompt = text;
        Map<String, Object> sent = new LinkedHashMap<>(job.params);
        sent.putAll(model.locked());
        Log.infof("job %s: prompt for %s (%s) with %s: %s", job.id, model.id(), String.join(" → ", model.endpoints()), sent, text);
        return pool.preparedQuery("update jobs set final_prompt = $2, updated_at = now() where id = $1").execute(Tuple.of(job.id, text))
                .chain(() -> stageLog.succeeded(job.id, "prompt", t0, measured));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> stageEntry(Job job, String stage) {
        return job.stages != null && job.stages.get(stage) instanceof Map<?, ?> m ? (Map<String, Object>) m : null;
    }

    /** A string option of the request, or the configured default. */
    static String option(Job job, String key, String fallback) {
        return job.options.get(key) instanceof String s && !s.isBlank() ? s : fallback;
    }

    static Style styleOf(Object o) {
        if (o instanceof Map<?, ?> m && m.get("description") instanceof String d) {
            return new Style(m.get("name") instanceof String n ? n : "Custom", d);
        }
        return null;
    }

    /** Runs each fal call of the model's plan through the queue; each call gets the previous call's outputs. */
    private Uni<JsonObject> infer(Job job, ModelStrategy model, Supplier<Uni<Boolean>> stillOwned, Runnable settled) {
        String prompt = job.finalPrompt != null ? job.finalPrompt : job.prompt;
        int images = Math.min(job.inputs.items().size(), model.maxImages());
        List<FalCall> plan = model.plan(prompt, job.params, images);
        long t0 = System.nanoTime();
        Uni<Void> begin = job.falRequestId != null
                ? Uni.createFrom().voidItem() // resuming: the stage began in an earlier run
                : stageLog.begin(job.id, "infer", 25).chain(() -> report(job.id, JobStatus.RUNNING, "infer", 25, null, null, List.of()));
        return begin
                // resuming: the request was submitted with its inputs already; reading them again (from S3 in
                // data-url mode) would only add a way to fail
                .chain(() -> job.falRequestId != null ? Uni.createFrom().item(List.<String>of()) : inputUrls(job, model.maxImages()))
                // resuming a later call of the plan: its request was submitted with the earlier call's outputs, only its wait is left
                .chain(urls -> step(job, plan, job.falRequestId != null ? Math.min(job.falStep, plan.size() - 1) : 0, urls, stillOwned, settled))
                .call(result -> stageLog.succeeded(job.id, "infer", t0, new JsonObject().put("fal_request_id", job.falRequestId)
                        .put("endpoint", job.falEndpoint)));
    }

    private Uni<JsonObject> step(Job job, List<FalCall> plan, int index, List<String> imageUrls, Supplier<Uni<Boolean>> stillOwned,
            Runnable settled) {
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
                .invoke(settled)
                .chain(rid -> awaitCompletion(job, call.endpointId(), rid, index, plan.size())
                        .chain(() -> fal.result(call.endpointId(), rid)))
                .chain(result -> {
                    if (index + 1 == plan.size()) {
                        return Uni.createFrom().item(result);
                    }
                    List<FalImage> images = FalImage.read(result);
                    if (images.isEmpty()) {
                        throw new FalException(200, "no_output", "fal returned no images", null, false);
                    }
                    return step(job, plan, index + 1, images.stream().map(FalImage::url).toList(), stillOwned, settled);
                });
    }

    /** Submits and records the request id at once: a crash after this line resumes, never resubmits. */
    private Uni<String> submit(Job job, FalCall call, int index, List<String> imageUrls) {
        JsonObject payload = call.payload().apply(imageUrls);
        return fal.submit(call.endpointId(), payload, job.priority == 2 ? "low" : "normal")
                // the same statement says whether a cancel came while the submit was on its way
                .call(rid -> pool.preparedQuery("update jobs set fal_request_id = $2, fal_endpoint = $3, fal_step = $4, updated_at = now() "
                        + "where id = $1 returning status").execute(Tuple.of(job.id, rid, call.endpointId(), index))
                        .chain(rows -> calls.cancelIfCancelled(job.id, call.endpointId(), rid,
                                rows.rowCount() == 0 ? null : rows.iterator().next().getString(0))))
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
        if (waits.takeCompleted(job.id, requestId)) {
            return Uni.createFrom().voidItem(); // the poller of parked jobs just saw it COMPLETED: no need to ask again
        }
        if (waits.takeExpired(job.id, requestId)) {
            return Uni.createFrom().failure(new FalException(0, "deadline", "fal did not finish within " + config.fal().requestDeadline(), null, true));
        }
        FalProgress reporter = new FalProgress(index, steps);
        long deadline = System.nanoTime() + config.fal().requestDeadline().toNanos();
        long parkAt = System.nanoTime() + waits.parkAfter().toNanos();
        Duration interval = fal.webhooksOn() ? config.fal().webhookPollInterval() : config.fal().pollInterval();
        return poll(job, endpointId, requestId, reporter, deadline, parkAt, interval);
    }

    private Uni<Void> poll(Job job, String endpointId, String requestId, FalProgress reporter, long deadline, long parkAt, Duration interval) {
        // a status call that ran out of retries (fal down for a while) is not the job's end: fal still
        // holds the request, so wait and ask again until the request's deadline
        Uni<FalStatus> status = fal.status(endpointId, requestId)
                .onFailure(e -> e instanceof FalException f && f.retryable() && System.nanoTime() < deadline).recoverWithUni(e -> {
                    Log.warnf("job %s: fal status unavailable (%s); asking again in %s", job.id, ((FalException) e).code(), interval);
                    return Uni.createFrom().voidItem().onItem().delayIt().by(interval).replaceWith(new FalStatus("UNKNOWN", null, List.of(), null));
                });
        return status
                .call(s -> {
                    Progress p = reporter.next(s);
                    return p == null ? Uni.createFrom().voidItem() : report(job.id, p);
                })
                .chain(s -> {
                    if (s.completed()) {
                        return Uni.createFrom().voidItem();
                    }
                    if (System.nanoTime() > deadline) {
                        return Uni.createFrom().failure(new FalException(0, "deadline", "fal did not finish within "
                                + config.fal().requestDeadline(), null, true));
                    }
                    if (System.nanoTime() >= parkAt) {
                        // a long wait: give the pipeline up and leave a few fields to the poller (see FalWaits)
                        return Uni.createFrom().failure(waits.park(job.id, endpointId, requestId, reporter, deadline));
                    }
                    // the next look: after the poll interval, or when the job is due to be parked if that comes first
                    Duration untilPark = Duration.ofNanos(Math.max(1_000_000, parkAt - System.nanoTime()));
                    Uni<Void> tick = Uni.createFrom().voidItem().onItem().delayIt().by(untilPark.compareTo(interval) < 0 ? untilPark : interval);
                    Uni<Void> wake = fal.webhooksOn() ? Uni.combine().any().of(tick, completions.await(requestId)).replaceWithVoid() : tick;
                    return wake.chain(() -> poll(job, endpointId, requestId, reporter, deadline, parkAt, interval));
                });
    }

    /** The job's first {@code limit} input images as fal should fetch them (the init image first, see Ingest). */
    Uni<List<String>> inputUrls(Job job, int limit) {
        List<JobFile> inputs = job.inputs.items().subList(0, Math.min(limit, job.inputs.items().size()));
        if (config.fal().inputMode() == AtelierConfig.Fal.InputMode.PRESIGNED_URL) {
            return Uni.createFrom().item(inputs.stream().map(f -> store.presignGet(f.key())).toList());
        }
        return Multi.createFrom().iterable(inputs)
                .onItem().transformToUniAndConcatenate(f -> store.get(f.key())
                        .map(bytes -> "data:" + f.contentType() + ";base64," + Base64.getEncoder().encodeToString(bytes)))
                .collect().asList();
    }

    /** Copies each output into S3 under a fixed key; a key already there (a resumed job) is not copied twice. */
    private Uni<List<JobFile>> storeOutputs(Job job, List<FalImage> images) {
        if (images.isEmpty()) {
            return Uni.createFrom().failure(new FalException(200, "no_output", "fal returned no images", null, false));
        }
        long t0 = System.nanoTime();
        return stageLog.begin(job.id, "store", 85)
                .chain(() -> report(job.id, JobStatus.RUNNING, "store", 85, null, null, List.of()))
                .chain(() -> Multi.createFrom().range(0, images.size())
                        .onItem().transformToUniAndConcatenate(i -> storeOne(job.id, "jobs/" + job.id + "/outputs/" + i, images.get(i), "output"))
                        .collect().asList())
                .call(files -> stageLog.succeeded(job.id, "store", t0, new JsonObject().put("files", files.size())));
    }

    /** Fails with {@link Cancelled} when the row says the job was cancelled. */
    Uni<Void> notCancelled(UUID id) {
        return pool.preparedQuery("select status from jobs where id = $1").execute(Tuple.of(id)).invoke(rows -> {
            if (rows.rowCount() == 0 || "cancelled".equals(rows.iterator().next().getString(0))) {
                throw new Cancelled(id);
            }
        }).replaceWithVoid();
    }

    /** Copies one fal output to S3 under a fixed key (plus its extension); a resumed job finds it there and copies nothing. */
    Uni<JobFile> storeOne(UUID jobId, String keyBase, FalImage image, String role) {
        return fal.download(image.url()).call(() -> notCancelled(jobId)).chain(bytes -> {
            ImageInfo info = ImageInfo.sniff(bytes).orElseThrow(() -> new FalException(200, "invalid_output",
                    "fal output " + keyBase.substring(keyBase.lastIndexOf('/') + 1) + " is not a PNG, JPEG or WebP image", null, false));
            String key = keyBase + "." + info.extension();
            JobFile file = new JobFile(key, info.contentType(), info.width(), info.height(), bytes.length, role);
            return store.size(key).chain(size -> size != null && size == bytes.length
                    ? Uni.createFrom().item(file)
                    : store.put(key, bytes, info.contentType()).replaceWith(file));
        });
    }

    private Uni<Void> finish(Job job, List<JobFile> outputs) {
        return succeed(job, j -> j.outputs = JobFiles.of(outputs))
                .invoke(() -> Log.infof("job %s: succeeded with %d output(s)", job.id, outputs.size()));
    }

    /** The job's end when all went well: the row (with what {@code result} adds), live progress, the client's webhook. */
    private Uni<Void> succeed(Job job, Consumer<Job> result) {
        return update(job.id, j -> {
            if (j.status.terminal()) {
                throw new Cancelled(job.id); // cancelled while the last output was being copied
            }
            j.status = JobStatus.SUCCEEDED;
            j.stage = "finish";
            j.progress = 100;
            result.accept(j);
            j.finishedAt = Instant.now();
        }).chain(() -> report(job.id, JobStatus.SUCCEEDED, "finish", 100, "Done", null, List.of()))
                .call(() -> job.webhookUrl == null ? Uni.createFrom().voidItem() : webhooks.enqueue(job.id, "completed"));
    }

    /** An LLM completion's end: the answer, its usage and cost go on the job; an empty answer is a failure. */
    private Uni<Void> finishText(Job job, JsonObject result) {
        String llmModel = result.getString("model", job.params.getOrDefault("model", LlmCompletion.DEFAULT_MODEL).toString());
        LlmAnswer answer = LlmAnswer.of(result, llmModel);
        answer.requireOutput("the model");
        Map<String, Object> stored = answer.asResult();
        return stageLog.merge(job.id, "infer", answer.measured())
                .chain(() -> succeed(job, j -> j.result = stored))
                .invoke(() -> Log.infof("job %s: completion of %d characters (%s tokens, $%s)", job.id, answer.output().length(),
                        answer.totalTokens(), answer.cost()));
    }

    /** A shoot succeeds when at least one style was generated; the others' errors are listed, not fatal. */
    private Uni<Void> finishShoot(Job job, ProductShoots.Outcome outcome) {
        if (outcome.outputs().isEmpty()) {
            return Uni.createFrom().failure(new StageFailed("no_style_generated", "None of the " + outcome.requested()
                    + " styles was generated: " + outcome.errorSummary()));
        }
        return finish(job, outcome.outputs());
    }

    private static final String MARK_FAILED_STAGE = """
            update jobs set stages = jsonb_set(stages, array[stage], coalesce(stages -> stage, '{}'::jsonb) || $2::jsonb)
            where id = $1 and status in ('queued', 'running') and stage is not null and stage not in ('ingest', 'queued', 'finish')""";

    private Uni<Void> fail(UUID id, Throwable failure) {
        Failure why = Failure.of(failure, "while running the job");
        String code = why.code();
        String message = why.message();
        Log.warnf("job %s: failed: %s: %s", id, code, message);
        if (code.equals("internal_error")) {
            Log.errorf(failure, "job %s: unexpected failure", id);
        }
        boolean[] recorded = { false };
        boolean[] hooked = { false };
        // the failed stage is marked before the status says failed: a retry (allowed only once failed) always finds it
        JsonObject mark = new JsonObject().put("status", "failed").put("error", new JsonObject().put("code", code).put("message", message));
        return pool.preparedQuery(MARK_FAILED_STAGE).execute(Tuple.of(id, mark)).replaceWithVoid()
                .chain(() -> update(id, j -> {
                    if (j.status.terminal()) {
                        return; // cancelled meanwhile: the cancellation is the job's end, not this failure
                    }
                    recorded[0] = true;
                    hooked[0] = j.webhookUrl != null;
                    j.status = JobStatus.FAILED;
                    j.errorCode = code;
                    j.errorMessage = message;
                    j.finishedAt = Instant.now();
                }))
                .chain(() -> recorded[0] ? report(id, JobStatus.FAILED, "finish", 100, message, null, List.of())
                        .call(() -> hooked[0] ? webhooks.enqueue(id, "failed") : Uni.createFrom().voidItem()) : Uni.createFrom().voidItem())
                .onFailure().invoke(e -> Log.errorf(e, "job %s: could not record its failure", id))
                .onFailure().recoverWithNull().replaceWithVoid();
    }

    private Uni<Void> update(UUID id, Consumer<Job> change) {
        return Panache.withTransaction(() -> Job.<Job>findById(id).invoke(j -> {
            change.accept(j);
            j.updatedAt = Instant.now();
        })).replaceWithVoid();
    }

    private Uni<Void> report(UUID id, JobStatus status, String stage, int percent, String message, Integer queuePosition,
            List<String> logs) {
        return report(id, new Progress(status.wire(), stage, percent, message, queuePosition, logs, Instant.now()));
    }

    private Uni<Void> report(UUID id, Progress p) {
        return progress.put(id, p)
                .onFailure().invoke(e -> Log.warnf("job %s: progress not written to Redis: %s", id, e.getMessage()))
                .onFailure().recoverWithNull();
    }
}
