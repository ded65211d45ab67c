package ai.atelier.jobs;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import jakarta.inject.Singleton;

import ai.atelier.problem.Problem;
import ai.atelier.webhooks.Webhooks;
import ai.atelier.webhooks.WebhookEvent;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;

/**
 * The only writer of a job's status. Each move is one guarded statement (River's
 * {@code JobSetStateIfRunning}: {@code UPDATE … WHERE status = any(<JobStatus.sources(to)>) AND
 * lease_owner = me RETURNING …}), so a move that lost a race to a cancel or to another instance comes
 * back as a value ({@code false}, {@code null}) for the caller to handle, never as a silent overwrite.
 * The webhook delivery a move announces is written by the same statement.
 */
@Singleton
public class JobTransitions {

    /** Failures a fal request may outlive: its result may still come, so a retry waits for it instead of paying again. */
    static final Set<String> TRANSIENT = Set.of("fal_deadline", "fal_unreachable", "fal_circuit_open");

    private final JobRepository jobs;
    private final Webhooks webhooks;

    private final ai.atelier.telemetry.JobMetrics metrics;

    public JobTransitions(JobRepository jobs, Webhooks webhooks, ai.atelier.telemetry.JobMetrics metrics) {
        this.metrics = metrics;
        this.jobs = jobs;
        this.webhooks = webhooks;
    }

    /**
     * What a run writes at its next statement: the stage it is in, its progress, changed stage records,
     * results of earlier stages, and what its fal calls cost since the last statement.
     */
    public record Progress(String stage, int percent, JsonObject stagesPatch, JsonObject categories, String finalPrompt,
            JsonObject falRequests, JobRepository.Spend spend) {
    }

    /**
     * The infer stage's request, mirrored into {@code fal_request_id}/{@code fal_endpoint}/{@code fal_step} for the previous
     * version during a rolling update (every request lives in {@link FalRequests}; the mirror goes in a later release).
     */
    public record Request(String requestId, String endpoint, Integer step) {
        public static Request mirror(FalRequest r) {
            return new Request(r.requestId(), r.endpoint(), r.step());
        }
    }

    /**
     * queued|running → running, recording what the run learned and, when given, the fal request it just
     * submitted. False when the job is no longer this instance's to run (cancelled, lease lost): the
     * caller must then not pay fal, and cancels what it just submitted.
     */
    public Uni<Boolean> advance(Job job, String owner, Progress p, Request main) {
        boolean firstStart = job.startedAt == null;
        JobStatus before = job.status;
        job.status = JobStatus.RUNNING;
        if (firstStart) {
            job.startedAt = Instant.now();
        }
        WebhookEvent started = firstStart ? webhooks.event(job, "started") : null;
        return jobs.advance(job.id, owner, new JobRepository.Advance(p.stage(), p.percent(), p.stagesPatch(), p.categories(), p.finalPrompt(),
                main == null ? null : main.requestId(), main == null ? null : main.endpoint(), main == null ? null : main.step(), p.falRequests()),
                started, p.spend())
                .invoke(won -> {
                    if (won) {
                        job.updatedAt = Instant.now();
                        addCost(job, p.spend());
                    } else {
                        job.status = before;
                    }
                });
    }

    /** running → succeeded; false when the job was cancelled meanwhile or is another instance's now. */
    public Uni<Boolean> succeed(Job job, String owner, JobFiles outputs, Map<String, Object> result, Progress pending) {
        job.status = JobStatus.SUCCEEDED;
        job.stage = "finish";
        job.progress = 100;
        job.outputs = outputs;
        if (result != null) {
            job.result = result;
        }
        job.finishedAt = Instant.now();
        job.updatedAt = job.finishedAt; // the row's own: the statement sets both to the same now()
        addCost(job, pending.spend()); // the webhook tells the job's cost
        return jobs.succeed(job.id, owner, outputs, result == null ? null : new JsonObject(result), pending.stagesPatch(), pending.falRequests(),
                webhooks.event(job, "completed"), pending.spend())
                .map(at -> {
                    if (at == null) {
                        return false;
                    }
                    job.finishedAt = at;
                    job.updatedAt = at;
                    return true;
                });
    }

    /** queued|running → failed; false when the job was cancelled meanwhile (the cancellation is its end) or is not ours. */
    public Uni<Boolean> fail(Job job, String owner, Failure why, Progress pending) {
        job.status = JobStatus.FAILED;
        job.errorCode = why.code();
        job.errorMessage = why.message();
        job.finishedAt = Instant.now();
        job.updatedAt = job.finishedAt;
        addCost(job, pending.spend());
        return jobs.fail(job.id, owner, why.code(), why.message(), pending.stagesPatch(), pending.falRequests(), webhooks.event(job, "failed"),
                pending.spend())
                .map(at -> {
                    if (at == null) {
                        return false;
                    }
                    job.finishedAt = at;
                    job.updatedAt = at;
                    return true;
                });
    }

