package ai.atelier.auth;

import java.math.BigDecimal;
import java.time.Instant;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

import io.quarkus.hibernate.reactive.panache.PanacheEntityBase;

/**
 * A customer of Atelier: every job, file, event, webhook and cent belongs to one. Administrative data,
 * changed through the admin API (Panache); the hot path reads its limits through {@link Tenants}' cache.
 */
@Entity
@Table(name = "tenants")
public class Tenant extends PanacheEntityBase {

    @Id
    public String id;

    public String name;

    @Column(name = "requests_per_minute")
    public Integer requestsPerMinute;

    @Column(name = "max_jobs_in_flight")
    public Integer maxJobsInFlight;

    /** How many of its batch items may run at once (its batch share); null: atelier.batches.max-running. */
    @Column(name = "batch_max_running")
    public Integer batchMaxRunning;

    @Column(name = "budget_usd_per_day")
    public BigDecimal budgetUsdPerDay;

    @Column(name = "budget_usd_per_month")
    public BigDecimal budgetUsdPerMonth;

    /** The result cache on or off for this tenant; null: the service's default (atelier.cache.enabled). */
    @Column(name = "cache_enabled")
    public Boolean cacheEnabled;

    /** How old a cached result may be and still be served, when a request does not say; null: atelier.cache.max-age. */
    @Column(name = "cache_max_age_seconds")
    public Long cacheMaxAgeSeconds;

    @Column(name = "created_at")
    public Instant createdAt;

    @Column(name = "updated_at")
    public Instant updatedAt;
}
