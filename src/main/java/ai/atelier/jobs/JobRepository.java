package ai.atelier.jobs;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.inject.Singleton;

import ai.atelier.webhooks.WebhookDeliveries;
import ai.atelier.webhooks.WebhookEvent;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * Every SQL statement on {@code jobs}, each named for what it does. Statements that move a job's
 * status are package-private: only {@link JobTransitions} calls them. Callers never spell a status
 * list or a column.
 *
 * <p>The reactive client, not Hibernate: these are the hot statements of every job (accept, claim,
 * record a fal request, finish, status reads), and each is one prepared round trip with no session.
 * A webhook delivery or a wake-up notification that belongs to a transition rides in the same statement
 * (a data-modifying CTE), so a job with a webhook costs no extra round trip either.
 */
@Singleton
public class JobRepository {

    public static final String COLUMNS = """
            id, tenant, model, status, stage, progress, prompt, params, inputs, outputs, fal_endpoint, fal_request_id, fal_step,
            error_code, error_message, source, priority, cancel_requested_at, fal_cancel_status, may_be_billed, deadline_at,
            idempotency_key, request_hash, webhook_url, webhook_events, kind, options, categories, final_prompt, stages, shoot,
            result, init_image, retries, claims, created_at, updated_at, started_at, finished_at, api_key_id, expected_cost_usd, cost_usd, trace_parent,
            fal_requests, batch_id, custom_id""";

    /**
     * Merges a patch of fal requests ({@link FalRequests#json}) into the column, parameter {@code $n}. An empty patch
     * changes nothing (a row of the previous version keeps its null, so its requests are still read where it put them).
     */
    private static String mergeRequests(int n) {
        return "fal_requests = case when $%1$d::jsonb = '{}'::jsonb then fal_requests else coalesce(fal_requests, '{}'::jsonb) || $%1$d::jsonb end"
                .formatted(n);
    }

    /** The ledger rows and spend a transition carries (their SQL is the ledger's: {@link ai.atelier.usage.Ledger#TRANSITION_SPEND}). */
    private static String spend(int ledger, int sum, String from) {
        return ai.atelier.usage.Ledger.TRANSITION_SPEND.formatted("$" + ledger, "$" + sum, from);
    }

    /** Channel other instances LISTEN on: a job nobody claimed at submit is waiting. */
    public static final String NEW_JOBS_CHANNEL = "atelier_jobs";

    private static final TransitionSql INSERT = TransitionSql.of("""
            with job as (
                insert into jobs (id, tenant, model, status, stage, progress, prompt, params, inputs, source, priority, idempotency_key,
                                  request_hash, webhook_url, webhook_events, deadline_at, created_at, updated_at, kind, options, shoot,
                                  init_image, lease_owner, lease_until, claims, api_key_id, expected_cost_usd, trace_parent, fal_requests)
                values ($1, $2, $3, 'queued', $4, $5, $6, $7::text::jsonb, $8::text::jsonb, $9, $10, $11, $12, $13, $14, $15, $16, $16, $17,
                        $18::text::jsonb, $19::text::jsonb, $20::text::jsonb,
                        $21, case when $21::text is null then null else now() + make_interval(secs => $22) end,
                        case when $21::text is null then 0 else 1 end, $23, $24, $25, '{}'::jsonb)
                returning id, lease_owner)<ctes>
            select pg_notify('%s', '') from job where lease_owner is null""".formatted(NEW_JOBS_CHANNEL), "job", 25);

    private static final String CLAIM = """
            update jobs set lease_owner = $1, lease_until = now() + make_interval(secs => $2), claims = claims + 1
            where id in (select id from jobs
                         where status = any($3) and (lease_until is null or lease_until < now()) and not (model = any($4))
                           -- never a held batch item (lease_until 'infinity'): it is not in the index this names
                           and (lease_until is null or lease_until < 'infinity')
                         order by priority, created_at
                         for update skip locked
                         limit $5)
            returning %s""".formatted(COLUMNS);