    private static void addCost(Job job, JobRepository.Spend spend) {
        if (spend.usd().signum() > 0) {
            job.costUsd = job.costUsd == null ? spend.usd() : job.costUsd.add(spend.usd());
        }
    }

    /** queued|running → cancelled; the row as it ended. A finished job is a 409 problem, an unknown one a 404. */
    public Uni<Job> cancel(String tenant, UUID id, String code, String reason) {
        return jobs.cancel(tenant, id, code, reason).chain(job -> {
            if (job != null) {
                metrics.finished(job.model, "cancelled", null);
                return webhooks.enqueue(job, "cancelled").replaceWith(job);
            }
            return jobs.find(tenant, id).map(found -> {
                if (found == null) {
                    throw Problem.notFound("There is no job " + id);
                }
                throw new Problem(409, "job-finished", "Job already finished", "Job " + id + " is already " + found.status.wire())
                        .with("job_status", found.status.wire());
            });
        });
    }

    /**
     * failed → queued, from the stage that failed. What the earlier stages produced (categories, the
     * prompt, a shoot's finished styles) is kept and not paid for again; the failed stage's own fal
     * request is dropped, unless the failure was one the request may have outlived (fal unreachable, a
     * deadline), in which case the retry waits for that request. {@code admit}, when given, sees what the
     * tenant has in flight (its row locked, as at submit) and throws to refuse.
     */
    public Uni<Job> retry(String tenant, UUID id, java.util.function.BiConsumer<JobRepository.InFlight, Job> admit) {
        return jobs.find(tenant, id).chain(job -> {
            if (job == null) {
                throw Problem.notFound("There is no job " + id);
            }
            if (job.status != JobStatus.FAILED) {
                throw new Problem(409, "job-not-failed", "Job not failed", "Only a failed job can be retried; job " + id + " is "
                        + job.status.wire()).with("job_status", job.status.wire());
            }
            boolean keepRequests = TRANSIENT.contains(job.errorCode);
            Map<String, Object> stages = new LinkedHashMap<>(job.stages);
            String failedStage = null;
            for (Map.Entry<String, Object> e : stages.entrySet()) {
                if (e.getValue() instanceof Map<?, ?> m && StageStatus.of(m.get("status")) == StageStatus.FAILED) {
                    failedStage = e.getKey();
                    @SuppressWarnings("unchecked")
                    Map<String, Object> entry = new LinkedHashMap<>((Map<String, Object>) m);
                    entry.put("status", StageStatus.move(m.get("status"), StageStatus.RETRYING, failedStage).wire());
                    entry.remove("fal_request_id"); // a row of the previous version kept it here; its home is fal_requests now
                    e.setValue(entry);
                }
            }
            // the failed stage's requests: waited for again when the failure may have outlived them, else given up
            String dropStage = keepRequests ? null : failedStage;
            FalRequests requests = job.falRequests.moved(r -> r.state().usable() && r.style() == null && r.stage().equals(dropStage),
                    FalRequest.State.DROPPED);
            if ("infer".equals(dropStage)) {
                job.falRequestId = null;
                job.falEndpoint = null;
                job.falStep = 0;
            }
            Map<String, Object> shoot = null;
            if (job.shoot != null) {
                List<Map<String, Object>> styles = new ArrayList<>();
                List<Map<String, Object>> before = ShootStyles.of(job);
                for (int i = 0; i < before.size(); i++) {
                    Map<String, Object> st = before.get(i);
                    if (StyleStatus.of(st.get("status")) == StyleStatus.FAILED) {
                        // each style by its own failure: one that may have outlived its error keeps its requests
                        boolean keepStyle = st.get("error") instanceof Map<?, ?> err && TRANSIENT.contains(err.get("code"));
                        st.put("status", StyleStatus.move(st.get("status"), StyleStatus.PENDING).wire());
                        st.remove("error");
                        // ids a row of the previous version kept on the style; their home is fal_requests now
                        st.remove("fal_request_id");
                        st.remove("fal_endpoint");
                        st.remove("prompt_request_id");
                        st.remove("prompt_endpoint");
                        if (!keepStyle) {
                            int index = i;
                            requests = requests.moved(r -> r.state().usable() && Integer.valueOf(index).equals(r.style()), FalRequest.State.DROPPED);
                        }
                    }
                    styles.add(st);
                }
                shoot = new LinkedHashMap<>(job.shoot);
                shoot.put("styles", styles);
            }
            job.falRequests = requests;
            String resumeAt = failedStage;
            return jobs.retry(job, Columns.json(stages), Columns.json(shoot), admit == null ? null : inFlight -> admit.accept(inFlight, job))
                    .map(retried -> {
                if (retried == null) {
                    throw new Problem(409, "job-not-failed", "Job not failed", "Job " + id + " was retried or changed meanwhile");
                }
                Log.infof("job %s: retried by the client (retry %d), resuming at %s", id, retried.retries, resumeAt);
                return retried;
            });
        });
    }
}
