package ai.atelier.jobs;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Base64;
import java.util.UUID;

import jakarta.inject.Singleton;

import ai.atelier.models.ModelCatalog;
import ai.atelier.problem.Problem;
import ai.atelier.progress.ProgressStore;
import io.smallrye.mutiny.Uni;

/**
 * Reading jobs: a status read is one Redis read while the job's live view is there (in the format of the API
 * it was submitted through), else one indexed row read; lists are keyset pages of a tenant's jobs. Another
 * tenant's job reads exactly like an unknown one: a 404.
 */
@Singleton
public class JobReads {

    private final JobRepository jobs;
    private final JobViews views;
    private final ProgressStore store;
    private final ModelCatalog models;

    public JobReads(JobRepository jobs, JobViews views, ProgressStore store, ModelCatalog models) {
        this.jobs = jobs;
        this.views = views;
        this.store = store;
        this.models = models;
    }

    /** The job's view as the v1 API shows it, as JSON: the live view as stored, or the row's. */
    public Uni<String> get(String tenant, UUID id) {
        return get(tenant, id, JobViewFormat.V1);
    }

    /** The job's view in {@code format} as JSON: one Redis read while its live view is there, else one row read. */
    public Uni<String> get(String tenant, UUID id, String format) {
        return store.view(id, tenant, format).chain(stored -> stored != null ? Uni.createFrom().item(stored)
                : view(tenant, id).map(view -> views.json(view, format)));
    }

    /** The job's view from its row (the truth), for answers right after a change. */
    public Uni<JobView> view(String tenant, UUID id) {
        return jobs.find(tenant, id)
                .onItem().ifNull().failWith(() -> Problem.notFound("There is no job " + id))
                .map(views::of);
    }

    public Uni<JobView.Page> list(String tenant, String status, String model, String cursor, int limit) {
        if (limit < 1 || limit > 100) {
            throw Problem.invalid("invalid-limit", "Invalid limit", "limit must be from 1 to 100").with("field", "limit");
        }
        JobStatus wanted = null;
        if (status != null && !status.isBlank()) {
            try {
                wanted = JobStatus.parse(status);
            } catch (IllegalArgumentException e) {
                throw Problem.invalid("invalid-status", "Invalid status", "status must be one of queued, running, succeeded, failed, cancelled")
                        .with("field", "status");
            }
        }
        String modelId = model == null || model.isBlank() ? null : models.require(model).id();
        Cursor c = cursor == null || cursor.isBlank() ? null : Cursor.decode(cursor);
        return jobs.list(tenant, wanted, modelId, c == null ? null : c.createdAt(), c == null ? null : c.id(), limit)
                .map(listed -> new JobView.Page(listed.jobs().stream().map(views::of).toList(),
                        listed.more() ? new Cursor(listed.lastCreatedAt(), listed.lastId()).encode() : null));
    }

    /** Keyset cursor: the (created_at, id) of the last job of a page, opaque to clients. */
    record Cursor(Instant createdAt, UUID id) {
        String encode() {
            ByteBuffer b = ByteBuffer.allocate(28).putLong(createdAt.getEpochSecond()).putInt(createdAt.getNano())
                    .putLong(id.getMostSignificantBits()).putLong(id.getLeastSignificantBits());
            return Base64.getUrlEncoder().withoutPadding().encodeToString(b.array());
        }

        static Cursor decode(String s) {
            try {
                ByteBuffer b = ByteBuffer.wrap(Base64.getUrlDecoder().decode(s));
                return new Cursor(Instant.ofEpochSecond(b.getLong(), b.getInt()), new UUID(b.getLong(), b.getLong()));
            } catch (RuntimeException e) {
                throw Problem.invalid("invalid-cursor", "Invalid cursor", "The cursor is not one this API handed out").with("field", "cursor");
            }
        }
    }
}
