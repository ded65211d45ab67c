package ai.atelier.fal;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.inject.Singleton;
import jakarta.enterprise.event.Observes;

import ai.atelier.config.AtelierConfig;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.ext.web.client.WebClient;

/**
 * What fal charges, read from fal's platform pricing API (with the account's discounts) and kept,
 * refreshed every {@code atelier.fal.pricing-refresh}: a call costs its billable units
 * ({@code x-fal-billable-units}) times the unit price in force when it ran. Token-priced endpoints
 * (the LLM router) bill dollars at a unit price of 1, so the same rule holds. For quotes, fal's own
 * estimate of one typical call ({@code historical_api_price}) stands in where units cannot be known
 * beforehand (an LLM's answer).
 */
@Singleton
public class FalPricing {

    /** One endpoint's price as fal answered it, and when. */
    public record Price(String endpointId, BigDecimal unitPrice, String unit, Instant readAt) {

        public boolean perMegapixel() {
            return unit != null && unit.toLowerCase(java.util.Locale.ROOT).startsWith("megapixel");
        }

        public boolean perDollar() {
            return "usd".equalsIgnoreCase(unit);
        }
    }

    private final WebClient http;
    private final Vertx vertx;
    private final AtelierConfig.Fal config;
    private final Map<String, Price> prices = new ConcurrentHashMap<>();
    private final Map<String, BigDecimal> typicalCall = new ConcurrentHashMap<>();
    private final Set<String> known = ConcurrentHashMap.newKeySet();
    private long timer = -1;

    public FalPricing(Vertx vertx, AtelierConfig config) {
        this.vertx = vertx;
        this.config = config.fal();
        this.http = WebClient.create(vertx);
    }

    void start(@Observes StartupEvent event) {
        timer = vertx.setPeriodic(config.pricingRefresh().toMillis(), t -> refresh(Set.copyOf(known)).subscribe().with(ok -> { }, e -> { }));
    }

    void stop(@Observes ShutdownEvent event) {
        vertx.cancelTimer(timer);
    }

    /** The endpoints to keep prices of (every model's, every stage's); read now. */
    public Uni<Void> track(Set<String> endpoints) {
        known.addAll(endpoints);
        return refresh(endpoints);
    }

    /** The endpoint's price, read from fal if this instance has none yet; null when fal does not say (the call is then recorded unpriced). */
    public Uni<Price> price(String endpointId) {
        Price p = prices.get(endpointId);
        if (p != null) {
            return Uni.createFrom().item(p);
        }
        known.add(endpointId);
        return refresh(Set.of(endpointId)).map(v -> prices.get(endpointId));
    }

    /** Prices already read (for quotes that must not wait on fal). */
    public Price known(String endpointId) {
        return prices.get(endpointId);
    }

    /** What a call billed {@code units} costs at this price. */
    public static BigDecimal cost(Price price, double units) {
        if (price == null || price.unitPrice() == null) {
            return BigDecimal.ZERO;
        }
        return price.unitPrice().multiply(BigDecimal.valueOf(units)).setScale(8, RoundingMode.HALF_UP);
    }

    /** fal's estimate of one typical call of the endpoint, in dollars (for endpoints whose units cannot be known beforehand). */
    public Uni<BigDecimal> typicalCall(String endpointId) {
        BigDecimal estimated = typicalCall.get(endpointId);
        if (estimated != null) {
            return Uni.createFrom().item(estimated);
        }
        JsonObject body = new JsonObject().put("estimate_type", "historical_api_price")
                .put("endpoints", new JsonObject().put(endpointId, new JsonObject().put("call_quantity", 1)));
        return authed(http.postAbs(config.apiUrl() + "/v1/models/pricing/estimate")).timeout(config.callTimeout().toMillis())
                .sendJsonObject(body)
                .map(r -> {
                    if (r.statusCode() != 200) {
                        return BigDecimal.ZERO;
                    }
                    BigDecimal total = new BigDecimal(String.valueOf(r.bodyAsJsonObject().getValue("total_cost", 0)));
                    typicalCall.put(endpointId, total);
                    return total;
                })
                .onFailure().recoverWithItem(BigDecimal.ZERO);
    }

    private Uni<Void> refresh(Set<String> endpoints) {
        if (endpoints.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        List<String> ids = new ArrayList<>(endpoints);
        List<List<String>> batches = new ArrayList<>();
        for (int i = 0; i < ids.size(); i += 50) {
            batches.add(ids.subList(i, Math.min(ids.size(), i + 50))); // the API takes 1 to 50 ids
        }
        return Multi.createFrom().iterable(batches).onItem().transformToUniAndConcatenate(batch ->
                authed(http.getAbs(config.apiUrl() + "/v1/models/pricing")).addQueryParam("endpoint_id", String.join(",", batch))
                        .timeout(config.callTimeout().toMillis()).send()
                        .invoke(r -> {
                            if (r.statusCode() != 200) {
                                Log.warnf("fal prices not read: HTTP %d", r.statusCode());
                                return;
                            }
                            Instant now = Instant.now();
                            JsonArray list = r.bodyAsJsonObject().getJsonArray("prices", new JsonArray());
                            for (Object o : list) {
                                if (o instanceof JsonObject p && p.getValue("unit_price") != null) {
                                    prices.put(p.getString("endpoint_id"), new Price(p.getString("endpoint_id"),
                                            new BigDecimal(String.valueOf(p.getValue("unit_price"))), p.getString("unit"), now));
                                }
                            }
                        })
                        .onFailure().invoke(e -> Log.warnf("fal prices not read: %s", e.getMessage()))
                        .onFailure().recoverWithNull())
                .collect().last().replaceWithVoid();
    }

    private io.vertx.mutiny.ext.web.client.HttpRequest<io.vertx.mutiny.core.buffer.Buffer> authed(
            io.vertx.mutiny.ext.web.client.HttpRequest<io.vertx.mutiny.core.buffer.Buffer> request) {
        config.key().ifPresent(key -> request.putHeader("Authorization", "Key " + key));
        return request.putHeader("Accept", "application/json");
    }
}
