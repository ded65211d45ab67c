package ai.atelier.usage;

import java.math.BigDecimal;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

import jakarta.inject.Singleton;
import jakarta.enterprise.event.Observes;

import ai.atelier.config.AtelierConfig;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;

/**
 * Per-tenant spend and remaining budget as Prometheus gauges, read from PostgreSQL (the books), not
 * counted in memory: every replica then reports the same figures, a restart loses nothing, and
 * {@code max by (tenant)} is the whole service's answer. One query per refresh, whatever the traffic.
 * A tenant whose budget is removed loses its remaining-budget series.
 */
@Singleton
class SpendMetrics {

    private static final String READ = """
            select t.id,
                   (select coalesce(sum(spent_usd), 0) from tenant_spend where tenant_id = t.id
                      and period = 'day:' || to_char(now() at time zone 'utc', 'YYYY-MM-DD')) as today,
                   (select coalesce(sum(spent_usd), 0) from tenant_spend where tenant_id = t.id
                      and period = 'month:' || to_char(now() at time zone 'utc', 'YYYY-MM')) as month,
                   %s + %s as reserved,
                   t.budget_usd_per_day, t.budget_usd_per_month
            from tenants t""".formatted(ai.atelier.jobs.JobRepository.reservedBy("t.id"), Ledger.held("t.id"));

    private final Pool pool;
    private final MeterRegistry registry;
    private final Vertx vertx;
    private final AtelierConfig config;
    private final Map<String, Series> series = new ConcurrentHashMap<>();
    private long timer = -1;

    SpendMetrics(Pool pool, MeterRegistry registry, Vertx vertx, AtelierConfig config) {
        this.pool = pool;
        this.registry = registry;
        this.vertx = vertx;
        this.config = config;
    }

    void start(@Observes StartupEvent event) {
        refresh();
        timer = vertx.setPeriodic(config.usage().metricsRefresh().toMillis(), id -> refresh());
    }

    void stop(@Observes ShutdownEvent event) {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
    }

    private void refresh() {
        pool.query(READ).execute().onSuccess(rows -> {
            Set<String> seen = new HashSet<>();
            for (Row r : rows) {
                String tenant = r.getString("id");
                BigDecimal today = r.getBigDecimal("today");
                BigDecimal month = r.getBigDecimal("month");
                BigDecimal reserved = r.getBigDecimal("reserved");
                gauge("atelier_tenant_spent_usd", "What the tenant spent this UTC period, from the ledger", tenant, "day", today, seen);
                gauge("atelier_tenant_spent_usd", "What the tenant spent this UTC period, from the ledger", tenant, "month", month, seen);
                remaining(tenant, "day", r.getBigDecimal("budget_usd_per_day"), today, reserved, seen);
                remaining(tenant, "month", r.getBigDecimal("budget_usd_per_month"), month, reserved, seen);
            }
            series.entrySet().removeIf(e -> {
                if (!seen.contains(e.getKey())) {
                    registry.remove(e.getValue().gauge());
                    return true;
                }
                return false;
            });
        }).onFailure(e -> Log.debugf("spend metrics not refreshed: %s", e.getMessage()));
    }

    /** The budget left once what is spent and what unfinished jobs reserve are taken off; absent without a budget. */
    private void remaining(String tenant, String period, BigDecimal budget, BigDecimal spent, BigDecimal reserved, Set<String> seen) {
        if (budget != null) {
            gauge("atelier_tenant_budget_remaining_usd", "The tenant's budget left this UTC period, after spend and reservations", tenant, period,
                    budget.subtract(spent).subtract(reserved).max(BigDecimal.ZERO), seen);
        }
    }

    private void gauge(String name, String help, String tenant, String period, BigDecimal value, Set<String> seen) {
        String key = name + '\u0000' + tenant + '\u0000' + period;
        seen.add(key);
        series.computeIfAbsent(key, k -> {
            AtomicReference<Double> holder = new AtomicReference<>(0.0);
            Gauge g = Gauge.builder(name, holder, AtomicReference::get).description(help).baseUnit(null)
                    .tags("tenant", tenant, "period", period).register(registry);
            return new Series(holder, g);
        }).value().set(value.doubleValue());
    }

    private record Series(AtomicReference<Double> value, Gauge gauge) {
    }
}
