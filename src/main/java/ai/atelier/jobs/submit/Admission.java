package ai.atelier.jobs.submit;

import java.math.BigDecimal;

import ai.atelier.auth.TenantLimits;
import ai.atelier.jobs.JobRepository;
import ai.atelier.problem.Problem;
import ai.atelier.usage.Budgets;

/**
 * Whether a tenant with limits may put one more job in flight: its cap on jobs queued or running (a 429 with
 * Retry-After when full) and its budgets (a 402 naming the budget when the job's expected cost would cross
 * one). Asked in the statement that accepts a job, and in the one that retries one, with the tenant's row
 * locked, so two requests cannot both take the last place or the last dollar.
 */
public final class Admission {

    /** When a client refused for a full house should try again: jobs of seconds free places fast. */
    static final long RETRY_AFTER_SECONDS = 5;

    private Admission() {
    }

    public static void admit(TenantLimits limits, JobRepository.InFlight inFlight, BigDecimal expectedCostUsd) {
        if (limits.maxJobsInFlight() != null && inFlight.jobs() >= limits.maxJobsInFlight()) {
            throw new Problem(429, "too-many-jobs-in-flight", "Too many jobs in flight", "This tenant may have " + limits.maxJobsInFlight()
                    + " jobs queued or running at once; wait for one to end").with("max_jobs_in_flight", limits.maxJobsInFlight())
                    .with("retry_after", RETRY_AFTER_SECONDS).retryAfter(RETRY_AFTER_SECONDS);
        }
        if (limits.budgeted()) {
            Budgets.admit(limits, inFlight.spentToday(), inFlight.spentThisMonth(), inFlight.reservedUsd(),
                    expectedCostUsd == null ? BigDecimal.ZERO : expectedCostUsd);
        }
    }
}
