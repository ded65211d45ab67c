package ai.atelier.jobs;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;
import jakarta.enterprise.inject.Instance;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import ai.atelier.progress.Progress;
import ai.atelier.storage.ObjectStore;

/**
 * What a client sees of a job ({@link JobView}), built from the row and, while the job runs, its live
 * progress; and the same view in the format of the API the job came through ({@link JobViewFormat}), which
 * is what the live store keeps so that a status read is one Redis read with nothing to build.
 * Files are presigned here, once per view: a running job presigns its inputs once for all its updates.
 */
// created at start: a run handed back during shutdown still renders its view, after the container stops making beans
@io.quarkus.runtime.Startup
@Singleton
public class JobViews {

    private final ObjectStore store;
    private final ObjectMapper json;
    /** The prototypes' formats, by name and by the {@link Job#source} they are kept live for. */
    private final Map<String, JobViewFormat> byName = new java.util.HashMap<>();
    private final Map<String, JobViewFormat> bySource = new java.util.HashMap<>();

    public JobViews(ObjectStore store, ObjectMapper json, Instance<JobViewFormat> formats) {
        this.store = store;
        this.json = json;
        formats.forEach(f -> {
            byName.put(f.name(), f);
            bySource.put(f.source(), f);
        });
    }

    /** The view of a job as its row says (a finished job, or one whose live state is gone). */
    public JobView of(Job job) {
        return of(job, null, files(job.inputs.items()));
    }

    /**
     * The view of a job; {@code live}, when given, completes an unfinished row with what the run knows
     * now (stage, progress, queue position, fal's latest log lines). A terminal state comes only from the row.
     */
    public JobView of(Job job, Progress live, List<JobView.FileView> inputs) {
        boolean useLive = live != null && !job.status.terminal();
        return new JobView(job.id, job.model, Priority.word(job.priority), useLive && live.status() != null ? live.status() : job.status.wire(),
                useLive ? live.stage() : job.stage, useLive ? Math.max(live.percent(), job.progress) : job.progress,
                useLive ? live.message() : job.status == JobStatus.FAILED ? job.errorMessage : null,
                useLive ? live.queuePosition() : null, job.prompt, job.params, inputs, files(job.outputs.items()),
                job.errorCode == null ? null : new JobView.ErrorView(job.errorCode, job.errorMessage),
                job.falRequests.last("infer").map(FalRequest::requestId).orElse(job.falRequestId),
                useLive && live.logs() != null && !live.logs().isEmpty() ? live.logs() : null,
                job.createdAt, useLive && live.updatedAt() != null ? live.updatedAt() : job.updatedAt, job.finishedAt, job.deadlineAt,
                job.cancelRequestedAt == null ? null : new JobView.CancellationView(job.cancelRequestedAt, job.falCancelStatus, job.mayBeBilled),
                job.kind, ordered(job.categories), job.finalPrompt,
                job.initImage == null ? null : new JobView.InitImageView(String.valueOf(job.initImage.get("role")),
                        job.initImage.get("index") instanceof Number n ? n.intValue() : null, String.valueOf(job.initImage.get("reason"))),
                job.stages == null || job.stages.isEmpty() ? null : stagesView(job), cost(job), shootView(job), job.result,
                job.retries == 0 ? null : job.retries, job.batchId, job.customId, cacheStatus(job));
    }

    /**
     * What the result cache did for the job: the run's outcome once its fal call was looked up (a shoot: hit when every style
     * was served from the cache, else refresh or miss when one called fal for the cache, else bypass), before that what
     * the submit said. Null for a job accepted before the cache.
     */
    static String cacheStatus(Job job) {
        Object submitted = job.options == null ? null : job.options.get(ai.atelier.cache.ResultCache.OPTION) instanceof Map<?, ?> m ? m.get("status") : null;
        if (submitted == null) {
            return null;
        }
        if (Job.KIND_SHOOT.equals(job.kind)) {
            List<Object> outcomes = ShootStyles.of(job).stream().map(st -> st.get("cache")).filter(java.util.Objects::nonNull).toList();
            if (outcomes.isEmpty()) {
                return String.valueOf(submitted);
            }
            if (outcomes.size() == ShootStyles.of(job).size() && outcomes.stream().allMatch("hit"::equals)) {
                return "hit";
            }
            return outcomes.contains("refresh") ? "refresh" : outcomes.contains("miss") ? "miss" : outcomes.contains("hit") ? "miss" : "bypass";
        }
        Map<String, Object> infer = job.stageEntry("infer");
        return infer != null && infer.get("cache") instanceof String s ? s : String.valueOf(submitted);
    }