    private static final String HEARTBEAT = """
            update jobs set lease_until = now() + make_interval(secs => $2)
            where lease_owner = $1 and id = any($3) and status = any($4)
            returning id""";

    private static final String RELEASE = """
            update jobs set lease_owner = null, lease_until = null
            where lease_owner = $1 and id = any($2) and status = any($3)""";

    private static final TransitionSql ADVANCE = TransitionSql.of("""
            with moved as (
                update jobs set status = 'running', started_at = coalesce(started_at, now()), stage = coalesce($3, stage),
                       progress = greatest(progress, $4), stages = stages || $5, categories = coalesce($6, categories),
                       final_prompt = coalesce($7, final_prompt), fal_request_id = coalesce($8, fal_request_id),
                       fal_endpoint = coalesce($9, fal_endpoint), fal_step = coalesce($10, fal_step), updated_at = now(), <cost>%s
                where id = $1 and lease_owner = $2 and status = any($11)
                returning id, tenant)<ctes>
            select id from moved""".formatted(mergeRequests(12)), "moved", 12);

    private static final TransitionSql SUCCEED = TransitionSql.of("""
            with done as (
                update jobs set status = 'succeeded', stage = 'finish', progress = 100, outputs = $3::text::jsonb, result = coalesce($4, result),
                       stages = stages || $5, finished_at = now(), updated_at = now(), lease_until = null, <cost>%s
                where id = $1 and lease_owner = $2 and status = any($6)
                returning id, tenant, finished_at)<ctes>
            select finished_at from done""".formatted(mergeRequests(7)), "done", 7);

    private static final TransitionSql FAIL = TransitionSql.of("""
            with done as (
                update jobs set status = 'failed', error_code = $3, error_message = $4, stages = stages || $5, finished_at = now(),
                       updated_at = now(), lease_until = null, <cost>%s
                where id = $1 and lease_owner = $2 and status = any($6)
                returning id, tenant, finished_at)<ctes>
            select finished_at from done""".formatted(mergeRequests(7)), "done", 7);

    private static final String CANCEL = """
            update jobs set status = 'cancelled', cancel_requested_at = now(), finished_at = now(), updated_at = now(),
                   error_code = $3, error_message = $4, may_be_billed = false,
                   -- every stage of an ended job has ended: the one that was running (or waiting) is cancelled with it
                   stages = coalesce((select jsonb_object_agg(k, case when v ->> 'status' in ('running', 'pending', 'queued')
                                                                   then v || jsonb_build_object('status', 'cancelled', 'ended_at', now())
                                                                   else v end)
                                      from jsonb_each(stages) as e(k, v)), stages)
            where id = $1 and tenant = $2 and status = any($5)
            returning %s""".formatted(COLUMNS);

    private static final String RECORD_CANCEL_ANSWER = "update jobs set fal_cancel_status = $2, may_be_billed = $3, %s where id = $1"
            .formatted(mergeRequests(4));

    private static final String RETRY = """
            update jobs set status = 'queued', stage = 'queued', error_code = null, error_message = null, finished_at = null,
                   retries = retries + 1, stages = $3, shoot = $4, fal_request_id = $5, fal_endpoint = $6, fal_step = $7,
                   lease_owner = null, lease_until = null, updated_at = now(), fal_requests = $10
            where id = $1 and tenant = $2 and status = any($8) and retries = $9
            returning %s""".formatted(COLUMNS);

    private static final String FIND = "select %s from jobs where id = $1 and tenant = $2".formatted(COLUMNS);
    private static final String FIND_ANY_TENANT = "select %s from jobs where id = $1".formatted(COLUMNS);
    private static final String FIND_BY_KEY = "select %s from jobs where tenant = $1 and idempotency_key = $2".formatted(COLUMNS);
    private static final String STATUS = "select status from jobs where id = $1";
    private static final String OVERDUE = "select id, tenant from jobs where deadline_at < now() and status = any($1) limit 100";
    private static final String PATCH_STYLE = """
            update jobs set updated_at = now(),
                   shoot = jsonb_set(shoot, array['styles', $2::text], (shoot -> 'styles' -> $3::int) || $4), %s
            where id = $1 and lease_owner = $5 and status = any($6)
            returning id""".formatted(mergeRequests(7));

