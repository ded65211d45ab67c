package ai.atelier.usage;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;

import ai.atelier.problem.Problem;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * Every statement on {@code ledger} and {@code tenant_spend}, but the ones a job's transitions carry
 * (those are in the job repository, built from {@link #TRANSITION_SPEND}): what fal calls cost, from
 * fal's own figures, append-only; what each tenant spent per UTC day and month; usage by model, day,
 * key or tenant; and the budget check of calls made outside jobs (the LLM endpoints).
 */
@Singleton
public class Ledger {

    /**
     * The spend a job transition carries, as CTEs: ledger rows (a JSON array, %1$s), their sum (%2$s)
     * added to the tenant's day and month (one of their {@link #SPEND_SHARDS} rows each), only when the
     * transition (CTE %3$s, returning tenant) won.
     */
    public static final String TRANSITION_SPEND = """
            ledger as (
                insert into ledger (tenant_id, api_key_id, job_id, stage, model, endpoint, fal_request_id, units, unit, unit_price, usd,
                                    price_read_at, may_be_billed, saved_usd, created_at)
                select tenant_id, api_key_id, job_id, stage, model, endpoint, fal_request_id, units, unit, unit_price, usd, price_read_at,
                       coalesce(may_be_billed, false), saved_usd, now()
                from jsonb_to_recordset(%1$s::jsonb) as r(tenant_id text, api_key_id uuid, job_id uuid, stage text, model text, endpoint text,
                     fal_request_id text, units numeric, unit text, unit_price numeric, usd numeric, price_read_at timestamptz,
                     may_be_billed boolean, saved_usd numeric)
                where exists (select 1 from %3$s)),
            spend as (
                insert into tenant_spend (tenant_id, period, shard, spent_usd)
                select t.tenant, p, floor(random() * %4$d)::smallint, %2$s::numeric from %3$s t,
                       unnest(array['day:' || to_char(now() at time zone 'utc', 'YYYY-MM-DD'),
                                    'month:' || to_char(now() at time zone 'utc', 'YYYY-MM')]) p
                where %2$s::numeric > 0
                on conflict (tenant_id, period, shard) do update set spent_usd = tenant_spend.spent_usd + excluded.spent_usd)"""
            .replace("%4$d", String.valueOf(Ledger.SPEND_SHARDS));

    /**
     * Rows a tenant's spend in one period is spread over (V14), one picked at random by each statement that adds to it:
     * a tenant's finishing jobs do not queue behind one another on one row. Readers sum them.
     */
    static final int SPEND_SHARDS = 16;

    private static final String RECORD = """
            with t as (select $1::text as tenant), %s
            select 1""".formatted(TRANSITION_SPEND.formatted("$2", "$3", "t"));

    /**
     * What a tenant (the SQL expression {@code tenant}) holds for calls made outside jobs that are still
     * running: their expected cost, until they end or their hold expires (an instance that died mid-call).
     */
    public static String held(String tenant) {
        return "(select coalesce(sum(usd), 0) from spend_holds where tenant_id = " + tenant + " and expires_at > now())";
    }

    private static final String SPENT = """
            select (select coalesce(sum(spent_usd), 0) from tenant_spend where tenant_id = $1
                      and period = 'day:' || to_char(now() at time zone 'utc', 'YYYY-MM-DD')) as today,
                   (select coalesce(sum(spent_usd), 0) from tenant_spend where tenant_id = $1
                      and period = 'month:' || to_char(now() at time zone 'utc', 'YYYY-MM')) as month,
                   %s + %s as reserved"""
            .formatted(ai.atelier.jobs.JobRepository.reservedBy("$1"), held("$1"));

    private static final String LOCK_TENANT = "select id from tenants where id = $1 for update";
    /** A new hold; the tenant's expired ones (their call's instance died) are dropped on the way. */
    private static final String HOLD = """
            with expired as (delete from spend_holds where tenant_id = $2 and expires_at <= now())
            insert into spend_holds (id, tenant_id, usd, created_at, expires_at) values ($1, $2, $3, now(), now() + $4 * interval '1 millisecond')""";
    private static final String RELEASE = "delete from spend_holds where id = $1";
    /** A call's ledger rows and spend, and its hold let go, in one statement. */
    private static final String SETTLE = """
            with t as (select $1::text as tenant), released as (delete from spend_holds where id = $4), %s
            select 1""".formatted(TRANSITION_SPEND.formatted("$2", "$3", "t"));

    private final Pool pool;

    public Ledger(Pool pool) {
        this.pool = pool;
    }

    /** Records calls made outside a job (the LLM endpoints): their rows, and their sum in the tenant's spend. */
    public Uni<Void> record(String tenant, JsonArray rows, BigDecimal usd) {
        return pool.preparedQuery(RECORD).execute(Tuple.of(tenant, rows, usd)).replaceWithVoid();
    }

    /**
     * Holds {@code usd} of the tenant's budgets for a call about to be made outside a job, if {@code admit} lets
     * it (it sees what the tenant spent and holds, and throws a 402 to refuse). The tenant's row is locked
     * first, as at a job's submit, so parallel calls cannot all take the last dollar.
     */
    public Uni<java.util.UUID> hold(String tenant, BigDecimal usd, java.time.Duration ttl, java.util.function.Consumer<Spent> admit) {
        java.util.UUID id = java.util.UUID.randomUUID();
        return pool.withTransaction(conn -> conn.preparedQuery(LOCK_TENANT).execute(Tuple.of(tenant))
                .chain(() -> conn.preparedQuery(SPENT).execute(Tuple.of(tenant)))
                .invoke(rows -> admit.accept(spent(rows.iterator().next())))
                .chain(() -> conn.preparedQuery(HOLD).execute(Tuple.of(id, tenant, usd, ttl.toMillis()))))
                .replaceWith(id);
    }

    /** Records the call's rows and spend and lets its hold go. */
    public Uni<Void> settle(String tenant, java.util.UUID hold, JsonArray rows, BigDecimal usd) {
        return pool.preparedQuery(SETTLE).execute(Tuple.of(tenant, rows, usd, hold)).replaceWithVoid();
    }

    /** Lets a hold go without a charge (the call failed before fal billed anything); nothing when it is gone already. */
    public Uni<Void> release(java.util.UUID hold) {
        return pool.preparedQuery(RELEASE).execute(Tuple.of(hold)).replaceWithVoid();
    }

    /** What the tenant spent today and this month (UTC), and what is reserved: its unfinished jobs' expected cost and its holds. */
    public record Spent(BigDecimal today, BigDecimal thisMonth, BigDecimal reserved) {
    }

    public Uni<Spent> spent(String tenant) {
        return pool.preparedQuery(SPENT).execute(Tuple.of(tenant)).map(rows -> spent(rows.iterator().next()));
    }

    private static Spent spent(Row r) {
        return new Spent(r.getBigDecimal("today"), r.getBigDecimal("month"), r.getBigDecimal("reserved"));
    }

    /**
     * One group of usage: its key (a model, a day, a key's id, a tenant, a batch), what it cost and how many calls; {@code savedUsd}
     * is what the result cache's hits in it would have cost at fal (their rows are $0), {@code cacheHits} how many there were.
     */
    public record Usage(String group, BigDecimal usd, long calls, BigDecimal units, BigDecimal savedUsd, long cacheHits) {
    }

    private static final Map<String, String> GROUPS = Map.of("model", "coalesce(model, endpoint)", "day",
            "to_char(created_at at time zone 'utc', 'YYYY-MM-DD')", "key", "coalesce(api_key_id::text, 'none')", "tenant", "tenant_id",
            "endpoint", "endpoint",
            // the batch that made the row's job (by the job's primary key; 'none' for jobs submitted on their own and calls outside a job)
            "batch", "coalesce((select j.batch_id::text from jobs j where j.id = ledger.job_id), 'none')");

    /** Usage between {@code from} (inclusive) and {@code to} (exclusive), grouped; {@code tenant} null: every tenant's. */
    public Uni<List<Usage>> usage(String tenant, Instant from, Instant to, String groupBy) {
        String group = GROUPS.get(groupBy);
        if (group == null) {
            throw Problem.badRequest("invalid-group-by", "Invalid group_by", "group_by must be one of " + GROUPS.keySet().stream().sorted().toList())
                    .with("field", "group_by");
        }
        // the group expression is one of the fixed ones above, never the client's text
        String sql = "select " + group + " as g, sum(usd) as usd, count(*) as calls, sum(units) as units,"
                + " coalesce(sum(saved_usd), 0) as saved_usd, count(saved_usd) as cache_hits from ledger"
                + " where created_at >= $1 and created_at < $2" + (tenant == null ? "" : " and tenant_id = $3") + " group by 1 order by 1";
        Tuple t = Tuple.of(from.atOffset(ZoneOffset.UTC), to.atOffset(ZoneOffset.UTC));
        if (tenant != null) {
            t.addString(tenant);
        }
        return pool.preparedQuery(sql).execute(t).map(rows -> {
            List<Usage> out = new ArrayList<>();
            for (Row r : rows) {
                out.add(new Usage(r.getString("g"), r.getBigDecimal("usd"), r.getLong("calls"), r.getBigDecimal("units"), r.getBigDecimal("saved_usd"),
                        r.getLong("cache_hits")));
            }
            return out;
        });
    }

    /** A ledger row for a fal call, as the transitions and {@link #record} take it. */
    public static JsonObject row(String tenant, java.util.UUID keyId, java.util.UUID jobId, String stage, String model, String endpoint,
            String requestId, Double units, String unit, BigDecimal unitPrice, BigDecimal usd, Instant priceReadAt, boolean mayBeBilled) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("tenant_id", tenant);
        m.put("api_key_id", keyId == null ? null : keyId.toString());
        m.put("job_id", jobId == null ? null : jobId.toString());
        m.put("stage", stage);
        m.put("model", model);
        m.put("endpoint", endpoint);
        m.put("fal_request_id", requestId);
        m.put("units", units);
        m.put("unit", unit);
        m.put("unit_price", unitPrice);
        m.put("usd", usd);
        m.put("price_read_at", priceReadAt == null ? null : priceReadAt.toString());
        m.put("may_be_billed", mayBeBilled);
        return new JsonObject(m);
    }

    /** The $0 ledger row of a fal call the result cache answered: what fal charged the original call is its {@code saved_usd}. */
    public static JsonObject cacheHit(String tenant, java.util.UUID keyId, java.util.UUID jobId, String stage, String model, String endpoint,
            BigDecimal savedUsd) {
        JsonObject row = row(tenant, keyId, jobId, stage, model, endpoint, null, null, null, null, BigDecimal.ZERO, null, false);
        row.put("saved_usd", savedUsd == null ? BigDecimal.ZERO : savedUsd);
        return row;
    }
}