    /**
     * The view in the format of the API the job was submitted through, by format name: what the live store
     * keeps for status reads (v1 for every job no prototype's route submitted).
     */
    public Map<String, String> forLiveStore(Job job, JobView view) {
        JobViewFormat f = bySource.get(job.source);
        return f == null ? Map.of(JobViewFormat.V1, write(view)) : Map.of(f.name(), write(f.render(view)));
    }

    /** The name of the format the live store keeps for this job. */
    public String liveFormat(Job job) {
        JobViewFormat f = bySource.get(job.source);
        return f == null ? JobViewFormat.V1 : f.name();
    }

    /** The view as JSON in the format named (v1 or a prototype's). */
    public String json(JobView view, String format) {
        return JobViewFormat.V1.equals(format) ? write(view) : write(byName.get(format).render(view));
    }

    public String write(Object view) {
        try {
            return json.writeValueAsString(view);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Presigned views of stored files. */
    public List<JobView.FileView> files(List<JobFile> files) {
        return files.stream().map(f -> new JobView.FileView(store.presignGet(f.key()), f.key(), f.contentType(), f.width(), f.height(),
                f.bytes(), f.role(), f.durationSeconds(), f.hasAudio())).toList();
    }

    /**
     * The stage records as clients read them: each with the id of the fal request it made last (its home is the
     * job's fal requests; clients have always found it on the stage).
     */
    private static Map<String, Object> stagesView(Job job) {
        Map<String, Object> out = new LinkedHashMap<>();
        job.stages.forEach((name, entry) -> {
            if (entry instanceof Map<?, ?> m) {
                Map<String, Object> view = new LinkedHashMap<>();
                m.forEach((k, v) -> view.put(String.valueOf(k), v));
                // the run's own bookkeeping for the result cache (an entry's key, the stored keys of a hit's copies), not the client's
                view.remove("cache_key");
                view.remove("cache_files");
                job.falRequests.select(r -> name.equals(r.stage()) && r.style() == null).stream()
                        .max(java.util.Comparator.comparingInt(FalRequest::step))
                        .ifPresent(r -> view.put("fal_request_id", r.requestId()));
                out.put(name, view);
            } else {
                out.put(name, entry);
            }
        });
        return out;
    }

    /** The categories in seed 002's order (jsonb keeps its own key order). */
    private static Map<String, Object> ordered(Map<String, Object> categories) {
        if (categories == null) {
            return null;
        }
        Map<String, Object> out = new LinkedHashMap<>();
        ai.atelier.prompts.Categories.KEYS.forEach(k -> {
            if (categories.containsKey(k)) {
                out.put(k, categories.get(k));
            }
        });
        categories.forEach(out::putIfAbsent);
        return out;
    }

    /** What the job's fal calls cost so far, from fal's figures (the sum of its ledger rows). */
    private static Double cost(Job job) {
        if (job.costUsd != null) {
            return job.costUsd.setScale(8, RoundingMode.HALF_UP).doubleValue();
        }
        // rows from before the ledger: what the LLM stages reported
        double total = 0;
        boolean any = false;
        if (job.stages != null) {
            for (Object stage : job.stages.values()) {
                if (stage instanceof Map<?, ?> m && m.get("cost_usd") instanceof Number n) {
                    total += n.doubleValue();
                    any = true;
                }
            }
        }
        for (Map<String, Object> style : ShootStyles.of(job)) {
            if (style.get("prompt_cost_usd") instanceof Number n) {
                total += n.doubleValue();
                any = true;
            }
        }
        return any ? BigDecimal.valueOf(total).setScale(8, RoundingMode.HALF_UP).doubleValue() : null;
    }

    private JobView.ShootView shootView(Job job) {
        if (job.shoot == null) {
            return null;
        }
        List<JobView.StyleView> styles = new ArrayList<>();
        List<Map<String, String>> errors = new ArrayList<>();
        int generated = 0;
        for (Map<String, Object> st : ShootStyles.of(job)) {
            JobView.FileView output = null;
            if (st.get("output") instanceof Map<?, ?> out) {
                output = files(List.of(Columns.file(out))).get(0);
                generated++;
            }
            JobView.ErrorView error = null;
            if (st.get("error") instanceof Map<?, ?> e && e.get("message") != null) {
                error = new JobView.ErrorView(String.valueOf(e.get("code")), String.valueOf(e.get("message")));
                errors.add(Map.of("style", String.valueOf(st.get("name")), "error", error.message()));
            }
            styles.add(new JobView.StyleView(String.valueOf(st.get("name")), String.valueOf(st.get("description")), String.valueOf(st.get("status")),
                    (String) st.get("prompt"), output, error, st.get("prompt_cost_usd") instanceof Number n ? n.doubleValue() : null));
        }
        return new JobView.ShootView(styles.size(), generated, styles, errors.isEmpty() ? null : errors);
    }
}