    private static final String BACKLOG = """
            select count(*) filter (where status = 'queued' and lease_until is distinct from 'infinity') as queued,
                   count(*) filter (where status = 'queued' and lease_until = 'infinity') as held,
                   count(*) filter (where status = 'running') as running,
                   coalesce(extract(epoch from now() - min(created_at)
                                    filter (where status = 'queued' and lease_until is distinct from 'infinity')), 0)::float8 as oldest
            from jobs where status = any($1)""";

    private static final String[] UNFINISHED = JobStatus.words(JobStatus.UNFINISHED);

    /**
     * What a tenant's unfinished jobs are expected to cost (the SQL expression {@code tenant} names the tenant): the
     * part of a budget they hold until they end. For the statements that read a tenant's money in one round trip.
     */
    public static String reservedBy(String tenant) {
        return "(select coalesce(sum(expected_cost_usd), 0) from jobs where tenant = " + tenant + " and status in ('queued', 'running'))";
    }

    private final Pool pool;

    public JobRepository(Pool pool) {
        this.pool = pool;
    }

    // ---- accept, claim, leases -------------------------------------------------------------------------

    /**
     * Accepts a job in one statement. With {@code claimedBy} the row is this instance's from the start
     * (it runs it at once, no claim round trip); without, other instances are woken to claim it.
     */
    private static Uni<Void> insert(io.vertx.mutiny.sqlclient.SqlClient client, Job job, String claimedBy, double leaseSeconds,
            WebhookEvent queued) {
        Tuple row = Tuple.tuple().addUUID(job.id).addString(job.tenant).addString(job.model).addString(job.stage).addInteger(job.progress)
                .addString(job.prompt)
                // JSON text the statement casts to jsonb (a String bound to a jsonb parameter would be a JSON string literal)
                .addString(Columns.text(job.params)).addString(Columns.text(job.inputs))
                .addString(job.source).addShort(job.priority).addString(job.idempotencyKey).addString(job.requestHash)
                .addString(job.webhookUrl).addString(job.webhookEvents).addOffsetDateTime(utc(job.deadlineAt)).addOffsetDateTime(utc(job.createdAt))
                .addString(job.kind).addString(Columns.text(job.options)).addString(Columns.text(job.shoot))
                .addString(Columns.text(job.initImage)).addString(claimedBy).addDouble(leaseSeconds);
        row.addUUID(job.apiKeyId).addBigDecimal(job.expectedCostUsd).addString(job.traceParent);
        return client.preparedQuery(INSERT.sql(row, null, queued)).execute(row).replaceWithVoid();
    }

    public Uni<Void> insert(Job job, String claimedBy, double leaseSeconds, WebhookEvent queued) {
        return insert(pool, job, claimedBy, leaseSeconds, queued);
    }

    /** What a tenant with limits has in flight now: jobs, and the expected cost of those not finished (their reservation). */
    public record InFlight(long jobs, java.math.BigDecimal reservedUsd, java.math.BigDecimal spentToday, java.math.BigDecimal spentThisMonth) {
    }

    private static InFlight inFlight(Row r) {
        return new InFlight(r.getLong("jobs"), r.getBigDecimal("reserved"), r.getBigDecimal("today"), r.getBigDecimal("month"));
    }

    private static final String LOCK_TENANT = "select id from tenants where id = $1 for update";
    private static final String IN_FLIGHT = """
            select count(*) filter (where batch_id is null) as jobs, coalesce(sum(expected_cost_usd), 0) + %s as reserved,
                   (select coalesce(sum(spent_usd), 0) from tenant_spend where tenant_id = $1
                      and period = 'day:' || to_char(now() at time zone 'utc', 'YYYY-MM-DD')) as today,
                   (select coalesce(sum(spent_usd), 0) from tenant_spend where tenant_id = $1
                      and period = 'month:' || to_char(now() at time zone 'utc', 'YYYY-MM')) as month
            from jobs where tenant = $1 and status in ('queued', 'running')""".formatted(ai.atelier.usage.Ledger.held("$1"));

