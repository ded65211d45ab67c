package ai.atelier.usage;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.Map;

import ai.atelier.auth.TenantLimits;
import ai.atelier.problem.Problem;

/**
 * A tenant's day and month budgets (UTC): whether a charge fits (what it spent, plus what its unfinished
 * jobs and running calls hold, plus the charge), and where each budget stands, as a dry run shows it. Every
 * admission (a submit, a retry, an LLM call) asks here.
 */
public final class Budgets {

    private Budgets() {
    }

    /**
     * Refuses, with a 402 problem naming the budget and when it resets, a charge of {@code expected} that
     * would take the tenant past its day or month budget (what it spent, plus what its unfinished jobs are
     * expected to cost, plus this).
     */
    public static void admit(TenantLimits limits, BigDecimal spentToday, BigDecimal spentThisMonth, BigDecimal reserved, BigDecimal expected) {
        check("day", limits.budgetUsdPerDay(), spentToday, reserved, expected,
                LocalDate.now(ZoneOffset.UTC).plusDays(1).atStartOfDay().toInstant(ZoneOffset.UTC));
        check("month", limits.budgetUsdPerMonth(), spentThisMonth, reserved, expected,
                YearMonth.now(ZoneOffset.UTC).plusMonths(1).atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC));
    }

    private static void check(String period, BigDecimal budget, BigDecimal spent, BigDecimal reserved, BigDecimal expected, Instant resets) {
        if (budget == null) {
            return;
        }
        BigDecimal after = spent.add(reserved).add(expected);
        if (after.compareTo(budget) > 0) {
            throw new Problem(402, "budget-exceeded", "Budget exceeded", "This would take the tenant past its " + period + " budget of $"
                    + budget.stripTrailingZeros().toPlainString() + " (spent $" + spent.stripTrailingZeros().toPlainString() + ", $"
                    + reserved.stripTrailingZeros().toPlainString() + " expected by jobs still running, $"
                    + expected.stripTrailingZeros().toPlainString() + " for this one); it resets at " + resets)
                    .with("budget", period).with("budget_usd", budget).with("spent_usd", spent).with("reserved_usd", reserved)
                    .with("expected_cost_usd", expected).with("resets_at", resets.toString());
        }
    }

    /** Where each of the tenant's budgets stands: budget, spent, reserved, remaining (absent when it has none). */
    public static Map<String, Object> view(TenantLimits limits, Ledger.Spent spent) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (limits.budgetUsdPerDay() != null) {
            out.put("day", Map.of("budget_usd", limits.budgetUsdPerDay(), "spent_usd", spent.today(), "reserved_usd", spent.reserved(),
                    "remaining_usd", limits.budgetUsdPerDay().subtract(spent.today()).subtract(spent.reserved()).max(BigDecimal.ZERO)));
        }
        if (limits.budgetUsdPerMonth() != null) {
            out.put("month", Map.of("budget_usd", limits.budgetUsdPerMonth(), "spent_usd", spent.thisMonth(), "reserved_usd", spent.reserved(),
                    "remaining_usd", limits.budgetUsdPerMonth().subtract(spent.thisMonth()).subtract(spent.reserved()).max(BigDecimal.ZERO)));
        }
        return out;
    }
}
