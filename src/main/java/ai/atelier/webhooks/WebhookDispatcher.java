package ai.atelier.webhooks;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import jakarta.inject.Singleton;
import jakarta.enterprise.event.Observes;

import ai.atelier.config.AtelierConfig;
import ai.atelier.net.UrlGuard;
import ai.atelier.telemetry.JobMetrics;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.core.http.HttpClient;
import io.vertx.mutiny.core.http.HttpClientRequest;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.SqlConnection;

/**
 * Sends due webhook deliveries from the outbox in PostgreSQL, from any number of instances, so that one tenant's
 * slow or dead receiver delays nobody else:
 * <ul>
 * <li>each attempt runs on its own (an instance never waits for a batch to finish), bounded by
 * {@code atelier.webhooks.timeout} from the address check to the answer's end;</li>
 * <li>a tenant has at most {@code max-in-flight-per-tenant} attempts under way across every instance (claims are made
 * one at a time, under an advisory lock, and count the leases the tenant holds), and claiming takes tenants in turn;</li>
 * <li>a job's deliveries go out one at a time in their sequence: a delivery is due only when no earlier one of its
 * job is still pending (being retried, or sent right now).</li>
 * </ul>
 * Each is signed per Standard Webhooks with every secret the tenant has live (the current one, and during a rotation's
 * grace period the previous one: space-separated signatures). A 2xx delivers; anything else is retried with
 * exponential backoff until {@code max-attempts}. Every attempt is a row, with its status or a neutral reason.
 */
@Singleton
public class WebhookDispatcher {

    /** A delivery this instance claimed, with what its tenant signs with now. */
    private record Signed(WebhookDeliveries.Claimed delivery, List<WebhookSigner> signers) {
    }

    /** What one attempt came to: the answer's status (none when no answer came), and the error a client may read. */
    private record Outcome(Integer status, String error) {
        boolean delivered() {
            return error == null;
        }
    }

    private final Vertx vertx;
    private final Pool pool;
    private final WebhookDeliveries deliveries;
    private final UrlGuard guard;
    private final WebhookSecrets secrets;
    private final SecretBox box;
    private final JobMetrics metrics;
    private final AtelierConfig.Webhooks config;
    private final HttpClient http;
    private final double leaseSeconds;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicBoolean claiming = new AtomicBoolean();
    private volatile boolean stopped;
    private long timer = -1;

    public WebhookDispatcher(Vertx vertx, Pool pool, WebhookDeliveries deliveries, UrlGuard guard, WebhookSecrets secrets, SecretBox box, AtelierConfig config,
            JobMetrics metrics) {
        this.vertx = vertx;
        this.pool = pool;
        this.deliveries = deliveries;
        this.guard = guard;
        this.secrets = secrets;
        this.box = box;
        this.metrics = metrics;
        this.config = config.webhooks();
        // the lease outlives any attempt (its timeout) by a margin, so no other instance sends it twice meanwhile
        this.leaseSeconds = this.config.timeout().toMillis() / 1000.0 + 30;
        // as many connections per host as attempts: tenants whose receivers share a host never queue behind each other
        this.http = vertx.createHttpClient(new HttpClientOptions()
                .setConnectTimeout((int) Math.min(this.config.timeout().toMillis(), 5_000)).setMaxPoolSize(this.config.maxInFlight()));
    }

    void start(@Observes StartupEvent event) {
        if (config.legacySecret().isPresent()) {
            Log.warn("ATELIER_WEBHOOKS_SECRET is set but no longer used: each tenant signs with its own secret (POST /v1/webhook-secret)");
        }
        if (!box.available()) {
            Log.warn("ATELIER_WEBHOOKS_ENCRYPTION_KEY is not set: no tenant can make a webhook secret, so no webhook can be sent");
        }
        timer = vertx.setPeriodic(config.pollInterval().toMillis(), t -> claim());
    }

    void stop(@Observes ShutdownEvent event) {
        stopped = true;
        vertx.cancelTimer(timer);
    }

