package ai.atelier.auth;

import java.math.BigDecimal;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;

import ai.atelier.problem.Problem;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * Every access to {@code tenants}: the admin API's changes through Panache, and the limits every
 * request and submit reads, through a short cache (a change applies on every instance within
 * {@link #CACHE_NANOS}) and one indexed read when it misses.
 */
@Singleton
public class Tenants {

    /** How long an instance trusts what it read of a tenant's limits. */
    static final long CACHE_NANOS = 3_000_000_000L;
    /** Seeded at run time, when the bean is made (see ApiKeys: a static one would be seeded while a native image is built). */
    private final SecureRandom random = new SecureRandom();

    private static final String LIMITS = """
            select id, name, requests_per_minute, max_jobs_in_flight, budget_usd_per_day, budget_usd_per_month, cache_enabled,
                   cache_max_age_seconds from tenants where id = $1""";
    private static final String ENSURE = """
            insert into tenants (id, name, created_at, updated_at) values ($1, $1, now(), now()) on conflict do nothing""";

    private final Pool pool;
    private final ai.atelier.util.RowCache<String, TenantLimits> cache;
    /** The anonymous tenant's name (its id too), which no other tenant may take; null when there is none. */
    private final String anonymous;

    public Tenants(Pool pool, ai.atelier.config.AtelierConfig config) {
        this.pool = pool;
        // null (no such tenant) is not kept: a tenant made a moment later is found at once
        this.cache = new ai.atelier.util.RowCache<>(java.time.Duration.ofNanos(CACHE_NANOS), 100_000,
                id -> pool.preparedQuery(LIMITS).execute(Tuple.of(id)).map(rows -> rows.rowCount() == 0 ? null : limits(rows.iterator().next())));
        this.anonymous = config.auth().anonymousTenant().filter(t -> !t.isBlank()).map(String::strip).orElse(null);
    }

    /** The tenant's limits if this instance read them in the last few seconds, else null (then ask {@link #limits}). */
    public TenantLimits cachedLimits(String tenantId) {
        return cache.now(tenantId);
    }

    /** The tenant's limits (cached for a few seconds); fails with a 404 problem when there is no such tenant. */
    public Uni<TenantLimits> limits(String tenantId) {
        return Uni.createFrom().deferred(() -> cache.get(tenantId)).map(limits -> {
            if (limits == null) {
                throw Problem.notFound("There is no tenant " + tenantId);
            }
            return limits;
        });
    }

    /** A tenant's (or key's) name as given, checked. */
    public static String checkName(String name) {
        return TenantNames.check(name);
    }

    /** Makes sure a tenant exists whose id is its name (the anonymous tenant of legacy clients). */
    Uni<Void> ensure(String name) {
        return pool.preparedQuery(ENSURE).execute(Tuple.of(name)).replaceWithVoid();
    }

    // ---- the admin API -----------------------------------------------------------------------------------

    /**
     * A name a new or renamed tenant may take: not another tenant's id (ids are {@code ten_…}, and a name that
     * looks like one misleads every log and dashboard) nor the anonymous tenant's name; names are told apart
     * without regard to case (a unique index on {@code lower(name)} holds it across instances).
     */
    private String checkTenantName(Object value) {
        String name = TenantNames.check(value);
        if (name.regionMatches(true, 0, "ten_", 0, 4)) {
            throw Problem.invalid("invalid-name", "Invalid name", "A tenant's name may not start with 'ten_': that is how tenant ids look")
                    .with("field", "name");
        }
        if (anonymous != null && name.equalsIgnoreCase(anonymous)) {
            throw new Problem(409, "tenant-exists", "Tenant exists", "'" + name + "' is the anonymous tenant's name").with("field", "name");
        }
        return name;
    }

    private static Problem exists(String name) {
        return new Problem(409, "tenant-exists", "Tenant exists", "There is already a tenant named '" + name + "' (names are compared "
                + "without regard to case)").with("field", "name");
    }

    public Uni<Tenant> create(String rawName) {
        String name = checkTenantName(rawName);
        Tenant t = new Tenant();
        t.id = "ten_" + HexFormat.of().formatHex(randomBytes(8));
        t.name = name;
        t.createdAt = Instant.now();
        t.updatedAt = t.createdAt;
        return Panache.withTransaction(t::persist).replaceWith(t).onFailure(Tenants::isDuplicateName).transform(e -> exists(name));
    }

    public Uni<Tenant> find(String id) {
        return Panache.withSession(() -> Tenant.<Tenant>findById(id))
                .onItem().ifNull().failWith(() -> Problem.notFound("There is no tenant " + id));
    }

    public Uni<List<Tenant>> all() {
        return Panache.withSession(() -> Tenant.<Tenant>listAll(io.quarkus.panache.common.Sort.by("createdAt")));
    }

    /** A change to a tenant's limits: each field given replaces (null removes the limit); absent fields stay. */
    public record LimitsChange(Map<String, Object> fields) {
    }

    public Uni<Tenant> change(String id, Map<String, Object> fields) {
        return Panache.withTransaction(() -> Tenant.<Tenant>findById(id)
                .onItem().ifNull().failWith(() -> Problem.notFound("There is no tenant " + id))
                .invoke(t -> {
                    fields.forEach((name, value) -> {
                        switch (name) {
                            case "requests_per_minute" -> t.requestsPerMinute = positive(name, value);
                            case "max_jobs_in_flight" -> t.maxJobsInFlight = positive(name, value);
                            case "batch_max_running" -> t.batchMaxRunning = positive(name, value);
                            case "budget_usd_per_day" -> t.budgetUsdPerDay = usd(name, value);
                            case "budget_usd_per_month" -> t.budgetUsdPerMonth = usd(name, value);
                            case "name" -> t.name = checkTenantName(value);
                            case "cache_enabled" -> t.cacheEnabled = cacheEnabled(value);
                            case "cache_max_age" -> t.cacheMaxAgeSeconds = value == null ? null
                                    : ai.atelier.cache.CacheAge.parse(value, "cache_max_age").toSeconds();
                            default -> throw Problem.invalid("unknown-field", "Unknown field", "A tenant has no field '" + name
                                    + "'; the limits are requests_per_minute, max_jobs_in_flight, batch_max_running, budget_usd_per_day, budget_usd_per_month; "
                                    + "the cache settings cache_enabled, cache_max_age")
                                    .with("field", name);
                        }
                    });
                    t.updatedAt = Instant.now();
                }))
                .onFailure(Tenants::isDuplicateName).transform(e -> exists(String.valueOf(fields.get("name"))))
                .invoke(t -> cache.invalidate(id));
    }

    private static Boolean cacheEnabled(Object value) {
        if (value != null && !(value instanceof Boolean)) {
            throw Problem.invalid("invalid-limit", "Invalid limit", "cache_enabled must be true, false, or null for the service's default")
                    .with("field", "cache_enabled");
        }
        return (Boolean) value;
    }

    private static Integer positive(String field, Object value) {
        if (value == null) {
            return null;
        }
        if (!(value instanceof Integer || value instanceof Long) || ((Number) value).longValue() < 1 || ((Number) value).longValue() > 1_000_000_000) {
            throw Problem.invalid("invalid-limit", "Invalid limit", field + " must be a whole number from 1 to 1000000000, or null for none")
                    .with("field", field);
        }
        return ((Number) value).intValue();
    }

    private static BigDecimal usd(String field, Object value) {
        if (value == null) {
            return null;
        }
        if (!(value instanceof Number n) || n.doubleValue() < 0 || n.doubleValue() > 1e9) {
            throw Problem.invalid("invalid-limit", "Invalid limit", field + " must be a number of US dollars from 0 to 1000000000, or null for none")
                    .with("field", field);
        }
        // kept to a hundredth of a cent (numeric(14, 4)): a finer budget would be stored as another one than the one sent,
        // 1e-30 as 0, which refuses every submit while the answer says otherwise
        BigDecimal usd = new BigDecimal(n.toString()).stripTrailingZeros();
        if (usd.scale() > 4) {
            throw Problem.invalid("invalid-limit", "Invalid limit", field + " has at most 4 decimal places (a hundredth of a cent)")
                    .with("field", field);
        }
        return usd.scale() < 0 ? usd.setScale(0) : usd;
    }

    private static boolean isDuplicateName(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (String.valueOf(c.getMessage()).contains("tenants_name") || String.valueOf(c.getMessage()).contains("23505")) {
                return true;
            }
        }
        return false;
    }

    private byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private static TenantLimits limits(Row r) {
        return new TenantLimits(r.getString("id"), r.getString("name"), r.getInteger("requests_per_minute"), r.getInteger("max_jobs_in_flight"),
                r.getBigDecimal("budget_usd_per_day"), r.getBigDecimal("budget_usd_per_month"), r.getBoolean("cache_enabled"),
                r.getLong("cache_max_age_seconds"));
    }
}
