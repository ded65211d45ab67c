package ai.atelier.webhooks;

import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.inject.Singleton;

import ai.atelier.config.AtelierConfig;
import ai.atelier.problem.Problem;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.SqlClient;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * Each tenant's webhook signing secret (Standard Webhooks, {@code whsec_} and 32 random bytes): made, shown once,
 * rotated with a grace period during which the old one still signs, and kept only encrypted ({@link SecretBox}).
 * Every SQL statement on {@code webhook_secrets} is here.
 */
@Singleton
public class WebhookSecrets {

    /** The longest grace period a rotation may ask for. */
    public static final Duration MAX_GRACE = Duration.ofDays(7);
    /** Made at run time, per bean (a static one would be built into a native image with its seed). */
    private final SecureRandom random = new SecureRandom();

    private static final String LOCK_TENANT = "select id from tenants where id = $1 for update";
    private static final String CURRENT = "select id from webhook_secrets where tenant_id = $1 and expires_at is null";
    private static final String INSERT = "insert into webhook_secrets (id, tenant_id, ciphertext, created_at) values ($1, $2, $3, now())";
    private static final String RETIRE = """
            update webhook_secrets set expires_at = now() + make_interval(secs => $2) where tenant_id = $1 and expires_at is null returning id""";
    /** Secrets past their grace never sign again: their ciphertexts go. */
    private static final String FORGET = "delete from webhook_secrets where tenant_id = $1 and expires_at <= now()";
    private static final String LIVE = """
            select id, created_at, expires_at from webhook_secrets where tenant_id = $1 and (expires_at is null or expires_at > now())
            order by expires_at desc nulls first, created_at desc""";
    private static final String SIGNING = """
            select tenant_id, id, ciphertext from webhook_secrets where tenant_id = any($1) and (expires_at is null or expires_at > now())
            order by tenant_id, expires_at desc nulls first, created_at desc""";

    /** A secret as the API shows it: never its value. {@code expiresAt} is null for the current one. */
    public record Info(UUID id, Instant createdAt, Instant expiresAt) {
    }

    /** A tenant's live secrets: the current one (null when there is none) and those still in their grace period. */
    public record State(Info current, List<Info> previous) {
    }

    /** A secret just made: its value is here and nowhere else, ever. */
    public record Made(Info secret, String value, List<Info> previous) {
        @Override
        public String toString() {
            return "Made[" + secret + ", value=***]"; // a stray log line never prints the secret
        }
    }

    private final Pool pool;
    private final SecretBox box;
    private final Duration defaultGrace;
    /** Tenants known to have a current secret: a secret is replaced, never removed, so this never goes stale. */
    private final Set<String> withSecret = ConcurrentHashMap.newKeySet();

    public WebhookSecrets(Pool pool, SecretBox box, AtelierConfig config) {
        this.pool = pool;
        this.box = box;
        this.defaultGrace = config.webhooks().secretGrace();
    }

    /** Makes the tenant's first secret; a 409 problem when it has one (that is a rotation). */
    public Uni<Made> create(String tenant) {
        requireKey();
        return pool.withTransaction(conn -> lockTenant(conn, tenant)
                .chain(() -> conn.preparedQuery(CURRENT).execute(Tuple.of(tenant)))
                .chain(current -> {
                    if (current.rowCount() > 0) {
                        throw new Problem(409, "webhook-secret-exists", "Webhook secret exists", "Tenant " + tenant + " already has a "
                                + "webhook secret, shown when it was made; to get a new one, rotate it (POST …/webhook-secret/rotate): the old "
                                + "one keeps signing for a grace period");
                    }
                    return insert(conn, tenant);
                })
                .chain(made -> live(conn, tenant).map(state -> new Made(state.current(), made.value(), state.previous()))))
                .invoke(() -> withSecret.add(tenant));
    }

    /**
     * Replaces the tenant's secret: the old one still signs for {@code grace} (null: the configured default), so
     * deliveries carry both signatures meanwhile; a 404 problem when the tenant has none yet.
     */
    public Uni<Made> rotate(String tenant, Duration grace) {
        requireKey();
        Duration g = grace == null ? defaultGrace : grace;
        return pool.withTransaction(conn -> lockTenant(conn, tenant)
                .chain(() -> conn.preparedQuery(RETIRE).execute(Tuple.of(tenant, (double) g.toMillis() / 1000)))
                .chain(retired -> {
                    if (retired.rowCount() == 0) {
                        throw Problem.notFound("Tenant " + tenant + " has no webhook secret to rotate; create one with POST …/webhook-secret");
                    }
                    return conn.preparedQuery(FORGET).execute(Tuple.of(tenant));
                })
                .chain(() -> insert(conn, tenant))
                .chain(made -> live(conn, tenant).map(state -> new Made(state.current(), made.value(), state.previous()))))
                .invoke(made -> Log.infof("tenant %s: webhook secret rotated to %s, the previous one signs for %d s more", tenant,
                        made.secret().id(), g.toSeconds()));
    }