    /**
     * Accepts a job of a tenant with limits (jobs in flight, budgets) in one transaction: the tenant's row
     * is locked first, so two submits cannot both take the last place or the last dollar; {@code admit}
     * looks at what the tenant has in flight and throws to refuse.
     */
    public Uni<Void> insertLimited(Job job, String claimedBy, double leaseSeconds, WebhookEvent queued, java.util.function.Consumer<InFlight> admit) {
        return pool.withTransaction(conn -> conn.preparedQuery(LOCK_TENANT).execute(Tuple.of(job.tenant))
                .chain(() -> conn.preparedQuery(IN_FLIGHT).execute(Tuple.of(job.tenant)))
                .invoke(rows -> admit.accept(inFlight(rows.iterator().next())))
                .chain(() -> insert(conn, job, claimedBy, leaseSeconds, queued)));
    }

    /**
     * In {@code conn}'s transaction: locks the tenant's row and reads what it has in flight, for an accept that admits
     * many jobs at once (a batch) as {@link #insertLimited} admits one.
     */
    public static Uni<InFlight> lockTenant(io.vertx.mutiny.sqlclient.SqlConnection conn, String tenant) {
        return conn.preparedQuery(LOCK_TENANT).execute(Tuple.of(tenant))
                .chain(() -> conn.preparedQuery(IN_FLIGHT).execute(Tuple.of(tenant)))
                .map(rows -> inFlight(rows.iterator().next()));
    }

    private static final String STORE_INPUTS = """
            update jobs set inputs = $3, init_image = $4, updated_at = now()
            where id = $1 and lease_owner = $2 and status = any($5)
            returning id""";

    /**
     * Records the inputs a run fetched and stored itself (a batch item's http(s) images, not fetched at accept);
     * false when the job is no longer this run's.
     */
    public Uni<Boolean> storeInputs(UUID id, String owner, JobFiles inputs, Map<String, Object> initImage) {
        return pool.preparedQuery(STORE_INPUTS).execute(Tuple.tuple().addUUID(id).addString(owner).addJsonObject(Columns.json(inputs))
                .addJsonObject(Columns.json(initImage)).addArrayOfString(UNFINISHED)).map(rows -> rows.rowCount() == 1);
    }

    private static final String RECORD_SPEND = """
            with t as (update jobs set cost_usd = coalesce(cost_usd, 0) + $3::numeric where id = $1 returning $2::text as tenant),
            %s
            select 1""".formatted(spend(4, 3, "t").replace("where exists (select 1 from t)", "where true"));

    /** Records spend a run could not carry in a transition (it lost the race to a cancel): money spent is recorded whoever ends the job. */
    public Uni<Void> recordSpend(UUID jobId, String tenant, io.vertx.core.json.JsonArray ledger, java.math.BigDecimal sum) {
        return pool.preparedQuery(RECORD_SPEND).execute(Tuple.of(jobId, tenant, sum, ledger)).replaceWithVoid();
    }

    /** Claims up to {@code limit} unfinished jobs whose lease is free, skipping saturated models; answers their rows. */
    public Uni<Claimed> claim(String owner, double leaseSeconds, List<String> saturatedModels, int limit) {
        return pool.preparedQuery(CLAIM).execute(Tuple.of(owner, leaseSeconds, UNFINISHED, saturatedModels.toArray(String[]::new), limit))
                .map(rows -> new Claimed(readable(rows), rows.rowCount()));
    }

    /**
     * What a claim took: the jobs this version can run, and how many rows it leased. A claim that leased as many as it
     * asked for is full (more may wait) even when a row among them could not be read.
     */
    public record Claimed(List<Job> jobs, int rows) {
    }

    /**
     * The claimed rows this version can read. One it cannot (written by a later release, or damaged by hand) must not
     * stop the others from running: it stays leased to this instance, unrun, until its lease runs out, when any
     * instance may claim it (a newer one can read it). Before, one such row failed every claim it was in, and the
     * jobs claimed with it waited out their leases too, again and again.
     */
    private static List<Job> readable(RowSet<Row> rows) {
        List<Job> out = new ArrayList<>(rows.rowCount());
        for (Row r : rows) {
            Job job = readable(r, "left to its lease");
            if (job != null) {
                out.add(job);
            }
        }
        return out;
    }

