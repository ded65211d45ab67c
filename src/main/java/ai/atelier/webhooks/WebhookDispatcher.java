package ai.atelier.webhooks;

import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import ai.atelier.config.AtelierConfig;
import ai.atelier.net.UrlGuard;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.core.http.HttpClient;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * Sends due webhook deliveries: claimed with {@code FOR UPDATE SKIP LOCKED} and a short lease so
 * instances share them, signed per Standard Webhooks ({@code webhook-id}, {@code webhook-timestamp},
 * {@code webhook-signature}), to the address the SSRF guard checked. A 2xx delivers; anything else is
 * retried with exponential backoff until {@code atelier.webhooks.max-attempts}. Every attempt is a row.
 */
@ApplicationScoped
public class WebhookDispatcher {

    private static final String CLAIM = """
            update webhook_deliveries d set lease_until = now() + interval '2 minutes'
            from jobs j
            where d.id in (select id from webhook_deliveries
                           where status = 'pending' and next_attempt_at <= now() and (lease_until is null or lease_until < now())
                           order by next_attempt_at for update skip locked limit 20)
              and j.id = d.job_id
            returning d.id, d.payload, d.attempts, j.webhook_url""";
    private static final String ATTEMPT = """
            insert into webhook_attempts (delivery_id, attempted_at, status_code, error, duration_ms) values ($1, $2, $3, $4, $5)""";
    private static final String OUTCOME = """
            update webhook_deliveries set attempts = attempts + 1, last_status = $2, last_error = $3, lease_until = null,
                   status = $4, next_attempt_at = $5, delivered_at = case when $4 = 'delivered' then now() else delivered_at end
            where id = $1""";

    private final Vertx vertx;
    private final Pool pool;
    private final UrlGuard guard;
    private final AtelierConfig.Webhooks config;
    private final WebhookSigner signer;
    private final HttpClient http;
    private final AtomicBoolean busy = new AtomicBoolean();
    private long timer = -1;

    private final ai.atelier.telemetry.JobMetrics metrics;

    public WebhookDispatcher(Vertx vertx, Pool pool, UrlGuard guard, AtelierConfig config, ai.atelier.telemetry.JobMetrics metrics) {
        this.metrics = metrics;
        this.vertx = vertx;
        this.pool = pool;
        this.guard = guard;
        this.config = config.webhooks();
        this.signer = config.webhooks().secret().map(WebhookSigner::new).orElse(null);
        this.http = vertx.createHttpClient(new HttpClientOptions().setConnectTimeout(5_000).setMaxPoolSize(32));
    }

    void start(@Observes StartupEvent event) {
        if (signer == null) {
            Log.warn("atelier.webhooks.secret is not set: webhooks are sent unsigned");
        }
        timer = vertx.setPeriodic(config.pollInterval().toMillis(), t -> sendDue());
    }

    void stop(@Observes ShutdownEvent event) {
        vertx.cancelTimer(timer);
    }

    private void sendDue() {
        if (!busy.compareAndSet(false, true)) {
            return;
        }
        pool.preparedQuery(CLAIM).execute()
                .onItem().transformToMulti(rows -> io.smallrye.mutiny.Multi.createFrom().iterable(rows))
                .onItem().transformToUniAndMerge(this::deliver)
                .collect().last()
                .onTermination().invoke(() -> busy.set(false))
                .subscribe().with(ok -> { }, e -> Log.warnf("webhook dispatch failed: %s", e.getMessage()));
    }

    private Uni<Void> deliver(Row row) {
        UUID id = row.getUUID("id");
        String body = row.getString("payload");
        int attempts = row.getInteger("attempts");
        String url = row.getString("webhook_url");
        long timestamp = Instant.now().getEpochSecond();
        String webhookId = "msg_" + id.toString().replace("-", "");
        long started = System.nanoTime();
        return guard.check(url, "webhook-url")
                .chain(target -> http.request(target.request(HttpMethod.POST, config.timeout().toMillis()))
                        .chain(request -> {
                            request.putHeader("Content-Type", "application/json").putHeader("User-Agent", "atelier-webhooks/1.0")
                                    .putHeader("webhook-id", webhookId).putHeader("webhook-timestamp", String.valueOf(timestamp));
                            if (signer != null) {
                                request.putHeader("webhook-signature", signer.sign(webhookId, timestamp, body));
                            }
                            return request.send(Buffer.buffer(body));
                        })
                        .call(response -> response.body()) // drain it
                        .map(response -> response.statusCode()))
                .map(status -> new Outcome(status, status >= 200 && status < 300 ? null : "HTTP " + status))
                .onFailure().recoverWithItem(e -> new Outcome(null, e.getClass().getSimpleName() + ": " + String.valueOf(e.getMessage())))
                .chain(outcome -> record(id, attempts + 1, outcome, (int) ((System.nanoTime() - started) / 1_000_000)));
    }

    private record Outcome(Integer status, String error) {
        boolean delivered() {
            return error == null;
        }
    }

    private Uni<Void> record(UUID id, int attempt, Outcome outcome, int millis) {
        String status = outcome.delivered() ? "delivered" : attempt >= config.maxAttempts() ? "failed" : "pending";
        long delay = (long) (config.backoff().toMillis() * Math.pow(2, attempt - 1) * (0.9 + ThreadLocalRandom.current().nextDouble() * 0.2));
        Instant next = Instant.now().plus(Duration.ofMillis(delay));
        return pool.preparedQuery(ATTEMPT).execute(Tuple.of(id, Instant.now().atOffset(java.time.ZoneOffset.UTC), outcome.status(),
                outcome.error(), millis))
                .chain(() -> pool.preparedQuery(OUTCOME).execute(Tuple.tuple().addUUID(id).addInteger(outcome.status())
                        .addString(outcome.error()).addString(status).addOffsetDateTime(next.atOffset(java.time.ZoneOffset.UTC))))
                .invoke(() -> {
                    metrics.webhook(outcome.delivered() ? "delivered" : status.equals("failed") ? "gave_up" : "failed");
                    if (!outcome.delivered()) {
                        Log.infof("webhook %s: attempt %d failed (%s); %s", id, attempt, outcome.error(),
                                status.equals("failed") ? "giving up" : "next in " + delay + " ms");
                    }
                })
                .replaceWithVoid();
    }
}
