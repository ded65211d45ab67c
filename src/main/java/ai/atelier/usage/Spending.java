package ai.atelier.usage;

import java.time.Duration;
import java.util.UUID;
import java.util.function.Supplier;

import jakarta.inject.Singleton;

import ai.atelier.auth.Caller;
import ai.atelier.auth.Tenants;
import ai.atelier.fal.FalPricing;
import ai.atelier.fal.FalResult;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonArray;

/**
 * Fal calls made outside a job (the LLM endpoints, product analysis), paid like a job's: before a call
 * its expected cost (fal's estimate of a typical call) is held against the tenant's budgets, so parallel
 * calls cannot all take the last dollar; once fal answered, the hold becomes the ledger row fal's own
 * figures give; a call that fails, or whose client goes away, lets its hold go.
 */
@Singleton
public class Spending {

    /**
     * How long a hold counts if nobody lets it go (its instance died mid-call): longer than any call or
     * stream may take, short enough that a crash does not block a budget for long.
     */
    static final Duration HOLD_TTL = Duration.ofMinutes(15);

    /** Money held for one call while it runs; {@link #NONE} for a tenant without budgets (nothing to hold). */
    public record Hold(UUID id) {
        public static final Hold NONE = new Hold(null);
    }

    private final Tenants tenants;
    private final Ledger ledger;
    private final FalPricing pricing;

    public Spending(Tenants tenants, Ledger ledger, FalPricing pricing) {
        this.tenants = tenants;
        this.ledger = ledger;
        this.pricing = pricing;
    }

    /** Runs {@code call} with its expected cost held; records what it cost as stage {@code stage}; a 402 problem when it would not fit. */
    public Uni<FalResult> call(Caller caller, String stage, String endpoint, Supplier<Uni<FalResult>> call) {
        return hold(caller, endpoint).chain(hold -> call.get()
                .call(result -> settle(caller, hold, stage, endpoint, result))
                .onFailure().call(e -> release(hold))
                .onCancellation().call(() -> release(hold)));
    }

    /** Holds a call's expected cost against the tenant's budgets; fails with a 402 problem when it would take it past one. */
    public Uni<Hold> hold(Caller caller, String endpoint) {
        return tenants.limits(caller.tenantId()).chain(limits -> !limits.budgeted() ? Uni.createFrom().item(Hold.NONE)
                : pricing.typicalCall(endpoint).chain(expected -> ledger.hold(caller.tenantId(), expected, HOLD_TTL,
                        spent -> Budgets.admit(limits, spent.today(), spent.thisMonth(), spent.reserved(), expected)))
                        .map(Hold::new));
    }

    /** Records what the call cost and lets its hold go; never fails the caller (the answer is already paid for). */
    public Uni<Void> settle(Caller caller, Hold hold, String stage, String endpoint, FalResult result) {
        return pricing.price(endpoint).chain(price -> {
            Charges.Charge charge = Charges.of(caller.tenantId(), caller.keyId(), null, stage, null, endpoint, price, result);
            JsonArray rows = new JsonArray().add(charge.row());
            return hold.id() == null ? ledger.record(caller.tenantId(), rows, charge.usd()) : ledger.settle(caller.tenantId(), hold.id(), rows, charge.usd());
        }).onFailure().invoke(e -> Log.warnf("spend of a %s call not recorded: %s", endpoint, e.getMessage())).onFailure().recoverWithNull();
    }

    /** Lets a hold go without a charge; never fails (an unreleased hold expires by itself). */
    public Uni<Void> release(Hold hold) {
        if (hold.id() == null) {
            return Uni.createFrom().voidItem();
        }
        return ledger.release(hold.id()).onFailure().invoke(e -> Log.debugf("hold not released (it expires): %s", e.getMessage()))
                .onFailure().recoverWithNull();
    }
}
