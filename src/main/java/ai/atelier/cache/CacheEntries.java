package ai.atelier.cache;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import jakarta.inject.Singleton;

import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonArray;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * Every statement on {@code result_cache}. Single flight lives here: the first request for a key inserts it
 * {@code pending}, owned by its job (insert … on conflict), and calls fal; an identical request finds it pending
 * and waits; a pending entry whose owner job is no longer queued or running (failed, cancelled) or whose lease ran
 * out is taken over by the next request that looks, in the same statement, so exactly one takes it.
 */
@Singleton
public class CacheEntries {

    /** What a look at a key found: this job owns it now (call fal), a stored result (hit), or another job's call in flight (wait). */
    public enum Outcome { OWN, HIT, WAIT }

    /** A look's answer; for a hit, the stored files (JSON JobFiles under the cache's prefix) and what fal charged for them. */
    public record Claim(Outcome outcome, JsonArray files, BigDecimal costUsd) {
    }

    /**
     * Claims the key for {@code job}, or reads it. Taken over when it is pending and its owner is this job (a resumed run),
     * its lease ran out, or its owner job ended; when it is ready but older than {@code maxAge}, or {@code refresh}.
     * Zero rows back (a concurrent insert this statement's snapshot cannot see yet) is a wait: the next look sees it.
     */
    private static final String CLAIM = """
            with taken as (
                insert into result_cache (tenant_id, key, endpoint, model, state, owner_job, lease_until, created_at)
                values ($1, $2, $3, $4, 'pending', $5, now() + $6 * interval '1 millisecond', now())
                on conflict (tenant_id, key) do update set state = 'pending', owner_job = excluded.owner_job,
                    lease_until = excluded.lease_until, created_at = excluded.created_at, ready_at = null
                where (result_cache.state = 'pending' and (result_cache.owner_job = excluded.owner_job or result_cache.lease_until < now()
                        or not exists (select 1 from jobs j where j.id = result_cache.owner_job and j.status in ('queued', 'running'))))
                   or (result_cache.state = 'ready' and ($7 or result_cache.ready_at < now() - $8 * interval '1 millisecond'))
                returning 'own' as outcome, null::jsonb as files, null::numeric as cost_usd)
            select outcome, files, cost_usd from taken
            union all
            select case when c.state = 'ready' then 'hit' else 'wait' end, c.files, c.cost_usd from result_cache c
            where c.tenant_id = $1 and c.key = $2 and not exists (select 1 from taken)""";

    /** Whether a ready entry younger than the max age is there (the submit's answer: hit or miss). */
    private static final String PEEK = """
            select 1 from result_cache where tenant_id = $1 and key = $2 and state = 'ready' and ready_at >= now() - $3 * interval '1 millisecond'""";

    /**
     * The owner's result, stored: its files and cost. Answers the files of the result it replaced (a refresh, or a stale
     * entry taken over), to delete; no row when the entry is no longer this job's (dropped, taken over).
     */
    private static final String FILL = """
            update result_cache c set state = 'ready', files = $4, cost_usd = $5, fal_request_id = $6, ready_at = now(), owner_job = null
            from (select tenant_id, key, files as old_files from result_cache where tenant_id = $1 and key = $2 for update) o
            where c.tenant_id = o.tenant_id and c.key = o.key and c.owner_job = $3 and c.state = 'pending'
            returning coalesce(o.old_files, '[]'::jsonb) as old_files""";

    /** A failed or cancelled owner's pending entries go (a failure is never cached); waiters take over at their next look. */
    private static final String RELEASE = "delete from result_cache where owner_job = $1 and state = 'pending' returning files";

    /** One failed call's pending entry goes (a shoot's style that failed while its job carries on). */
    private static final String ABANDON = "delete from result_cache where tenant_id = $1 and key = $2 and owner_job = $3 and state = 'pending' returning files";

    private static final String DROP = "delete from result_cache where tenant_id = $1 returning files";

    /**
     * Entries past the retention, a bounded number at a time (any instance may sweep; two never take the same rows): ready
     * ones filled before the cutoff, and pending ones whose lease ran out before it (an owner that will never come back).
     */
    private static final String SWEEP = """
            delete from result_cache where (tenant_id, key) in (
                select tenant_id, key from result_cache
                where (state = 'ready' and ready_at < now() - make_interval(secs => $1))
                   or (state = 'pending' and lease_until < now() - make_interval(secs => $1))
                limit $2 for update skip locked)
            returning files""";

    private final Pool pool;

    public CacheEntries(Pool pool) {
        this.pool = pool;
    }

    public Uni<Claim> claim(String tenant, String key, String endpoint, String model, UUID job, Duration lease, boolean refresh, Duration maxAge) {
        return pool.preparedQuery(CLAIM).execute(Tuple.tuple().addString(tenant).addString(key).addString(endpoint).addString(model)
                .addUUID(job).addLong(lease.toMillis()).addBoolean(refresh).addLong(maxAge.toMillis())).map(rows -> {
                    if (rows.rowCount() == 0) {
                        return new Claim(Outcome.WAIT, null, null);
                    }
                    Row r = rows.iterator().next();
                    Outcome o = Outcome.valueOf(r.getString("outcome").toUpperCase(java.util.Locale.ROOT));
                    return new Claim(o, o == Outcome.HIT ? (JsonArray) r.getValue("files") : null, r.getBigDecimal("cost_usd"));
                });
    }

    public Uni<Boolean> ready(String tenant, String key, Duration maxAge) {
        return pool.preparedQuery(PEEK).execute(Tuple.of(tenant, key, maxAge.toMillis())).map(rows -> rows.rowCount() > 0);
    }

    /** Null when the entry is no longer the job's; else the files of the result it replaced. */
    public Uni<JsonArray> fill(String tenant, String key, UUID job, JsonArray files, BigDecimal costUsd, String falRequestId) {
        return pool.preparedQuery(FILL).execute(Tuple.of(tenant, key, job, files, costUsd, falRequestId))
                .map(rows -> rows.rowCount() == 0 ? null : (JsonArray) rows.iterator().next().getValue("old_files"));
    }

    /** Deletes the job's pending entries; the files of results they were replacing (a refresh that failed), to delete. */
    public Uni<List<String>> release(UUID job) {
        return pool.preparedQuery(RELEASE).execute(Tuple.of(job)).map(CacheEntries::keys);
    }

    public Uni<List<String>> abandon(String tenant, String key, UUID job) {
        return pool.preparedQuery(ABANDON).execute(Tuple.of(tenant, key, job)).map(CacheEntries::keys);
    }

    /** Deletes every entry of the tenant; the S3 keys of their files, to delete. */
    public Uni<DropResult> drop(String tenant) {
        return pool.preparedQuery(DROP).execute(Tuple.of(tenant)).map(rows -> new DropResult(rows.rowCount(), keys(rows)));
    }

    public record DropResult(int entries, List<String> keys) {
    }

    /** Deletes up to {@code limit} entries older than {@code retention}; how many, and the S3 keys of their files to delete. */
    public Uni<DropResult> sweep(Duration retention, int limit) {
        return pool.preparedQuery(SWEEP).execute(Tuple.of(retention.toMillis() / 1000.0, limit)).map(rows -> new DropResult(rows.rowCount(), keys(rows)));
    }

    private static List<String> keys(io.vertx.mutiny.sqlclient.RowSet<Row> rows) {
        List<String> keys = new ArrayList<>();
        for (Row r : rows) {
            if (r.getValue("files") instanceof JsonArray files) {
                files.forEach(f -> keys.add(((io.vertx.core.json.JsonObject) f).getString("key")));
            }
        }
        return keys;
    }
}
