package ai.atelier.auth;

import java.math.BigDecimal;

/** A tenant's limits as the hot path reads them (null: no limit). */
public record TenantLimits(String tenantId, String name, Integer requestsPerMinute, Integer maxJobsInFlight, BigDecimal budgetUsdPerDay,
        BigDecimal budgetUsdPerMonth) {

    public boolean budgeted() {
        return budgetUsdPerDay != null || budgetUsdPerMonth != null;
    }

    public boolean limited() {
        return maxJobsInFlight != null || budgeted();
    }
}
