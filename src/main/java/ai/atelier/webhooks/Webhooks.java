package ai.atelier.webhooks;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import jakarta.inject.Singleton;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import ai.atelier.jobs.Job;
import ai.atelier.net.UrlGuard;
import ai.atelier.problem.Problem;
import ai.atelier.storage.ObjectStore;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;

/**
 * A job's webhook: checked when the job is submitted (the tenant must have a signing secret by then), and one
 * delivery row per event the job's filter wants, numbered in the job's order. Most deliveries ride in the
 * statement of the transition they announce (see {@link WebhookEvent}); {@link WebhookDispatcher}
 * sends them, from any instance.
 */
@Singleton
public class Webhooks {

    /** The events a client can ask for, by the name it uses in {@code webhook.events}. */
    public static final Set<String> EVENTS = Set.of("queued", "started", "completed", "failed", "cancelled");

    /** A job's webhook as a client gives it. */
    public record Spec(String url, List<String> events) {
    }

    private final UrlGuard guard;
    private final WebhookDeliveries deliveries;
    private final ObjectStore store;
    private final ObjectMapper json;
    private final WebhookSecrets secrets;

    public Webhooks(UrlGuard guard, WebhookDeliveries deliveries, ObjectStore store, ObjectMapper json, WebhookSecrets secrets) {
        this.guard = guard;
        this.deliveries = deliveries;
        this.store = store;
        this.json = json;
        this.secrets = secrets;
    }

    /**
     * Checks a webhook given at submit: the events are known ones, the tenant has a signing secret (deliveries are
     * never sent unsigned), and the URL passes the SSRF guard.
     */
    public Uni<Spec> check(String tenant, Spec spec) {
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
        return secrets.hasCurrent(tenant)
                .chain(has -> {
                    if (!has) {
                        throw Problem.invalid("webhook-secret-required", "Webhook secret required", "This tenant has no webhook signing "
                                + "secret yet, and webhooks are never sent unsigned: create one with POST /v1/webhook-secret (the answer "
                                + "shows it once; keep it to verify deliveries), then submit again").with("field", "webhook");
                    }
                    return guard.check(spec.url(), "webhook-url");
                })
                .replaceWith(new Spec(spec.url().trim(), events));
    }

    /** The delivery of {@code event} for the job as it is now, or null when the job has no webhook or does not want the event. */
    public WebhookEvent event(Job job, String event) {
        if (!job.wantsWebhook(event)) {
            return null;
        }
        return new WebhookEvent(UUID.randomUUID(), "job." + event, payload(job, "job." + event));
    }

    /** Queues the event on its own (for transitions that cannot carry it in their statement). Never fails the caller. */
    public Uni<Void> enqueue(Job job, String event) {
        WebhookEvent e = event(job, event);
        if (e == null) {
            return Uni.createFrom().voidItem();
        }
        return deliveries.insert(job.id, e)
                .invoke(() -> Log.debugf("job %s: webhook %s queued as %s", job.id, event, e.deliveryId()))
                .onFailure().invoke(x -> Log.warnf("job %s: webhook %s not queued: %s", job.id, event, x.getMessage()))
                .onFailure().recoverWithNull().replaceWithVoid();
    }

    private String payload(Job job, String type) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("id", job.id);
        // the receiver can check that the delivery is about one of its own jobs (data.sequence is added as it is queued: WebhookDeliveries)
        data.put("tenant", job.tenant);
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
            Map<String, Object> event = new LinkedHashMap<>();
            event.put("type", type);
            event.put("timestamp", Instant.now());
            event.put("data", data);
            return json.writeValueAsString(event);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
