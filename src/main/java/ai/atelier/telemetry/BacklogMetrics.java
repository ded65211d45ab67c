package ai.atelier.telemetry;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import jakarta.inject.Singleton;
import jakarta.enterprise.event.Observes;

import ai.atelier.config.AtelierConfig;
import ai.atelier.fal.FalClient;
import ai.atelier.fal.FalWaits;
import ai.atelier.jobs.engine.JobRunner;
import ai.atelier.storage.ObjectStore;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Vertx;

/**
 * The backlog and the breakers as gauges.
 * <ul>
 * <li>{@code atelier_jobs{state="queued"|"held"|"running"}} and {@code atelier_oldest_queued_job_age_seconds}: the
 * whole service's, read from PostgreSQL (one query per refresh), so every replica reports the same figure and
 * a dashboard takes {@code max}, not {@code sum}. Held: batch items waiting for their tenant's batch share, apart
 * from queued and out of the oldest age, so a 10,000-item batch waiting its turn reads as what it is and not as
 * instances too busy to claim;</li>
 * <li>{@code atelier_instance_jobs{state="working"|"waiting_fal"|"parked"}}: what this replica holds (a dashboard
 * sums them): running a stage, waiting on fal (streaming or parked), parked without a status stream;</li>
 * <li>{@code atelier_circuit_breaker_state{name="fal"|"s3"}}: 0 closed, 1 half-open, 2 open.</li>
 * </ul>
 */
@Singleton
class BacklogMetrics {

    private final ai.atelier.jobs.JobRepository jobs;
    private final Vertx vertx;
    private final AtelierConfig config;
    private final AtomicLong queued = new AtomicLong();
    private final AtomicLong running = new AtomicLong();
    private final AtomicLong held = new AtomicLong();
    private final AtomicReference<Double> oldest = new AtomicReference<>(0.0);
    private long timer = -1;

    BacklogMetrics(ai.atelier.jobs.JobRepository jobs, MeterRegistry registry, Vertx vertx, AtelierConfig config, JobRunner runner,
            FalWaits waits) {
        this.jobs = jobs;
        this.vertx = vertx;
        this.config = config;
        Gauge.builder("atelier.jobs", queued, AtomicLong::get).description("Jobs not yet ended, service-wide (from PostgreSQL)")
                .tag("state", "queued").register(registry);
        Gauge.builder("atelier.jobs", held, AtomicLong::get).description("Jobs not yet ended, service-wide (from PostgreSQL)")
                .tag("state", "held").register(registry);
        Gauge.builder("atelier.jobs", running, AtomicLong::get).description("Jobs not yet ended, service-wide (from PostgreSQL)")
                .tag("state", "running").register(registry);
        Gauge.builder("atelier.oldest.queued.job.age", oldest, AtomicReference::get).baseUnit("seconds")
                .description("Age of the oldest job still queued, service-wide").register(registry);
        Gauge.builder("atelier.instance.jobs", runner, r -> r.working()).description("Jobs this instance holds, by what they do")
                .tag("state", "working").register(registry);
        Gauge.builder("atelier.instance.jobs", waits, w -> w.waiting() - w.parked()).description("Jobs this instance holds, by what they do")
                .tag("state", "waiting_fal").register(registry);
        Gauge.builder("atelier.instance.jobs", waits, FalWaits::parked).description("Jobs this instance holds, by what they do")
                .tag("state", "parked").register(registry);
        for (String name : new String[] { FalClient.BREAKER, ObjectStore.BREAKER }) {
            Gauge.builder("atelier.circuit.breaker.state", () -> breakerValue(name))
                    .description("Circuit breaker state: 0 closed, 1 half-open, 2 open").tag("name", name).register(registry);
        }
    }

    private static double breakerValue(String name) {
        return switch (ai.atelier.health.CircuitBreakersHealthCheck.state(name)) {
            case "open" -> 2;
            case "half_open" -> 1;
            default -> 0;
        };
    }

    void start(@Observes StartupEvent event) {
        refresh();
        timer = vertx.setPeriodic(config.usage().metricsRefresh().toMillis(), id -> refresh());
    }

    void stop(@Observes ShutdownEvent event) {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
    }

    private void refresh() {
        jobs.backlog().subscribe().with(b -> {
            queued.set(b.queued());
            held.set(b.held());
            running.set(b.running());
            oldest.set(b.oldestQueuedSeconds());
        }, e -> Log.debugf("backlog metrics not refreshed: %s", e.getMessage()));
    }
}
