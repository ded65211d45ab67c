package ai.atelier.cache;

import java.math.BigDecimal;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.inject.Singleton;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The result cache's counters at {@code /q/metrics}: each cacheable fal call's outcome by model
 * ({@code atelier_cache_lookups_total{model, result=hit|miss|refresh}}) and what hits saved
 * ({@code atelier_cache_saved_usd_total{model}}). Labels are the strategy beans' ids and the outcome words, never a key.
 */
@Singleton
public class CacheMetrics {

    private final MeterRegistry registry;
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();

    public CacheMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    /** One cacheable fal call's outcome: hit, miss (fal called, result stored) or refresh. */
    public void looked(String model, String result) {
        counters.computeIfAbsent("lookups|" + model + "|" + result, k -> Counter.builder("atelier.cache.lookups")
                .description("Cacheable fal calls, by model and outcome (hit, miss, refresh)").tag("model", model).tag("result", result)
                .register(registry)).increment();
    }

    /** A hit saved what fal charged the call it repeats. */
    public void saved(String model, BigDecimal usd) {
        if (usd == null || usd.signum() <= 0) {
            return;
        }
        counters.computeIfAbsent("saved|" + model, k -> Counter.builder("atelier.cache.saved.usd")
                .description("US dollars the result cache's hits did not pay fal, by model").tag("model", model).register(registry))
                .increment(usd.doubleValue());
    }
}
