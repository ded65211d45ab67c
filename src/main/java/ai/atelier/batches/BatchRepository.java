package ai.atelier.batches;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;

import jakarta.inject.Singleton;

import ai.atelier.jobs.Columns;
import ai.atelier.jobs.Job;
import ai.atelier.jobs.JobRepository;
import ai.atelier.jobs.Priority;
import ai.atelier.webhooks.WebhookDeliveries;
import ai.atelier.webhooks.WebhookEvent;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.SqlConnection;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * Every SQL statement on {@code batches}, and the ones over a batch's items as a whole (accept them all, count them, page
 * them, release them into their tenant's share, cancel the held ones): one job's statements stay in {@link JobRepository}.
 *
 * <p>A batch is accepted in one transaction of a few statements whatever its size: the batch row, then its items in
 * chunks of {@value #CHUNK}, each chunk one {@code insert … select from unnest(arrays)}. Its items are held
 * ({@code lease_until = 'infinity'}: no claim picks them) until the feeder releases them.
 */
@Singleton
public class BatchRepository {

    static final int CHUNK = 2000;

    private static final String BATCH_COLUMNS = """
            b.id, b.tenant_id, b.status, b.total, b.expected_cost_usd, b.metadata, b.webhook_url, b.created_at, b.expires_at,
            b.cancelled_at, b.ended_at""";

    /** A batch's items counted by status, and what they cost so far: one grouped read over the batch's items. */
    private static final String COUNTS = """
            cross join lateral (
                select count(*) filter (where j.status = 'queued') as queued, count(*) filter (where j.status = 'running') as running,
                       count(*) filter (where j.status = 'succeeded') as succeeded, count(*) filter (where j.status = 'failed') as failed,
                       count(*) filter (where j.status = 'cancelled') as cancelled, coalesce(sum(j.cost_usd), 0) as cost
                from jobs j where j.batch_id = b.id) c""";

    private static final String INSERT_BATCH = """
            insert into batches (id, tenant_id, api_key_id, status, total, expected_cost_usd, metadata, webhook_url, created_at, expires_at)
            values ($1, $2, $3, 'in_progress', $4, $5, $6, $7, $8, $9)""";

    private static final String INSERT_ITEMS = """
            insert into jobs (id, tenant, model, status, stage, progress, prompt, params, inputs, source, priority, webhook_url, webhook_events,
                              deadline_at, created_at, updated_at, kind, options, shoot, init_image, lease_owner, lease_until, claims,
                              api_key_id, expected_cost_usd, trace_parent, fal_requests, batch_id, custom_id, batch_index)
            select u.id, $1, u.model, 'queued', 'ingest', 10, u.prompt, u.params::jsonb, u.inputs::jsonb, 'api', $2, u.webhook_url,
                   u.webhook_events, u.deadline_at, $3, $3, u.kind, u.options::jsonb, u.shoot::jsonb, u.init_image::jsonb, null, 'infinity', 0,
                   $4, u.expected, $5, '{}'::jsonb, $6, u.custom_id, u.idx
            from unnest($7::uuid[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::timestamptz[],
                        $15::text[], $16::text[], $17::text[], $18::text[], $19::numeric[], $20::text[], $21::int[])
                 as u(id, model, prompt, params, inputs, webhook_url, webhook_events, deadline_at, kind, options, shoot, init_image, expected,
                      custom_id, idx)""";

    private static final String QUEUED_HOOKS = WebhookDeliveries.queuedForJobs("$1", "$2", "$3");

    private static final String FIND = "select %s, c.* from batches b %s where b.id = $1 and b.tenant_id = $2".formatted(BATCH_COLUMNS, COUNTS);

    private static final String CANCEL = """
            update batches set status = 'cancelling', end_status = 'cancelled', cancelled_at = now()
            where id = $1 and tenant_id = $2 and status = 'in_progress'""";

    private static final String ITEMS = "select %s, batch_index from jobs where batch_id = $1 and tenant = $2".formatted(JobRepository.COLUMNS);

    /** Held for one feeder round, so two instances never count and release the same tenant's share at once. */
    private static final String TRY_LOCK = "select pg_try_advisory_xact_lock(7022344298541289580)";

    /**
     * Releases held items of open batches into their tenants' shares: per tenant, as many as its share has room for (its
     * batch items released and not ended count against it), oldest first.
     */
    private static final String RELEASE = """
            with open_tenants as (select distinct tenant_id from batches where status = 'in_progress'),
            room as (
                select o.tenant_id, coalesce(t.batch_max_running, $1::int)
                       - (select count(*) from jobs j where j.tenant = o.tenant_id and j.batch_id is not null
                            and j.status in ('queued', 'running') and (j.lease_until is null or j.lease_until < 'infinity')) as n
                from open_tenants o left join tenants t on t.id = o.tenant_id),
            picked as (
                select x.id from room r cross join lateral (
                    select j.id from jobs j
                    where j.tenant = r.tenant_id and j.batch_id is not null and j.status = 'queued' and j.lease_until = 'infinity'
                      and exists (select 1 from batches b where b.id = j.batch_id and b.status = 'in_progress')
                    order by j.created_at, j.batch_index
                    limit greatest(r.n, 0)) x),
            released as (update jobs set lease_until = null where id in (select id from picked) returning id)
            select count(*) from released""";

    /**
     * Ends every open batch none of whose items is unfinished, once (the guarded update wins once whoever runs it), and
     * queues its {@code batch.completed} in the same statement.
     */
    private static final String FINISH = """
            with ended as (
                update batches b set status = coalesce(b.end_status, 'completed'), ended_at = now()
                where b.status in ('in_progress', 'cancelling')
                  and not exists (select 1 from jobs j where j.batch_id = b.id and j.status in ('queued', 'running'))
                returning %s),
            told as (
                select b.id, b.webhook_url, jsonb_build_object('type', 'batch.completed', 'timestamp', now(), 'data', jsonb_build_object(
                           'id', b.id, 'tenant', b.tenant_id, 'status', b.status,
                           'request_counts', jsonb_build_object('total', b.total, 'queued', c.queued, 'running', c.running,
                                                                'succeeded', c.succeeded, 'failed', c.failed, 'cancelled', c.cancelled),
                           'cost_usd', c.cost, 'metadata', b.metadata, 'created_at', b.created_at, 'ended_at', b.ended_at,
                           'url', '/v1/batches/' || b.id)) as payload
                from ended b %s),
            hook as (%s)
            select id, tenant_id, status from ended""".formatted(BATCH_COLUMNS.replace("b.", ""), COUNTS, WebhookDeliveries.queuedForBatch("told"));

    private static final String EXPIRE = """
            update batches set status = 'cancelling', end_status = 'expired', cancelled_at = now()
            where status = 'in_progress' and expires_at < now()
            returning id""";

    private static final String ANY_OPEN = "select exists (select 1 from batches where status in ('in_progress', 'cancelling'))";

    private static final String CANCELLING = "select id, tenant_id, end_status from batches where status = 'cancelling' limit 100";

    /**
     * Cancels a batch's items that never left the batch (held, never released, so never at fal, no live view) in one
     * statement; the others, and any that asked for their own webhook, are cancelled one by one by JobCancellation.
     */
    private static final String CANCEL_HELD = """
            update jobs set status = 'cancelled', cancel_requested_at = now(), finished_at = now(), updated_at = now(),
                   error_code = $2, error_message = $3, may_be_billed = false, lease_until = null
            where batch_id = $1 and status = 'queued' and lease_until = 'infinity' and webhook_url is null""";

    private static final String UNFINISHED = """
            select id from jobs where batch_id = $1 and status in ('queued', 'running') order by batch_index limit $2""";

    private final Pool pool;

    public BatchRepository(Pool pool) {
        this.pool = pool;
    }

    /**
     * Accepts a batch and all its items in one transaction. {@code admit}, when given, runs with the tenant's row locked
     * and sees what it has in flight (its budgets' reservations): it throws to refuse, and nothing is kept.
     */
    public Uni<Void> accept(Batch batch, UUID apiKeyId, String traceParent, List<Job> items, List<WebhookEvent> queued,
            Consumer<JobRepository.InFlight> admit) {
        return pool.withTransaction(conn -> (admit == null ? Uni.createFrom().voidItem()
                : JobRepository.lockTenant(conn, batch.tenantId()).invoke(admit).replaceWithVoid())
                .chain(() -> conn.preparedQuery(INSERT_BATCH).execute(Tuple.tuple().addUUID(batch.id()).addString(batch.tenantId())
                        .addUUID(apiKeyId).addInteger(batch.total()).addBigDecimal(batch.expectedCostUsd())
                        .addJsonObject(new JsonObject(batch.metadata())).addString(batch.webhookUrl()).addOffsetDateTime(utc(batch.createdAt()))
                        .addOffsetDateTime(utc(batch.expiresAt()))))
                .chain(() -> Multi.createFrom().range(0, (items.size() + CHUNK - 1) / CHUNK)
                        .onItem().transformToUniAndConcatenate(n -> insertItems(conn, batch, apiKeyId, traceParent,
                                items.subList(n * CHUNK, Math.min(items.size(), (n + 1) * CHUNK))))
                        .collect().last())
                .chain(() -> queued.isEmpty() ? Uni.createFrom().voidItem()
                        : conn.preparedQuery(QUEUED_HOOKS).execute(Tuple.of(queued.stream().map(WebhookEvent::deliveryId).toArray(UUID[]::new),
                                items.stream().filter(j -> j.webhookUrl != null && j.wantsWebhook("queued")).map(j -> j.id).toArray(UUID[]::new),
                                queued.stream().map(WebhookEvent::payload).toArray(String[]::new))).replaceWithVoid()));
    }

    private static Uni<Void> insertItems(SqlConnection conn, Batch batch, UUID apiKeyId, String traceParent, List<Job> chunk) {
        int n = chunk.size();
        UUID[] ids = new UUID[n];
        String[] model = new String[n], prompt = new String[n], params = new String[n], inputs = new String[n], hookUrl = new String[n],
                hookEvents = new String[n], kind = new String[n], options = new String[n], shoot = new String[n], init = new String[n],
                customId = new String[n];
        OffsetDateTime[] deadline = new OffsetDateTime[n];
        BigDecimal[] expected = new BigDecimal[n];
        Integer[] index = new Integer[n];
        for (int i = 0; i < n; i++) {
            Job j = chunk.get(i);
            ids[i] = j.id;
            model[i] = j.model;
            prompt[i] = j.prompt;
            params[i] = text(j.params);
            inputs[i] = text(j.inputs);
            hookUrl[i] = j.webhookUrl;
            hookEvents[i] = j.webhookEvents;
            deadline[i] = utc(j.deadlineAt);
            kind[i] = j.kind;
            options[i] = text(j.options);
            shoot[i] = text(j.shoot);
            init[i] = text(j.initImage);
            expected[i] = j.expectedCostUsd;
            customId[i] = j.customId;
            index[i] = j.batchIndex;
        }
        Tuple t = Tuple.tuple().addString(batch.tenantId()).addShort(Priority.BATCH).addOffsetDateTime(utc(batch.createdAt())).addUUID(apiKeyId)
                .addString(traceParent).addUUID(batch.id()).addArrayOfUUID(ids).addArrayOfString(model).addArrayOfString(prompt)
                .addArrayOfString(params).addArrayOfString(inputs).addArrayOfString(hookUrl).addArrayOfString(hookEvents)
                .addArrayOfOffsetDateTime(deadline).addArrayOfString(kind).addArrayOfString(options).addArrayOfString(shoot)
                .addArrayOfString(init).addArrayOfBigDecimal(expected).addArrayOfString(customId).addArrayOfInteger(index);
        return conn.preparedQuery(INSERT_ITEMS).execute(t).replaceWithVoid();
    }

    private static String text(Object value) {
        JsonObject json = Columns.json(value);
        return json == null ? null : json.encode();
    }

    /** A tenant's batch with its counts, or null. */
    public Uni<Batch> find(String tenant, UUID id) {
        return pool.preparedQuery(FIND).execute(Tuple.of(id, tenant)).map(rows -> rows.rowCount() == 0 ? null : batch(rows.iterator().next()));
    }

    /** A keyset page of a tenant's batches, newest first; reads {@code limit + 1} so the caller knows whether more follow. */
    public Uni<List<Batch>> list(String tenant, Instant beforeCreatedAt, UUID beforeId, int limit) {
        StringBuilder sql = new StringBuilder("select ").append(BATCH_COLUMNS).append(", c.* from batches b ").append(COUNTS)
                .append(" where b.tenant_id = $1");
        Tuple t = Tuple.of(tenant);
        if (beforeCreatedAt != null) {
            t.addOffsetDateTime(utc(beforeCreatedAt)).addUUID(beforeId);
            sql.append(" and (b.created_at, b.id) < ($2, $3)");
        }
        t.addInteger(limit + 1);
        sql.append(" order by b.created_at desc, b.id desc limit $").append(t.size());
        return pool.preparedQuery(sql.toString()).execute(t).map(rows -> {
            List<Batch> out = new ArrayList<>();
            rows.forEach(r -> out.add(batch(r)));
            return out;
        });
    }

    /** in_progress → cancelling; false when the batch is not in progress (unknown, another tenant's, cancelling or ended). */
    public Uni<Boolean> cancel(String tenant, UUID id) {
        return pool.preparedQuery(CANCEL).execute(Tuple.of(id, tenant)).map(rows -> rows.rowCount() == 1);
    }

    /**
     * A page of a batch's items: those this version can read, with their place; whether more follow; the place of the
     * page's last row (read or not, so the next page starts after it).
     */
    public record Items(List<Job> jobs, boolean more, int lastIndex) {
    }

    /** A page of up to {@code limit} of a batch's items in request order after {@code afterIndex} (reads one more row to know whether more follow). */
    public Uni<Items> items(String tenant, UUID batch, String status, int afterIndex, int limit) {
        StringBuilder sql = new StringBuilder(ITEMS);
        Tuple t = Tuple.of(batch, tenant);
        if (status != null) {
            t.addString(status);
            sql.append(" and status = $").append(t.size());
        }
        t.addInteger(afterIndex);
        sql.append(" and batch_index > $").append(t.size());
        t.addInteger(limit + 1);
        sql.append(" order by batch_index limit $").append(t.size());
        return pool.preparedQuery(sql.toString()).execute(t).map(rows -> {
            JobRepository.Page page = JobRepository.page(rows, limit, "left out of its batch's items",
                    (job, r) -> job.batchIndex = r.getInteger("batch_index"));
            return new Items(page.jobs(), page.more(), page.last() == null ? afterIndex : page.last().getInteger("batch_index"));
        });
    }

    // ---- the feeder ----------------------------------------------------------------------------------------

    /** Releases held items into their tenants' shares (none while another instance does); answers how many. */
    public Uni<Long> release(int defaultShare) {
        return pool.withTransaction(conn -> conn.query(TRY_LOCK).execute().chain(lock -> {
            if (!lock.iterator().next().getBoolean(0)) {
                return Uni.createFrom().item(0L);
            }
            return conn.preparedQuery(RELEASE).execute(Tuple.of(defaultShare)).map(rows -> rows.iterator().next().getLong(0))
                    .call(n -> n == 0 ? Uni.createFrom().voidItem()
                            : conn.query("select pg_notify('" + JobRepository.NEW_JOBS_CHANNEL + "', '')").execute().replaceWithVoid());
        }));
    }

    /** A batch that just ended: its id, tenant and final status. */
    public record Ended(UUID id, String tenantId, String status) {
    }

    /** Ends the batches whose items all ended (each once, with its batch.completed); answers them. */
    public Uni<List<Ended>> finish() {
        return pool.query(FINISH).execute().map(rows -> {
            List<Ended> out = new ArrayList<>();
            rows.forEach(r -> out.add(new Ended(r.getUUID("id"), r.getString("tenant_id"), r.getString("status"))));
            return out;
        });
    }

    /** Whether any batch is open (in progress or cancelling): an idle round costs this one indexed read. */
    public Uni<Boolean> anyOpen() {
        return pool.query(ANY_OPEN).execute().map(rows -> rows.iterator().next().getBoolean(0));
    }

    /** Moves batches past their deadline to cancelling (then expired); answers how many. */
    public Uni<Integer> expire() {
        return pool.query(EXPIRE).execute().map(RowSet::rowCount);
    }

    /** A batch being cancelled (by its client, or its deadline), and why. */
    public record Cancelling(UUID id, String tenantId, String endStatus) {
    }

    public Uni<List<Cancelling>> cancelling() {
        return pool.query(CANCELLING).execute().map(rows -> {
            List<Cancelling> out = new ArrayList<>();
            rows.forEach(r -> out.add(new Cancelling(r.getUUID("id"), r.getString("tenant_id"), r.getString("end_status"))));
            return out;
        });
    }

    /** Cancels the batch's held items in one statement; answers how many. */
    public Uni<Integer> cancelHeld(UUID batch, String code, String reason) {
        return pool.preparedQuery(CANCEL_HELD).execute(Tuple.of(batch, code, reason)).map(RowSet::rowCount);
    }

    /** Up to {@code limit} of the batch's unfinished items, in request order. */
    public Uni<List<UUID>> unfinished(UUID batch, int limit) {
        return pool.preparedQuery(UNFINISHED).execute(Tuple.of(batch, limit)).map(rows -> {
            List<UUID> out = new ArrayList<>();
            rows.forEach(r -> out.add(r.getUUID("id")));
            return out;
        });
    }

    // ---- mapping -------------------------------------------------------------------------------------------

    private static Batch batch(Row r) {
        return new Batch(r.getUUID("id"), r.getString("tenant_id"), r.getString("status"), r.getInteger("total"),
                r.getBigDecimal("expected_cost_usd"), r.getJsonObject("metadata").getMap(), r.getString("webhook_url"),
                instant(r.getOffsetDateTime("created_at")), instant(r.getOffsetDateTime("expires_at")),
                instant(r.getOffsetDateTime("cancelled_at")), instant(r.getOffsetDateTime("ended_at")),
                new Batch.Counts(r.getLong("queued"), r.getLong("running"), r.getLong("succeeded"), r.getLong("failed"), r.getLong("cancelled")),
                r.getBigDecimal("cost"));
    }

    private static Instant instant(OffsetDateTime t) {
        return t == null ? null : t.toInstant();
    }

    private static OffsetDateTime utc(Instant t) {
        return t == null ? null : t.atOffset(ZoneOffset.UTC);
    }
}