    /**
     * The row's job, or null (logged with what becomes of it) when this version cannot read it: a later release's
     * status or request state during a rolling update (or a rollback), or a row damaged by hand. A listing leaves such
     * a row out instead of failing the whole page, as a claim leaves it to its lease.
     */
    public static Job readable(Row r, String outcome) {
        try {
            return job(r);
        } catch (RuntimeException e) {
            // the reason without its stack: a client paging over the row logs this at every read
            io.quarkus.logging.Log.warnf("Job %s cannot be read by this version (%s); %s", r.getUUID("id"), e.getMessage(), outcome);
            return null;
        }
    }

    /** Renews the leases of these jobs; answers the ids still this instance's. */
    public Uni<List<UUID>> heartbeat(String owner, double leaseSeconds, List<UUID> ids) {
        return pool.preparedQuery(HEARTBEAT).execute(Tuple.of(owner, leaseSeconds, ids.toArray(UUID[]::new), UNFINISHED))
                .map(rows -> {
                    List<UUID> renewed = new ArrayList<>();
                    rows.forEach(r -> renewed.add(r.getUUID("id")));
                    return renewed;
                });
    }

    /** Hands leases back so another instance takes the jobs over at once. */
    public Uni<Void> release(String owner, List<UUID> ids) {
        return pool.preparedQuery(RELEASE).execute(Tuple.of(owner, ids.toArray(UUID[]::new), UNFINISHED)).replaceWithVoid();
    }

    // ---- transitions (JobTransitions only) --------------------------------------------------------------

    /** What a run learned and writes at its next statement; null fields leave the column as it is. */
    record Advance(String stage, int progress, JsonObject stagesPatch, JsonObject categories, String finalPrompt, String falRequestId,
            String falEndpoint, Integer falStep, JsonObject falRequests) {
    }

    /** Spend a transition carries: ledger rows and their sum. */
    public record Spend(io.vertx.core.json.JsonArray ledger, java.math.BigDecimal usd) {
        public Spend {
            java.util.Objects.requireNonNull(ledger, "ledger");
            java.util.Objects.requireNonNull(usd, "usd");
        }

        public static final Spend NONE = new Spend(new io.vertx.core.json.JsonArray(), java.math.BigDecimal.ZERO);
    }

    /** → running (or still running), recording what the run learned; false when the job is no longer this instance's to run. */
    Uni<Boolean> advance(UUID id, String owner, Advance a, WebhookEvent started, Spend spend) {
        Tuple t = Tuple.tuple().addUUID(id).addString(owner).addString(a.stage()).addInteger(a.progress())
                .addJsonObject(a.stagesPatch() == null ? new JsonObject() : a.stagesPatch()).addJsonObject(a.categories())
                .addString(a.finalPrompt()).addString(a.falRequestId()).addString(a.falEndpoint()).addInteger(a.falStep())
                .addArrayOfString(JobStatus.words(JobStatus.sources(JobStatus.RUNNING)));
        t.addJsonObject(patch(a.falRequests()));
        return pool.preparedQuery(ADVANCE.sql(t, spend, started)).execute(t).map(rows -> rows.rowCount() == 1);
    }

    /** → succeeded; null when the job was not this instance's to finish (cancelled meanwhile, lease lost). */
    Uni<Instant> succeed(UUID id, String owner, JobFiles outputs, JsonObject result, JsonObject stagesPatch, JsonObject falRequests,
            WebhookEvent completed, Spend spend) {
        Tuple t = Tuple.tuple().addUUID(id).addString(owner).addString(Columns.text(outputs)).addJsonObject(result)
                .addJsonObject(stagesPatch == null ? new JsonObject() : stagesPatch)
                .addArrayOfString(JobStatus.words(JobStatus.sources(JobStatus.SUCCEEDED)));
        t.addJsonObject(patch(falRequests));
        return pool.preparedQuery(SUCCEED.sql(t, spend, completed)).execute(t).map(JobRepository::finishedAt);
    }

