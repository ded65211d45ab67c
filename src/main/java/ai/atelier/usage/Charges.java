package ai.atelier.usage;

import java.math.BigDecimal;
import java.util.UUID;

import ai.atelier.fal.FalPricing;
import ai.atelier.fal.FalResult;
import io.vertx.core.json.JsonObject;

/**
 * What one fal call cost, from fal's own figures: the billable units fal reported with the result
 * ({@code x-fal-billable-units}; for a token-priced call without them, the dollars its usage says) times
 * the endpoint's unit price in force, as the ledger row that records it. The one place a fal result
 * becomes money, for a job's calls and for the calls made outside jobs alike.
 */
public final class Charges {

    private Charges() {
    }

    /** A call's charge: its ledger row and what it cost. {@code priced} is false when fal gave no price or no units. */
    public record Charge(JsonObject row, BigDecimal usd, boolean priced) {
    }

    /**
     * @param job the job the call was made for, or null (a call outside jobs)
     * @param model the job's model, or null
     */
    public static Charge of(String tenant, UUID keyId, UUID job, String stage, String model, String endpoint, FalPricing.Price price,
            FalResult result) {
        Double units = result.billableUnits();
        if (units == null && price != null && price.perDollar() && result.body().getValue("usage") instanceof JsonObject u
                && u.getValue("cost") instanceof Number cost) {
            units = cost.doubleValue(); // a token-priced call: its units are the dollars its usage says
        }
        BigDecimal usd = units == null ? BigDecimal.ZERO : FalPricing.cost(price, units);
        JsonObject row = Ledger.row(tenant, keyId, job, stage, model, endpoint, result.requestId(), units, price == null ? null : price.unit(),
                price == null ? null : price.unitPrice(), usd, price == null ? null : price.readAt(), false);
        return new Charge(row, usd, price != null && units != null);
    }

    /**
     * What a cancelled job may still be billed for its requests that fal may have run: what was still expected of it
     * (its reservation, less what is recorded), on the first request's row, the others at $0, each marked
     * {@code may_be_billed}, so budgets and usage never count such a request as free.
     */
    public static io.vertx.core.json.JsonArray mayBeBilled(String tenant, UUID keyId, UUID job, String model, BigDecimal usd,
            java.util.List<String[]> endpointAndRequest) {
        io.vertx.core.json.JsonArray rows = new io.vertx.core.json.JsonArray();
        for (String[] r : endpointAndRequest) {
            rows.add(Ledger.row(tenant, keyId, job, "cancelled", model, r[0], r[1], null, null, null, rows.isEmpty() ? usd : BigDecimal.ZERO, null,
                    true));
        }
        return rows;
    }
}
