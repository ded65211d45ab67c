package ai.atelier.jobs.engine;

import java.util.HashSet;
import java.util.Set;

import jakarta.inject.Singleton;
import jakarta.enterprise.event.Observes;

import ai.atelier.fal.FalPricing;
import ai.atelier.models.LlmCompletion;
import ai.atelier.models.ModelCatalog;
import ai.atelier.models.ModelStrategy;
import io.quarkus.runtime.StartupEvent;

/** At start, the prices of every endpoint a model or a stage calls are read from fal, so the first job is not the one that waits. */
@Singleton
class PriceTracking {

    private final FalPricing pricing;
    private final ModelCatalog models;

    PriceTracking(FalPricing pricing, ModelCatalog models) {
        this.pricing = pricing;
        this.models = models;
    }

    void start(@Observes StartupEvent event) {
        Set<String> endpoints = new HashSet<>(Set.of(LlmCompletion.ROUTER, LlmCompletion.VISION));
        for (ModelStrategy m : models.all()) {
            endpoints.addAll(m.endpoints());
        }
        pricing.track(endpoints).subscribe().with(ok -> { }, e -> { });
    }
}