    /** → failed; null when the job was not this instance's (cancelled meanwhile: the cancellation is its end). */
    Uni<Instant> fail(UUID id, String owner, String code, String message, JsonObject stagesPatch, JsonObject falRequests, WebhookEvent failed,
            Spend spend) {
        Tuple t = Tuple.tuple().addUUID(id).addString(owner).addString(code).addString(message)
                .addJsonObject(stagesPatch == null ? new JsonObject() : stagesPatch)
                .addArrayOfString(JobStatus.words(JobStatus.sources(JobStatus.FAILED)));
        t.addJsonObject(patch(falRequests));
        return pool.preparedQuery(FAIL.sql(t, spend, failed)).execute(t).map(JobRepository::finishedAt);
    }

    /** → cancelled; the row as it ended, or null when the job was unknown or already finished. */
    Uni<Job> cancel(String tenant, UUID id, String code, String reason) {
        return pool.preparedQuery(CANCEL)
                .execute(Tuple.of(id, tenant, code, reason, JobStatus.words(JobStatus.sources(JobStatus.CANCELLED))))
                .map(JobRepository::firstJob);
    }

    /** failed → queued with the stages and shoot a retry starts from; null when someone else moved it first. */
    Uni<Job> retry(Job read, JsonObject stages, JsonObject shoot, java.util.function.Consumer<InFlight> admit) {
        Tuple t = Tuple.tuple().addUUID(read.id).addString(read.tenant).addJsonObject(stages).addJsonObject(shoot)
                .addString(read.falRequestId).addString(read.falEndpoint).addInteger(read.falStep)
                .addArrayOfString(JobStatus.words(JobStatus.sources(JobStatus.QUEUED))).addInteger(read.retries)
                .addJsonObject(read.falRequests.json());
        if (admit == null) {
            return pool.preparedQuery(RETRY).execute(t).map(JobRepository::firstJob);
        }
        // as at submit: the tenant's row locked first, so two retries (or a retry and a submit) cannot both take the last place
        return pool.withTransaction(conn -> conn.preparedQuery(LOCK_TENANT).execute(Tuple.of(read.tenant))
                .chain(() -> conn.preparedQuery(IN_FLIGHT).execute(Tuple.of(read.tenant)))
                .invoke(rows -> admit.accept(inFlight(rows.iterator().next())))
                .chain(() -> conn.preparedQuery(RETRY).execute(t)).map(JobRepository::firstJob));
    }

    // ---- other writes ---------------------------------------------------------------------------------------

    /** fal's answer to our cancel, and whether fal may bill the job. */
    public Uni<Void> recordCancelAnswer(UUID id, String falStatus, boolean mayBeBilled, JsonObject cancelledRequests) {
        return pool.preparedQuery(RECORD_CANCEL_ANSWER).execute(Tuple.of(id, falStatus, mayBeBilled, patch(cancelledRequests))).replaceWithVoid();
    }

    /**
     * Merges fields into one style of a running product shoot (styles run concurrently: each write touches
     * only its own); false when the shoot is no longer this instance's to run.
     */
    public Uni<Boolean> patchStyle(UUID id, String owner, int index, JsonObject fields, JsonObject falRequests) {
        return pool.preparedQuery(PATCH_STYLE).execute(Tuple.tuple().addUUID(id).addString(String.valueOf(index)).addInteger(index)
                .addJsonObject(fields).addString(owner).addArrayOfString(UNFINISHED).addJsonObject(patch(falRequests)))
                .map(rows -> rows.rowCount() == 1);
    }

    // ---- reads ----------------------------------------------------------------------------------------------

    /** One job of a tenant by its primary key, or null. */
    public Uni<Job> find(String tenant, UUID id) {
        return pool.preparedQuery(FIND).execute(Tuple.of(id, tenant)).map(JobRepository::firstJob);
    }