    /** The tenant's live secrets, without their values. */
    public Uni<State> state(String tenant) {
        return live(pool, tenant);
    }

    /** Whether the tenant has a current secret (checked at every submit with a webhook; cached once true). */
    public Uni<Boolean> hasCurrent(String tenant) {
        if (withSecret.contains(tenant)) {
            return Uni.createFrom().item(true);
        }
        return pool.preparedQuery(CURRENT).execute(Tuple.of(tenant)).map(rows -> {
            if (rows.rowCount() > 0) {
                withSecret.add(tenant);
                return true;
            }
            return false;
        });
    }

    /**
     * What each of these tenants signs with now: the current secret first, then those in their grace period. A tenant
     * without any is absent. A secret that does not open (another encryption key) is left out, with a warning.
     */
    public Uni<Map<String, List<WebhookSigner>>> signers(SqlClient client, Collection<String> tenants) {
        if (tenants.isEmpty()) {
            return Uni.createFrom().item(Map.of());
        }
        return client.preparedQuery(SIGNING).execute(Tuple.of(tenants.toArray(String[]::new))).map(rows -> {
            Map<String, List<WebhookSigner>> out = new LinkedHashMap<>();
            for (Row r : rows) {
                String tenant = r.getString("tenant_id");
                UUID id = r.getUUID("id");
                try {
                    byte[] key = box.open(r.getBuffer("ciphertext").getBytes(), tenant, id.toString());
                    out.computeIfAbsent(tenant, t -> new ArrayList<>()).add(new WebhookSigner(key));
                } catch (RuntimeException unreadable) {
                    // a wrong key or a damaged row: skipped, or every tenant's deliveries would stop, since this runs in the
                    // transaction that claims them all (the box's messages name no secret material)
                    Log.warnf("tenant %s: webhook secret %s cannot be opened (%s); it is skipped", tenant, id, unreadable.getMessage());
                }
            }
            return out;
        });
    }

    /** Checks a grace period a client asked for. */
    public static Duration grace(String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        long seconds;
        try {
            seconds = Long.parseLong(text.strip());
        } catch (NumberFormatException e) {
            seconds = -1;
        }
        if (seconds < 0 || seconds > MAX_GRACE.toSeconds()) {
            throw Problem.invalid("invalid-grace", "Invalid grace period", "grace_seconds is a whole number from 0 (the old secret stops "
                    + "signing at once) to " + MAX_GRACE.toSeconds() + " (7 days)").with("parameter", "grace_seconds");
        }
        return Duration.ofSeconds(seconds);
    }

    private void requireKey() {
        if (!box.available()) {
            throw new Problem(503, "webhook-secrets-unavailable", "Webhook secrets unavailable", "The operator has not set "
                    + "ATELIER_WEBHOOKS_ENCRYPTION_KEY, which webhook secrets are kept encrypted with: no secret can be made until then");
        }
    }

    private static Uni<Void> lockTenant(SqlClient conn, String tenant) {
        return conn.preparedQuery(LOCK_TENANT).execute(Tuple.of(tenant)).invoke(rows -> {
            if (rows.rowCount() == 0) {
                throw Problem.notFound("There is no tenant " + tenant);
            }
        }).replaceWithVoid();
    }

    private Uni<Made> insert(SqlClient conn, String tenant) {
        UUID id = UUID.randomUUID();
        byte[] key = new byte[32];
        random.nextBytes(key);
        byte[] sealed = box.seal(key, tenant, id.toString());
        String value = "whsec_" + Base64.getEncoder().encodeToString(key);
        java.util.Arrays.fill(key, (byte) 0);
        return conn.preparedQuery(INSERT).execute(Tuple.of(id, tenant, io.vertx.core.buffer.Buffer.buffer(sealed)))
                .map(rows -> new Made(null, value, List.of())); // read back with the rest of the state, as the database dated it
    }

    private static Uni<State> live(SqlClient client, String tenant) {
        return client.preparedQuery(LIVE).execute(Tuple.of(tenant)).map(WebhookSecrets::state);
    }

    private static State state(RowSet<Row> rows) {
        Info current = null;
        List<Info> previous = new ArrayList<>();
        for (Row r : rows) {
            Instant expires = r.getOffsetDateTime("expires_at") == null ? null : r.getOffsetDateTime("expires_at").toInstant();
            Info info = new Info(r.getUUID("id"), r.getOffsetDateTime("created_at").toInstant(), expires);
            if (expires == null) {
                current = info;
            } else {
                previous.add(info);
            }
        }
        return new State(current, List.copyOf(previous));
    }
}