    /** Claims what this instance has room for and starts each attempt on its own; called by the timer and after every attempt. */
    private void claim() {
        if (stopped || !claiming.compareAndSet(false, true)) {
            return;
        }
        int room = config.maxInFlight() - inFlight.get();
        if (room <= 0) {
            claiming.set(false);
            return;
        }
        pool.withTransaction(conn -> deliveries.claim(conn, config.maxInFlightPerTenant(), room, leaseSeconds).chain(rows -> signed(conn, rows)))
                .subscribe().with(claimed -> {
                    claiming.set(false);
                    for (Signed c : claimed) {
                        inFlight.incrementAndGet();
                        deliver(c).subscribe().with(done -> attemptEnded(), failed -> {
                            Log.warnf("webhook %s: attempt not recorded (%s); its lease lets it be tried again", c.delivery().id(), failed.getClass().getSimpleName());
                            attemptEnded();
                        });
                    }
                }, failed -> {
                    claiming.set(false);
                    Log.warnf("webhook claim failed: %s", failed.getMessage());
                });
    }

    private void attemptEnded() {
        inFlight.decrementAndGet();
        claim(); // the tenant's next delivery, or the job's next one, may be due now
    }

    private Uni<List<Signed>> signed(SqlConnection conn, List<WebhookDeliveries.Claimed> claimed) {
        if (claimed.isEmpty()) {
            return Uni.createFrom().item(List.of());
        }
        Set<String> tenants = new LinkedHashSet<>();
        claimed.forEach(d -> tenants.add(d.tenant()));
        return secrets.signers(conn, tenants).map(signers -> {
            List<Signed> out = new ArrayList<>(claimed.size());
            for (WebhookDeliveries.Claimed d : claimed) {
                out.add(new Signed(d, signers.getOrDefault(d.tenant(), List.of())));
            }
            return out;
        });
    }

    private Uni<Void> deliver(Signed signed) {
        WebhookDeliveries.Claimed c = signed.delivery();
        long started = System.nanoTime();
        if (signed.signers().isEmpty()) {
            // never sent unsigned: the delivery waits, with backoff, for the tenant to make a secret
            return record(c, new Outcome(null, DeliveryErrors.NO_SECRET), 0);
        }
        long timestamp = Instant.now().getEpochSecond();
        String webhookId = "msg_" + c.id().toString().replace("-", "");
        String signature = WebhookSigner.header(signed.signers(), webhookId, timestamp, c.payload());
        AtomicReference<HttpClientRequest> sent = new AtomicReference<>();
        return guard.check(c.url(), "webhook-url")
                .chain(target -> http.request(target.request(HttpMethod.POST, config.timeout().toMillis())))
                .chain(request -> {
                    sent.set(request);
                    request.putHeader("Content-Type", "application/json").putHeader("User-Agent", "atelier-webhooks/1.0")
                            .putHeader("webhook-id", webhookId).putHeader("webhook-timestamp", String.valueOf(timestamp))
                            .putHeader("webhook-signature", signature);
                    return request.send(Buffer.buffer(c.payload()));
                })
                // read to its end (its content is not kept), so the connection can serve the next attempt
                .chain(response -> response.end().replaceWith(response.statusCode()))
                .ifNoItem().after(config.timeout()).failWith(TimeoutException::new)
                .map(status -> status >= 200 && status < 300 ? new Outcome(status, null) : new Outcome(status, DeliveryErrors.http(status)))
                // every failure of an attempt is its outcome, stored in neutral words; the connection is dropped, not left hanging
                .onFailure(Exception.class).recoverWithItem(e -> {
                    HttpClientRequest request = sent.get();
                    if (request != null) {
                        request.reset();
                    }
                    return new Outcome(null, DeliveryErrors.of(e));
                })
                .chain(outcome -> record(c, outcome, (int) ((System.nanoTime() - started) / 1_000_000)));
    }

    private Uni<Void> record(WebhookDeliveries.Claimed c, Outcome outcome, int millis) {
        int attempt = c.attempts() + 1;
        String status = outcome.delivered() ? "delivered" : attempt >= config.maxAttempts() ? "failed" : "pending";
        long delay = (long) (config.backoff().toMillis() * Math.pow(2, attempt - 1) * (0.9 + ThreadLocalRandom.current().nextDouble() * 0.2));
        return deliveries.record(c.id(), Instant.now().atOffset(ZoneOffset.UTC), outcome.status(), outcome.error(), millis, status, delay / 1000.0)
                .invoke(() -> {
                    metrics.webhook(outcome.delivered() ? "delivered" : status.equals("failed") ? "gave_up" : "failed");
                    if (!outcome.delivered()) {
                        Log.infof("job %s: webhook %s attempt %d failed (%s); %s", c.jobId(), c.id(), attempt, outcome.error(),
                                status.equals("failed") ? "giving up" : "next in " + Duration.ofMillis(delay));
                    }
                })
                .replaceWithVoid();
    }
}
