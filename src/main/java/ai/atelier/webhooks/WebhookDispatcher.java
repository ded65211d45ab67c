package ai.atelier.webhooks;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import jakarta.enterprise.context.ApplicationScoped;
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
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.SqlConnection;
import io.vertx.mutiny.sqlclient.Tuple;

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
@ApplicationScoped
public class WebhookDispatcher {

    /** Held for the length of one claim, so two instances never count the same tenant's leases at once. */
    private static final String TRY_LOCK = "select pg_try_advisory_xact_lock(7022344298541289579)";
    private static final String CLAIM = """
            with leased as (
                select j.tenant, count(*) as n
                from webhook_deliveries d join jobs j on j.id = d.job_id
                where d.status = 'pending' and d.lease_until > now()
                group by j.tenant),
            due as (
                select d.id, j.tenant, d.next_attempt_at,
                       row_number() over (partition by j.tenant order by d.next_attempt_at, d.sequence) as place
                from webhook_deliveries d join jobs j on j.id = d.job_id
                where d.status = 'pending' and d.next_attempt_at <= now() and (d.lease_until is null or d.lease_until < now())
                  -- a job's deliveries in order: an earlier one still pending (retried, or under way) goes first
                  and not exists (select 1 from webhook_deliveries e
                                  where e.job_id = d.job_id and e.status = 'pending' and e.sequence < d.sequence)),
            picked as (
                select due.id from due left join leased l on l.tenant = due.tenant
                where due.place <= $1::int - coalesce(l.n, 0)
                order by due.place, due.next_attempt_at
                limit $2::int)
            update webhook_deliveries d set lease_until = now() + make_interval(secs => $3)
            from picked p, jobs j
            where d.id = p.id and j.id = d.job_id
            returning d.id, d.job_id, j.tenant, d.payload, d.attempts, j.webhook_url""";
    private static final String RECORD = """
            with attempt as (
                insert into webhook_attempts (delivery_id, attempted_at, status_code, error, duration_ms) values ($1, $2, $3, $4, $5))
            update webhook_deliveries set attempts = attempts + 1, last_status = $3, last_error = $4, lease_until = null, status = $6,
                   next_attempt_at = case when $6::text = 'pending' then now() + make_interval(secs => $7) end,
                   delivered_at = case when $6::text = 'delivered' then now() else delivered_at end
            where id = $1""";

    /** A delivery this instance claimed, with what its tenant signs with now. */
    private record Claimed(UUID id, UUID jobId, String tenant, String payload, int attempts, String url, List<WebhookSigner> signers) {
    }

    /** What one attempt came to: the answer's status (none when no answer came), and the error a client may read. */
    private record Outcome(Integer status, String error) {
        boolean delivered() {
            return error == null;
        }
    }

    private final Vertx vertx;
    private final Pool pool;
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

    public WebhookDispatcher(Vertx vertx, Pool pool, UrlGuard guard, WebhookSecrets secrets, SecretBox box, AtelierConfig config,
            JobMetrics metrics) {
        this.vertx = vertx;
        this.pool = pool;
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
        pool.withTransaction(conn -> conn.query(TRY_LOCK).execute()
                .chain(lock -> lock.iterator().next().getBoolean(0)
                        ? conn.preparedQuery(CLAIM).execute(Tuple.of(config.maxInFlightPerTenant(), room, leaseSeconds)).chain(rows -> signed(conn, rows))
                        : Uni.createFrom().item(List.<Claimed>of()))) // another instance is claiming: the next round will
                .subscribe().with(claimed -> {
                    claiming.set(false);
                    for (Claimed c : claimed) {
                        inFlight.incrementAndGet();
                        deliver(c).subscribe().with(done -> attemptEnded(), failed -> {
                            Log.warnf("webhook %s: attempt not recorded (%s); its lease lets it be tried again", c.id(), failed.getClass().getSimpleName());
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

    private Uni<List<Claimed>> signed(SqlConnection conn, RowSet<Row> rows) {
        if (rows.rowCount() == 0) {
            return Uni.createFrom().item(List.of());
        }
        Set<String> tenants = new LinkedHashSet<>();
        rows.forEach(r -> tenants.add(r.getString("tenant")));
        return secrets.signers(conn, tenants).map(signers -> {
            List<Claimed> out = new ArrayList<>(rows.rowCount());
            for (Row r : rows) {
                String tenant = r.getString("tenant");
                out.add(new Claimed(r.getUUID("id"), r.getUUID("job_id"), tenant, r.getString("payload"), r.getInteger("attempts"),
                        r.getString("webhook_url"), signers.getOrDefault(tenant, List.of())));
            }
            return out;
        });
    }

    private Uni<Void> deliver(Claimed c) {
        long started = System.nanoTime();
        if (c.signers().isEmpty()) {
            // never sent unsigned: the delivery waits, with backoff, for the tenant to make a secret
            return record(c, new Outcome(null, DeliveryErrors.NO_SECRET), 0);
        }
        long timestamp = Instant.now().getEpochSecond();
        String webhookId = "msg_" + c.id().toString().replace("-", "");
        String signature = WebhookSigner.header(c.signers(), webhookId, timestamp, c.payload());
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

    private Uni<Void> record(Claimed c, Outcome outcome, int millis) {
        int attempt = c.attempts() + 1;
        String status = outcome.delivered() ? "delivered" : attempt >= config.maxAttempts() ? "failed" : "pending";
        long delay = (long) (config.backoff().toMillis() * Math.pow(2, attempt - 1) * (0.9 + ThreadLocalRandom.current().nextDouble() * 0.2));
        Tuple row = Tuple.tuple().addUUID(c.id()).addOffsetDateTime(Instant.now().atOffset(ZoneOffset.UTC)).addInteger(outcome.status())
                .addString(outcome.error()).addInteger(millis).addString(status).addDouble(delay / 1000.0);
        return pool.preparedQuery(RECORD).execute(row)
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
