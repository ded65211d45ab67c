package ai.atelier.auth;

import java.math.BigDecimal;

/**
 * A tenant's limits as the hot path reads them (null: no limit), and its result cache settings (null: the service's defaults).
 */
public record TenantLimits(String tenantId, String name, Integer requestsPerMinute, Integer maxJobsInFlight, BigDecimal budgetUsdPerDay,
        BigDecimal budgetUsdPerMonth, Boolean cacheEnabled, Long cacheMaxAgeSeconds) {

    public TenantLimits(String tenantId, String name, Integer requestsPerMinute, Integer maxJobsInFlight, BigDecimal budgetUsdPerDay,
            BigDecimal budgetUsdPerMonth) {
        this(tenantId, name, requestsPerMinute, maxJobsInFlight, budgetUsdPerDay, budgetUsdPerMonth, null, null);
    }

    public boolean budgeted() {
        return budgetUsdPerDay != null || budgetUsdPerMonth != null;
    }

    public boolean limited() {
        return maxJobsInFlight != null || budgeted();
    }
}