    /** One job whoever owns it: for the engine, which runs every tenant's jobs. */
    public Uni<Job> find(UUID id) {
        return pool.preparedQuery(FIND_ANY_TENANT).execute(Tuple.of(id)).map(JobRepository::firstJob);
    }

    public Uni<Job> findByIdempotencyKey(String tenant, String key) {
        return pool.preparedQuery(FIND_BY_KEY).execute(Tuple.of(tenant, key)).map(JobRepository::firstJob);
    }

    /** The job's status now, or null when there is no such job. */
    public Uni<JobStatus> status(UUID id) {
        return pool.preparedQuery(STATUS).execute(Tuple.of(id))
                .map(rows -> rows.rowCount() == 0 ? null : JobStatus.parse(rows.iterator().next().getString(0)));
    }

    /**
     * The whole service's unfinished jobs: how many are queued to be claimed, held (batch items waiting, by design, for
     * their tenant's batch share: not a sign of saturation) and running, and how long the oldest job queued to be claimed waits.
     */
    public record Backlog(long queued, long held, long running, double oldestQueuedSeconds) {
    }

    public Uni<Backlog> backlog() {
        return pool.preparedQuery(BACKLOG).execute(Tuple.of((Object) UNFINISHED)).map(rows -> {
            Row r = rows.iterator().next();
            return new Backlog(r.getLong("queued"), r.getLong("held"), r.getLong("running"), r.getDouble("oldest"));
        });
    }

    /** Unfinished jobs past their own deadline: (id, tenant). */
    public Uni<List<Job>> overdue() {
        return pool.preparedQuery(OVERDUE).execute(Tuple.of((Object) UNFINISHED)).map(rows -> {
            List<Job> out = new ArrayList<>();
            for (Row r : rows) {
                Job j = new Job();
                j.id = r.getUUID("id");
                j.tenant = r.getString("tenant");
                out.add(j);
            }
            return out;
        });
    }

    /**
     * A page of rows: the jobs this version can read, whether more rows follow, and the keyset of the page's last row
     * (read or not, so the next page starts after it).
     */
    public record Listing(List<Job> jobs, boolean more, Instant lastCreatedAt, UUID lastId) {
    }

    /** A keyset page of a tenant's jobs, newest first; reads {@code limit + 1} rows so the caller knows whether more follow. */
    public Uni<Listing> list(String tenant, JobStatus status, String model, Instant beforeCreatedAt, UUID beforeId, int limit) {
        StringBuilder sql = new StringBuilder("select ").append(COLUMNS).append(" from jobs where tenant = $1");
        Tuple t = Tuple.of(tenant);
        if (status != null) {
            t.addString(status.wire());
            sql.append(" and status = $").append(t.size());
        }
        if (model != null) {
            t.addString(model);
            sql.append(" and model = $").append(t.size());
        }
        if (beforeCreatedAt != null) {
            t.addOffsetDateTime(utc(beforeCreatedAt)).addUUID(beforeId);
            sql.append(" and (created_at, id) < ($").append(t.size() - 1).append(", $").append(t.size()).append(")");
        }
        t.addInteger(limit + 1);
        sql.append(" order by created_at desc, id desc limit $").append(t.size());
        return pool.preparedQuery(sql.toString()).execute(t).map(rows -> {
            Page page = page(rows, limit, "left out of the listing", (job, r) -> { });
            return new Listing(page.jobs(), page.more(), page.last() == null ? null : instant(page.last().getOffsetDateTime("created_at")),
                    page.last() == null ? null : page.last().getUUID("id"));
        });
    }

    /** The first {@code limit} rows of a page read with one more: the jobs among them this version can read, the last of them read, whether more follow. */
    public record Page(List<Job> jobs, Row last, boolean more) {
    }

