package ai.atelier.support;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.UUID;
import java.util.function.Consumer;

import ai.atelier.jobs.Job;
import ai.atelier.jobs.JobStatus;

/** Puts a job row straight into PostgreSQL, in a state the API cannot produce on demand (a crashed worker's, say). */
public final class Rows {

    private Rows() {
    }

    /**
     * What an instance killed while fal ran the job leaves behind: a running row at its infer stage with fal's request id
     * recorded. With {@code leaseOwner} it is held elsewhere until the test frees it.
     */
    public static void insertAtFal(UUID id, String model, String prompt, String endpointId, String requestId, String leaseOwner) {
        insertJob(id, JobStatus.RUNNING, prompt, job -> {
            job.model = model;
            job.stage = "infer";
            job.falEndpoint = endpointId;
            job.falRequestId = requestId;
            job.startedAt = job.createdAt;
        }, leaseOwner);
    }

    /**
     * A {@code flux-schnell} job left at fal (see {@link #insertAtFal}): its request made at the simulator with the
     * parameters the model's strategy locks, so a resumed run's result matches; answers fal's request id.
     */
    public static String schnellAtFal(UUID id, String prompt, int seed, String leaseOwner) {
        String requestId = Simulator.submitted("fal-ai/flux/schnell",
                java.util.Map.of("prompt", prompt, "num_inference_steps", 7, "guidance_scale", 3.5, "seed", seed));
        insertAtFal(id, "flux-schnell", prompt, "fal-ai/flux/schnell", requestId, leaseOwner);
        return requestId;
    }

    public static void insertJob(UUID id, JobStatus status, String prompt, Consumer<Job> more) {
        insertJob(id, status, prompt, more, null);
    }

    /** With {@code leaseOwner}, the row is that instance's from its insert: no instance here can claim it first. */
    public static void insertJob(UUID id, JobStatus status, String prompt, Consumer<Job> more, String leaseOwner) {
        Job job = new Job();
        job.id = id;
        job.tenant = "default";
        job.model = "flux-schnell";
        job.status = status;
        job.prompt = prompt;
        job.source = "api";
        job.createdAt = Instant.now();
        more.accept(job);
        Db.execute("""
                insert into jobs (id, tenant, model, status, stage, prompt, source, fal_endpoint, fal_request_id, created_at, updated_at, started_at,
                                  lease_owner, lease_until)
                values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, case when ? then now() + interval '10 minutes' end)""", job.id, job.tenant, job.model,
                job.status.wire(), job.stage, job.prompt, job.source, job.falEndpoint, job.falRequestId, Timestamp.from(job.createdAt),
                Timestamp.from(job.createdAt), job.startedAt == null ? null : Timestamp.from(job.startedAt), leaseOwner, leaseOwner != null);
    }
}
