package ai.atelier.webhooks;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.inject.Singleton;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.SqlConnection;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * Every SQL statement on the webhook outbox ({@code webhook_deliveries} and {@code webhook_attempts}), as
 * {@code JobRepository} is for {@code jobs}: the dispatcher, the job transitions that queue deliveries and the
 * REST resource ask here, so how a delivery is numbered, claimed, recorded and redelivered is written once.
 */
@Singleton
public class WebhookDeliveries {

    /**
     * One event sent (or to be sent) to the job's webhook. {@code sequence} is the job's event number (also in the payload as
     * {@code data.sequence}); {@code next_attempt_at} is set only while the delivery is pending, {@code delivered_at} once it
     * was delivered.
     */
    public record Delivery(UUID id, String eventType, Integer sequence, String status, int attempts, OffsetDateTime nextAttemptAt,
            Integer lastStatus, String lastError, OffsetDateTime createdAt, OffsetDateTime deliveredAt, List<Attempt> attemptLog) {
    }

    /**
     * One try: when, the answer's status (none when no answer came), the error in neutral words ({@code HTTP 500},
     * {@code timeout}, {@code connection refused}, {@code refused by address policy}, …), how long it took.
     */
    public record Attempt(OffsetDateTime at, Integer statusCode, String error, int durationMs) {
    }

    /** A delivery claimed for an attempt, with its job's tenant and webhook URL. */
    record Claimed(UUID id, UUID jobId, String tenant, String payload, int attempts, String url) {
    }

    /**
     * The delivery a transition queues in its own statement (or {@link #insert} on its own): skipped when the payload
     * is null; numbered as the job's next event, and that number also written into the payload as {@code data.sequence},
     * so what is stored is what is signed and sent. A job's transitions are one at a time (each is a guarded update of
     * its row), so the next number is read after the previous one was written.
     */
    private static final String QUEUED = """
            insert into webhook_deliveries (id, job_id, event_type, sequence, payload, status, next_attempt_at, created_at)
            select %1$s::uuid, f.id, %2$s::text, n.sequence, jsonb_set(%3$s::text::jsonb, '{data,sequence}', to_jsonb(n.sequence))::text,
                   'pending', now(), now()
            from %4$s f cross join lateral (select coalesce(max(d.sequence), 0) + 1 as sequence from webhook_deliveries d where d.job_id = f.id) n
            where %3$s::text is not null""";
    private static final String INSERT = queued("$1", "$3", "$4", "(select $2::uuid as id)");
    /** Held for the length of one claim, so two instances never count the same tenant's leases at once. */
    private static final String TRY_LOCK = "select pg_try_advisory_xact_lock(7022344298541289579)";
    /** A delivery's tenant and URL: its job's, or (batch.completed) its batch's. */
    private static final String OWNER = """
            left join jobs j on j.id = d.job_id left join batches b on b.id = d.batch_id""";
    private static final String CLAIM = """
            with leased as (
                select coalesce(j.tenant, b.tenant_id) as tenant, count(*) as n
                from webhook_deliveries d %1$s
                where d.status = 'pending' and d.lease_until > now()
                group by 1),
            due as (
                select d.id, coalesce(j.tenant, b.tenant_id) as tenant, d.next_attempt_at,
                       row_number() over (partition by coalesce(j.tenant, b.tenant_id) order by d.next_attempt_at, d.sequence) as place
                from webhook_deliveries d %1$s
                where d.status = 'pending' and d.next_attempt_at <= now() and (d.lease_until is null or d.lease_until < now())
                  -- a job's deliveries in order: an earlier one still pending (retried, or under way) goes first
                  and not exists (select 1 from webhook_deliveries e
                                  where e.job_id = d.job_id and e.status = 'pending' and e.sequence < d.sequence)),
            picked as (
                select due.id from due left join leased l on l.tenant = due.tenant
                where due.place <= $1::int - coalesce(l.n, 0)
                order by due.place, due.next_attempt_at
                limit $2::int)
            update webhook_deliveries d set lease_until = now() + make_interval(secs => $3)
            from picked p
            where d.id = p.id
            returning d.id, d.job_id,
                      coalesce((select j.tenant from jobs j where j.id = d.job_id), (select b.tenant_id from batches b where b.id = d.batch_id)) as tenant,
                      d.payload, d.attempts,
                      coalesce((select j.webhook_url from jobs j where j.id = d.job_id),
                               (select b.webhook_url from batches b where b.id = d.batch_id)) as webhook_url""".formatted(OWNER);
    private static final String RECORD = """
            with attempt as (
                insert into webhook_attempts (delivery_id, attempted_at, status_code, error, duration_ms) values ($1, $2, $3, $4, $5))
            update webhook_deliveries set attempts = attempts + 1, last_status = $3, last_error = $4, lease_until = null, status = $6,
                   next_attempt_at = case when $6::text = 'pending' then now() + make_interval(secs => $7) end,
                   delivered_at = case when $6::text = 'delivered' then now() else delivered_at end
            where id = $1""";
    private static final String OF_JOB = """
            select d.*, a.attempted_at, a.status_code, a.error, a.duration_ms
            from webhook_deliveries d left join webhook_attempts a on a.delivery_id = d.id
            where d.job_id = $1 order by coalesce(d.sequence, 0), d.created_at, a.attempted_at""";
    private static final String REDELIVER = """
            update webhook_deliveries set status = 'pending', next_attempt_at = now(), lease_until = null
            where id = $1 and job_id = $2""";