    /**
     * A page of rows read with one row more than {@code limit} (which only says more follow): each row this version can
     * read as a job, given to {@code each} with its row; one it cannot is left out ({@link #readable(Row, String)}), and
     * the page's last row is kept either way, so the next page starts after it.
     */
    public static Page page(RowSet<Row> rows, int limit, String outcome, java.util.function.BiConsumer<Job, Row> each) {
        List<Job> jobs = new ArrayList<>(Math.min(limit, rows.rowCount()));
        Row last = null;
        int n = 0;
        for (Row r : rows) {
            if (n++ == limit) {
                break;
            }
            last = r;
            Job job = readable(r, outcome);
            if (job != null) {
                each.accept(job, r);
                jobs.add(job);
            }
        }
        return new Page(jobs, last, rows.rowCount() > limit);
    }

    // ---- mapping ------------------------------------------------------------------------------------------

    private static JsonObject patch(JsonObject falRequests) {
        return falRequests == null ? new JsonObject() : falRequests;
    }

    private static Instant finishedAt(RowSet<Row> rows) {
        return rows.rowCount() == 0 ? null : rows.iterator().next().getOffsetDateTime(0).toInstant();
    }

    private static Job firstJob(RowSet<Row> rows) {
        return rows.rowCount() == 0 ? null : job(rows.iterator().next());
    }

    public static Job job(Row r) {
        Job j = new Job();
        j.id = r.getUUID("id");
        j.tenant = r.getString("tenant");
        j.model = r.getString("model");
        j.status = JobStatus.parse(r.getString("status"));
        j.stage = r.getString("stage");
        j.progress = r.getInteger("progress");
        j.prompt = r.getString("prompt");
        j.params = Columns.map(r.getJsonObject("params"));
        j.inputs = Columns.files(r.getJsonObject("inputs"));
        j.outputs = Columns.files(r.getJsonObject("outputs"));
        j.falEndpoint = r.getString("fal_endpoint");
        j.falRequestId = r.getString("fal_request_id");
        j.falStep = r.getInteger("fal_step");
        j.errorCode = r.getString("error_code");
        j.errorMessage = r.getString("error_message");
        j.source = r.getString("source");
        j.priority = r.getShort("priority");
        j.cancelRequestedAt = instant(r.getOffsetDateTime("cancel_requested_at"));
        j.falCancelStatus = r.getString("fal_cancel_status");
        j.mayBeBilled = r.getBoolean("may_be_billed");
        j.deadlineAt = instant(r.getOffsetDateTime("deadline_at"));
        j.idempotencyKey = r.getString("idempotency_key");
        j.requestHash = r.getString("request_hash");
        j.webhookUrl = r.getString("webhook_url");
        j.webhookEvents = r.getString("webhook_events");
        j.kind = r.getString("kind");
        j.options = Columns.map(r.getJsonObject("options"));
        j.categories = Columns.map(r.getJsonObject("categories"));
        j.finalPrompt = r.getString("final_prompt");
        j.stages = Columns.map(r.getJsonObject("stages"));
        j.shoot = Columns.map(r.getJsonObject("shoot"));
        j.result = Columns.map(r.getJsonObject("result"));
        j.initImage = Columns.map(r.getJsonObject("init_image"));
        j.retries = r.getInteger("retries");
        j.claims = r.getInteger("claims");
        j.createdAt = instant(r.getOffsetDateTime("created_at"));
        j.updatedAt = instant(r.getOffsetDateTime("updated_at"));
        j.startedAt = instant(r.getOffsetDateTime("started_at"));
        j.finishedAt = instant(r.getOffsetDateTime("finished_at"));
        j.apiKeyId = r.getUUID("api_key_id");
        j.expectedCostUsd = r.getBigDecimal("expected_cost_usd");
        j.costUsd = r.getBigDecimal("cost_usd");
        j.traceParent = r.getString("trace_parent");
        FalRequests requests = FalRequests.parse(r.getJsonObject("fal_requests"));
        j.falRequestsStored = requests != null;
        j.falRequests = requests != null ? requests : FalRequests.legacy(j);
        j.batchId = r.getUUID("batch_id");
        j.customId = r.getString("custom_id");
        return j;
    }

    private static Instant instant(OffsetDateTime t) {
        return t == null ? null : t.toInstant();
    }

    private static OffsetDateTime utc(Instant t) {
        return t == null ? null : t.atOffset(ZoneOffset.UTC);
    }
}
