package ai.atelier.webhooks;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import ai.atelier.jobs.Job;
import ai.atelier.jobs.JobRepository;
import ai.atelier.net.UrlGuard;
import ai.atelier.problem.Problem;
import ai.atelier.storage.ObjectStore;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * A job's webhook: checked when the job is submitted, and one delivery row per event the job's filter
 * wants. Most deliveries ride in the statement of the transition they announce (see
 * {@link JobRepository.WebhookEvent}); {@link WebhookDispatcher} sends them, from any instance.
 */
@ApplicationScoped
public class Webhooks {

    /** The events a client can ask for, by the name it uses in {@code webhook.events}. */
    public static final Set<String> EVENTS = Set.of("queued", "started", "completed", "failed", "cancelled");

    /** A job's webhook as a client gives it. */
    public record Spec(String url, List<String> events) {
    }

    private static final String INSERT = """
            insert into webhook_deliveries (id, job_id, event_type, payload, status, next_attempt_at, created_at)
            values ($1, $2, $3, $4, 'pending', now(), now())""";

    private final UrlGuard guard;
    private final Pool pool;
    private final ObjectStore store;
    private final ObjectMapper json;

    public Webhooks(UrlGuard guard, Pool pool, ObjectStore store, ObjectMapper json) {
        this.guard = guard;
        this.pool = pool;
        this.store = store;
        this.json = json;
    }

    /** Checks a webhook given at submit: the URL passes the SSRF guard, the events are known ones. */
    public Uni<Spec> check(Spec spec) {
        if (spec == null) {
            return Uni.createFrom().nullItem();
        }
        if (spec.url() == null || spec.url().isBlank()) {
            // a webhook without a URL is a client's mistake, not a request for no webhook: dropping it would lose every event
            return Uni.createFrom().failure(Problem.invalid("invalid-webhook", "Invalid webhook", "The webhook needs a 'url'")
                    .with("field", "webhook.url"));
        }
        List<String> events = spec.events() == null || spec.events().isEmpty() ? List.copyOf(EVENTS)
                : spec.events().stream().map(e -> e.toLowerCase(Locale.ROOT).replaceFirst("^job\\.", "")).toList();
        for (String e : events) {
            if (!EVENTS.contains(e)) {
                return Uni.createFrom().failure(Problem.invalid("invalid-webhook-event", "Invalid webhook event",
                        "Unknown webhook event '" + e + "'; events: " + EVENTS.stream().sorted().toList()));
            }
        }
        return guard.check(spec.url(), "webhook-url").replaceWith(new Spec(spec.url().trim(), events));
    }

    /** The delivery of {@code event} for the job as it is now, or null when the job has no webhook or does not want the event. */
    public JobRepository.WebhookEvent event(Job job, String event) {
        if (!job.wantsWebhook(event)) {
            return null;
        }
        return new JobRepository.WebhookEvent(UUID.randomUUID(), "job." + event, payload(job, "job." + event));
    }

    /** Queues the event on its own (for transitions that cannot carry it in their statement). Never fails the caller. */
    public Uni<Void> enqueue(Job job, String event) {
        JobRepository.WebhookEvent e = event(job, event);
        if (e == null) {
            return Uni.createFrom().voidItem();
        }
        return pool.preparedQuery(INSERT).execute(Tuple.of(e.deliveryId(), job.id, e.type(), e.payload()))
                .invoke(() -> Log.debugf("job %s: webhook %s queued as %s", job.id, event, e.deliveryId()))
                .onFailure().invoke(x -> Log.warnf("job %s: webhook %s not queued: %s", job.id, event, x.getMessage()))
                .onFailure().recoverWithNull().replaceWithVoid();
    }

    private String payload(Job job, String type) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("id", job.id);
        data.put("model", job.model);
        data.put("status", job.status.wire());
        data.put("stage", job.stage);
        data.put("progress", job.progress);
        data.put("outputs", job.outputs.items().stream().map(f -> Map.of("key", f.key(), "url", store.presignGet(f.key()),
                "content_type", f.contentType(), "bytes", f.bytes())).toList());
        if (job.errorCode != null) {
            data.put("error", Map.of("code", job.errorCode, "message", String.valueOf(job.errorMessage)));
        }
        data.put("created_at", job.createdAt);
        data.put("finished_at", job.finishedAt);
        data.put("url", "/v1/jobs/" + job.id);
        try {
            return json.writeValueAsString(Map.of("type", type, "timestamp", Instant.now(), "data", data));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
