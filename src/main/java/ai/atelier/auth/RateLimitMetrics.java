package ai.atelier.auth;

import io.micrometer.core.instrument.Metrics;

/** Requests refused for a tenant's rate limit, by tenant id (the id, not the name: names can change; one series per tenant). */
final class RateLimitMetrics {

    private RateLimitMetrics() {
    }

    static void rejected(String tenant) {
        Metrics.counter("atelier_rate_limited_requests", "tenant", tenant == null ? "unknown" : tenant).increment();
    }
}
