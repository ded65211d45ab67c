package ai.atelier.usage;

import java.math.BigDecimal;

import jakarta.enterprise.context.ApplicationScoped;

import ai.atelier.auth.Caller;
import ai.atelier.auth.Tenants;
import ai.atelier.fal.FalPricing;
import ai.atelier.fal.FalResult;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * Fal calls made outside a job (the LLM endpoints, product analysis): refused before they are made when
 * they would cross the tenant's budget (at fal's estimate of a typical call), and recorded in the ledger
 * once fal answered, from fal's own figures, like a job's calls.
 */
@ApplicationScoped
public class Spending {

    private final Tenants tenants;
    private final Ledger ledger;
    private final FalPricing pricing;

    public Spending(Tenants tenants, Ledger ledger, FalPricing pricing) {
        this.tenants = tenants;
        this.ledger = ledger;
        this.pricing = pricing;
    }

    /** Fails with a 402 problem when a call to {@code endpoint} would take the tenant past a budget. */
    public Uni<Void> admit(Caller caller, String endpoint) {
        return tenants.limits(caller.tenantId()).chain(limits -> !limits.budgeted() ? Uni.createFrom().voidItem()
                : pricing.typicalCall(endpoint).chain(expected -> ledger.spent(caller.tenantId())
                        .invoke(spent -> Ledger.admit(limits, spent.today(), spent.thisMonth(), spent.reserved(), expected)).replaceWithVoid()));
    }

    /** Records what the call cost; never fails the caller (the answer is already paid for). */
    public Uni<Void> record(Caller caller, String stage, String endpoint, FalResult result) {
        return pricing.price(endpoint).chain(price -> {
            Double units = result.billableUnits();
            if (units == null && price != null && price.perDollar() && result.body().getValue("usage") instanceof JsonObject u
                    && u.getValue("cost") instanceof Number cost) {
                units = cost.doubleValue();
            }
            BigDecimal usd = units == null ? BigDecimal.ZERO : FalPricing.cost(price, units);
            JsonObject row = Ledger.row(caller.tenantId(), caller.keyId(), null, stage, null, endpoint, result.requestId(), units,
                    price == null ? null : price.unit(), price == null ? null : price.unitPrice(), usd, price == null ? null : price.readAt(), false);
            return ledger.record(caller.tenantId(), new JsonArray().add(row), usd);
        }).onFailure().invoke(e -> Log.warnf("spend of a %s call not recorded: %s", endpoint, e.getMessage())).onFailure().recoverWithNull();
    }
}
