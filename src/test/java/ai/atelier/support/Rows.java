package ai.atelier.support;

import java.time.Instant;
import java.util.UUID;
import java.util.function.Consumer;

import ai.atelier.jobs.Job;
import ai.atelier.jobs.JobService;
import ai.atelier.jobs.JobStatus;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.vertx.VertxContextSupport;

/** Puts a job row straight into PostgreSQL, in a state the API cannot produce on demand (a crashed worker's, say). */
public final class Rows {

    private Rows() {
    }

    public static void insertJob(UUID id, JobStatus status, String prompt, Consumer<Job> more) throws Throwable {
        VertxContextSupport.subscribeAndAwait(() -> Panache.withTransaction(() -> {
            Job job = new Job();
            job.id = id;
            job.tenant = JobService.DEFAULT_TENANT;
            job.model = "flux-schnell";
            job.status = status;
            job.prompt = prompt;
            job.source = "api";
            job.createdAt = Instant.now();
            job.updatedAt = job.createdAt;
            more.accept(job);
            return job.persist();
        }));
    }
}
