package ai.atelier.telemetry;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Singleton;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * The job engine's counters and histograms, all named {@code atelier_…} at {@code /q/metrics}, the names
 * {@code deploy/grafana/atelier-dashboard.json} queries. Labels are bounded sets: models and fal endpoints
 * come from the strategy beans, stages from the pipeline, error codes from {@link ai.atelier.jobs.Failure}'s
 * vocabulary; never a job id or a tenant's free text. Meters are cached per label set: {@code record*}
 * runs several times per job and a registry lookup builds an id each time.
 */
@Singleton
public class JobMetrics {

    /** Stage and fal buckets, in seconds: from a cached prompt to a 15-minute video render. */
    private static final Duration[] BUCKETS = { Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
            Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30),
            Duration.ofMinutes(1), Duration.ofMinutes(2), Duration.ofMinutes(5), Duration.ofMinutes(10), Duration.ofMinutes(15) };

    private final MeterRegistry registry;
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();

    /** Made once: counted several times per job, and a lookup by tags costs more than the increment. */
    private final Counter liveReads;
    private final Counter rowReads;

    public JobMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.liveReads = counter("atelier.status.reads", STATUS_READS, "from", "live");
        this.rowReads = counter("atelier.status.reads", STATUS_READS, "from", "row");
    }

    private static final String STATUS_READS = "Status reads of a job by id, by what answered them: its live view or its row";

    /** A job was accepted (its row written). */
    public void accepted(String model) {
        counter("atelier.jobs.accepted", "Jobs accepted, by model", "model", model).increment();
    }

    /** A job ended: {@code outcome} is succeeded, failed or cancelled; a failure also counts under its code. */
    public void finished(String model, String outcome, String failureCode) {
        counter("atelier.jobs.finished", "Jobs that reached an end, by model and outcome", "model", model, "outcome", outcome).increment();
        if (failureCode != null) {
            counter("atelier.jobs.failed", "Failed jobs, by model and error code", "model", model, "code", failureCode).increment();
        }
    }

    /** How long one run of a stage took (a resumed stage counts the run that finished it). */
    public void stage(String stage, long nanos) {
        timer("atelier.stage.duration", "Time a job spends in each stage of its pipeline", "stage", stage).record(nanos, TimeUnit.NANOSECONDS);
    }

    /** A fal request's time in fal's queue (submit → IN_PROGRESS). */
    public void falQueue(String endpoint, long nanos) {
        timer("atelier.fal.queue", "Time fal requests wait in fal's queue, by endpoint", "endpoint", endpoint).record(nanos, TimeUnit.NANOSECONDS);
    }

    /** A fal request's inference time (fal's own figure when it sends one, else IN_PROGRESS → COMPLETED). */
    public void falInference(String endpoint, long nanos) {
        timer("atelier.fal.inference", "fal's inference time per request, by endpoint", "endpoint", endpoint).record(nanos, TimeUnit.NANOSECONDS);
    }

    /**
     * A status read of a job by id: {@code live} when its live view answered it (one Redis read, the bytes as stored),
     * else {@code row} (no live view: the job's row is read and rendered, or it is not found). Mostly live while jobs run;
     * a growing share of row reads means clients poll jobs long finished, or Redis lost the live views.
     */
    public void statusRead(boolean live) {
        (live ? liveReads : rowReads).increment();
    }

    /** One webhook delivery attempt: delivered, failed (tried again later) or gave_up (the last attempt failed). */
    public void webhook(String outcome) {
        counter("atelier.webhook.deliveries", "Webhook delivery attempts, by outcome", "outcome", outcome).increment();
    }

    private Counter counter(String name, String help, String... tags) {
        return counters.computeIfAbsent(key(name, tags), k -> Counter.builder(name).description(help).tags(tags).register(registry));
    }

    private Timer timer(String name, String help, String... tags) {
        return timers.computeIfAbsent(key(name, tags), k -> Timer.builder(name).description(help).tags(tags).serviceLevelObjectives(BUCKETS)
                .minimumExpectedValue(BUCKETS[0]).maximumExpectedValue(BUCKETS[BUCKETS.length - 1]).register(registry));
    }

    private static String key(String name, String... tags) {
        return name + '\u0000' + String.join("\u0000", tags);
    }
}