    /**
     * A batch's {@code batch.completed}, queued by the statement that ends the batch (guarded: once): {@code ended} is a
     * relation with the batch's {@code id}, {@code webhook_url} and the payload as {@code payload}; parameter: none.
     */
    public static String queuedForBatch(String ended) {
        return """
                insert into webhook_deliveries (id, batch_id, event_type, sequence, payload, status, next_attempt_at, created_at)
                select gen_random_uuid(), e.id, 'batch.completed', 1, jsonb_set(e.payload, '{data,sequence}', '1')::text, 'pending', now(), now()
                from %s e where e.webhook_url is not null""".formatted(ended);
    }

    /**
     * The {@code job.queued} deliveries of a batch's items that asked for them, in the statement that accepts them:
     * parameters {@code $ids} (delivery ids), {@code $jobs} (their jobs), {@code $payloads}.
     */
    public static String queuedForJobs(String ids, String jobs, String payloads) {
        return """
                insert into webhook_deliveries (id, job_id, event_type, sequence, payload, status, next_attempt_at, created_at)
                select u.id, u.job_id, 'job.queued', 1, jsonb_set(u.payload::jsonb, '{data,sequence}', '1')::text, 'pending', now(), now()
                from unnest(%s::uuid[], %s::uuid[], %s::text[]) as u(id, job_id, payload)""".formatted(ids, jobs, payloads);
    }

    private final Pool pool;

    public WebhookDeliveries(Pool pool) {
        this.pool = pool;
    }

    /**
     * The insert of a delivery, for a job transition's statement to carry. Parameters (SQL placeholders or expressions):
     * the delivery id, the event type, the payload, and a relation with the job's {@code id}.
     */
    public static String queued(String id, String type, String payload, String jobRelation) {
        return QUEUED.formatted(id, type, payload, jobRelation);
    }

    /** Queues an event on its own (for transitions that cannot carry it in their statement). */
    Uni<Void> insert(UUID jobId, WebhookEvent e) {
        return pool.preparedQuery(INSERT).execute(Tuple.of(e.deliveryId(), jobId, e.type(), e.payload())).replaceWithVoid();
    }

    /**
     * Leases up to {@code room} due deliveries for an attempt, at most {@code perTenant} under way per tenant across every
     * instance, a job's in its order; none while another instance is claiming (the next round will).
     */
    Uni<List<Claimed>> claim(SqlConnection conn, int perTenant, int room, double leaseSeconds) {
        return conn.query(TRY_LOCK).execute().chain(lock -> {
            if (!lock.iterator().next().getBoolean(0)) {
                return Uni.createFrom().item(List.of());
            }
            return conn.preparedQuery(CLAIM).execute(Tuple.of(perTenant, room, leaseSeconds)).map(WebhookDeliveries::claimed);
        });
    }

    private static List<Claimed> claimed(RowSet<Row> rows) {
        List<Claimed> out = new ArrayList<>(rows.rowCount());
        for (Row r : rows) {
            out.add(new Claimed(r.getUUID("id"), r.getUUID("job_id"), r.getString("tenant"), r.getString("payload"), r.getInteger("attempts"),
                    r.getString("webhook_url")));
        }
        return out;
    }

    /**
     * Records one attempt and what the delivery is now ({@code pending} again after {@code retryInSeconds}, {@code delivered}
     * or {@code failed}), ending its lease.
     */
    Uni<Void> record(UUID id, OffsetDateTime at, Integer statusCode, String error, int millis, String status, double retryInSeconds) {
        Tuple row = Tuple.tuple().addUUID(id).addOffsetDateTime(at).addInteger(statusCode).addString(error).addInteger(millis).addString(status)
                .addDouble(retryInSeconds);
        return pool.preparedQuery(RECORD).execute(row).replaceWithVoid();
    }

    /** A job's deliveries in their order, each with its attempts (errors as a client may read them). */
    public Uni<List<Delivery>> ofJob(UUID jobId) {
        return pool.preparedQuery(OF_JOB).execute(Tuple.of(jobId)).map(rows -> {
            Map<UUID, Delivery> byId = new LinkedHashMap<>();
            for (Row r : rows) {
                Delivery d = byId.computeIfAbsent(r.getUUID("id"), k -> {
                    String status = r.getString("status");
                    // rows delivered or given up before next_attempt_at was cleared show none either
                    OffsetDateTime next = "pending".equals(status) ? r.getOffsetDateTime("next_attempt_at") : null;
                    return new Delivery(k, r.getString("event_type"), r.getInteger("sequence"), status, r.getInteger("attempts"), next,
                            r.getInteger("last_status"), DeliveryErrors.shown(r.getString("last_error")), r.getOffsetDateTime("created_at"),
                            r.getOffsetDateTime("delivered_at"), new ArrayList<>());
                });
                if (r.getOffsetDateTime("attempted_at") != null) {
                    d.attemptLog().add(new Attempt(r.getOffsetDateTime("attempted_at"), r.getInteger("status_code"),
                            DeliveryErrors.shown(r.getString("error")), r.getInteger("duration_ms")));
                }
            }
            return List.copyOf(byId.values());
        });
    }

    /** Makes a job's delivery due now, whatever it came to; false when the job has no such delivery. */
    public Uni<Boolean> redeliver(UUID jobId, UUID deliveryId) {
        return pool.preparedQuery(REDELIVER).execute(Tuple.of(deliveryId, jobId)).map(rows -> rows.rowCount() > 0);
    }
}
