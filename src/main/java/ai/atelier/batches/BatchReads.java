package ai.atelier.batches;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.inject.Singleton;

import ai.atelier.jobs.Job;
import ai.atelier.jobs.JobStatus;
import ai.atelier.jobs.JobView;
import ai.atelier.jobs.JobViews;
import ai.atelier.problem.Problem;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

/**
 * Reading batches: one batch with its counts (one grouped read over its items), keyset pages of a tenant's batches and
 * of a batch's jobs, and its results as JSON lines read page by page from PostgreSQL and written as they come (a
 * 10,000-item batch's results are never held whole). Another tenant's batch reads like an unknown one: a 404.
 */
@Singleton
public class BatchReads {

    /** Rows read per page of a results stream. */
    static final int RESULTS_PAGE = 500;

    private final BatchRepository batches;
    private final JobViews views;
    public BatchReads(BatchRepository batches, JobViews views) {
        this.batches = batches;
        this.views = views;
    }

    public Uni<BatchView> get(String tenant, UUID id) {
        return require(tenant, id).map(BatchView::of);
    }

    Uni<Batch> require(String tenant, UUID id) {
        return batches.find(tenant, id).onItem().ifNull().failWith(() -> Problem.notFound("There is no batch " + id));
    }

    public Uni<BatchView.Page> list(String tenant, String cursor, int limit) {
        checkLimit(limit);
        Instant before = null;
        UUID beforeId = null;
        if (cursor != null && !cursor.isBlank()) {
            ByteBuffer b = decode(cursor, 28);
            before = Instant.ofEpochSecond(b.getLong(), b.getInt());
            beforeId = new UUID(b.getLong(), b.getLong());
        }
        return batches.list(tenant, before, beforeId, limit).map(rows -> {
            List<Batch> page = rows.subList(0, Math.min(limit, rows.size()));
            String next = null;
            if (rows.size() > limit) {
                Batch last = page.get(page.size() - 1);
                next = encode(ByteBuffer.allocate(28).putLong(last.createdAt().getEpochSecond()).putInt(last.createdAt().getNano())
                        .putLong(last.id().getMostSignificantBits()).putLong(last.id().getLeastSignificantBits()));
            }
            return new BatchView.Page(page.stream().map(BatchView::of).toList(), next);
        });
    }

    /** A page of the batch's jobs in request order, the same views as GET /v1/jobs, optionally of one status. */
    public Uni<JobView.Page> jobs(String tenant, UUID id, String status, String cursor, int limit) {
        checkLimit(limit);
        String wanted = null;
        if (status != null && !status.isBlank()) {
            try {
                wanted = JobStatus.parse(status).wire();
            } catch (IllegalArgumentException e) {
                throw Problem.invalid("invalid-status", "Invalid status", "status must be one of queued, running, succeeded, failed, cancelled")
                        .with("field", "status");
            }
        }
        int after = cursor == null || cursor.isBlank() ? -1 : decode(cursor, 4).getInt();
        String filter = wanted;
        return require(tenant, id).chain(batch -> batches.items(tenant, id, filter, after, limit))
                .map(items -> new JobView.Page(items.jobs().stream().map(views::of).toList(),
                        items.more() ? encode(ByteBuffer.allocate(4).putInt(items.lastIndex())) : null));
    }

    /**
     * The batch's results, one JSON line per item in request order: custom_id, job_id, status, outputs (signed URLs),
     * error, cost_usd. Read {@value #RESULTS_PAGE} rows at a time as the client reads (the stream asks for the next page
     * only when the last one was written).
     */
    public Uni<Multi<Map<String, Object>>> results(String tenant, UUID id) {
        return require(tenant, id).map(batch -> Multi.createBy().repeating()
                .uni(() -> new int[] { -1 }, after -> batches.items(tenant, id, null, after[0], RESULTS_PAGE)
                        .invoke(items -> after[0] = items.lastIndex()))
                .whilst(BatchRepository.Items::more)
                .onItem().transformToIterable(BatchRepository.Items::jobs)
                .map(this::line));
    }

    /** One item's result line (the framework writes it as one JSON line). */
    private Map<String, Object> line(Job job) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("custom_id", job.customId);
        line.put("job_id", job.id);
        line.put("status", job.status.wire());
        line.put("outputs", views.files(job.outputs.items()).stream().map(JobView.FileView::url).toList());
        line.put("error", job.errorCode == null ? null : Map.of("code", job.errorCode, "message", String.valueOf(job.errorMessage)));
        line.put("cost_usd", job.costUsd == null ? 0.0 : job.costUsd.doubleValue());
        return line;
    }

    private static void checkLimit(int limit) {
        if (limit < 1 || limit > 100) {
            throw Problem.invalid("invalid-limit", "Invalid limit", "limit must be from 1 to 100").with("field", "limit");
        }
    }

    private static String encode(ByteBuffer b) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b.array());
    }

    private static ByteBuffer decode(String cursor, int bytes) {
        try {
            byte[] raw = Base64.getUrlDecoder().decode(cursor);
            if (raw.length != bytes) {
                throw new IllegalArgumentException("length");
            }
            return ByteBuffer.wrap(raw);
        } catch (IllegalArgumentException e) {
            throw Problem.invalid("invalid-cursor", "Invalid cursor", "The cursor is not one this API handed out").with("field", "cursor");
        }
    }
}
