package ai.atelier.auth;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import jakarta.inject.Singleton;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * Every statement on {@code api_keys}. A key is {@code atl_} plus 192 random bits, shown once when it is
 * made; only its SHA-256 is kept, with a visible prefix. A key that carries that much randomness needs
 * no slow hash: guessing is hopeless, and looking a key up is one indexed read.
 */
@Singleton
public class ApiKeys {

    static final String PREFIX = "atl_";

    /** A key as stored (never the key itself). */
    public record KeyRow(UUID id, String tenantId, String name, String prefix, List<String> scopes, Instant createdAt, Instant expiresAt,
            Instant revokedAt, Instant lastUsedAt) {

        public boolean usable(Instant now) {
            return revokedAt == null && (expiresAt == null || expiresAt.isAfter(now));
        }
    }

    /** A key just made: the only moment its secret exists outside the caller's hands. */
    public record NewKey(KeyRow row, String key) {
    }

    private static final String INSERT = """
            insert into api_keys (id, tenant_id, name, prefix, hash, scopes, created_at, expires_at)
            values ($1, $2, $3, $4, $5, $6, now(), $7)
            returning id, tenant_id, name, prefix, scopes, created_at, expires_at, revoked_at, last_used_at""";
    private static final String BY_HASH = """
            select id, tenant_id, name, prefix, scopes, created_at, expires_at, revoked_at, last_used_at from api_keys where hash = $1""";
    private static final String OF_TENANT = """
            select id, tenant_id, name, prefix, scopes, created_at, expires_at, revoked_at, last_used_at from api_keys
            where tenant_id = $1 order by created_at""";
    private static final String BY_ID = """
            select id, tenant_id, name, prefix, scopes, created_at, expires_at, revoked_at, last_used_at from api_keys where id = $1""";
    private static final String REVOKE = "update api_keys set revoked_at = coalesce(revoked_at, now()) where id = $1 returning id";
    /** Revokes a key only while it is live: a revoked or expired key is never rotated into a working one. */
    private static final String REVOKE_LIVE = """
            update api_keys set revoked_at = now() where id = $1 and revoked_at is null and (expires_at is null or expires_at > now())
            returning id, tenant_id, name, prefix, scopes, created_at, expires_at, revoked_at, last_used_at""";
    private static final String TOUCH = "update api_keys set last_used_at = now() where id = $1";

    private final Pool pool;
    /**
     * Seeded when the bean is made, at run time. A static one would be made while a native image is built (Quarkus
     * initialises classes at build time) and every binary would start from the same seed: the native check refuses it.
     */
    private final SecureRandom random = new SecureRandom();

    public ApiKeys(Pool pool) {
        this.pool = pool;
    }

    public Uni<NewKey> create(String tenantId, String name, Set<String> scopes, Instant expiresAt) {
        return create(pool, tenantId, name, scopes, expiresAt);
    }

    private Uni<NewKey> create(io.vertx.mutiny.sqlclient.SqlClient client, String tenantId, String name, Set<String> scopes, Instant expiresAt) {
        byte[] secret = new byte[24];
        random.nextBytes(secret);
        String key = PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        String prefix = key.substring(0, PREFIX.length() + 6);
        return client.preparedQuery(INSERT).execute(Tuple.tuple().addUUID(UUID.randomUUID()).addString(tenantId).addString(name)
                .addString(prefix).addValue(io.vertx.core.buffer.Buffer.buffer(hash(key)))
                .addArrayOfString(scopes.stream().sorted().toArray(String[]::new))
                .addOffsetDateTime(expiresAt == null ? null : expiresAt.atOffset(ZoneOffset.UTC)))
                .map(rows -> new NewKey(row(rows.iterator().next()), key));
    }

    /**
     * A new key in place of a live one, same tenant, name, scopes and expiry, the old one revoked, in one
     * transaction: null when the key is not live (unknown, revoked, expired), so rotating can never bring a
     * dead key back, and two rotations of one key make one new key, not two.
     */
    public Uni<NewKey> rotate(UUID id) {
        return pool.withTransaction(conn -> conn.preparedQuery(REVOKE_LIVE).execute(Tuple.of(id)).chain(rows -> {
            if (rows.rowCount() == 0) {
                return Uni.createFrom().nullItem();
            }
            KeyRow old = row(rows.iterator().next());
            return create(conn, old.tenantId(), old.name(), new java.util.LinkedHashSet<>(old.scopes()), old.expiresAt());
        }));
    }

    /** The key whose SHA-256 this is, or null. */
    Uni<KeyRow> findByHash(byte[] hash) {
        return pool.preparedQuery(BY_HASH).execute(Tuple.of(io.vertx.core.buffer.Buffer.buffer(hash)))
                .map(rows -> rows.rowCount() == 0 ? null : row(rows.iterator().next()));
    }

    public Uni<List<KeyRow>> ofTenant(String tenantId) {
        return pool.preparedQuery(OF_TENANT).execute(Tuple.of(tenantId)).map(rows -> {
            List<KeyRow> out = new ArrayList<>();
            rows.forEach(r -> out.add(row(r)));
            return out;
        });
    }

    public Uni<KeyRow> find(UUID id) {
        return pool.preparedQuery(BY_ID).execute(Tuple.of(id)).map(rows -> rows.rowCount() == 0 ? null : row(rows.iterator().next()));
    }

    /** Revokes a key (at once here; other instances stop taking it within their cache's lifetime); false when there is none. */
    public Uni<Boolean> revoke(UUID id) {
        return pool.preparedQuery(REVOKE).execute(Tuple.of(id)).map(rows -> rows.rowCount() == 1);
    }

    Uni<Void> touch(UUID id) {
        return pool.preparedQuery(TOUCH).execute(Tuple.of(id)).replaceWithVoid();
    }

    /** Cloned for each hash (a MessageDigest is not thread-safe); never used itself. */
    private static final MessageDigest SHA_256 = sha256();

    static byte[] hash(String key) {
        try {
            // a clone of one digest: looking the algorithm up in the security providers on every request cost as much as hashing
            return ((MessageDigest) SHA_256.clone()).digest(key.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static KeyRow row(Row r) {
        return new KeyRow(r.getUUID("id"), r.getString("tenant_id"), r.getString("name"), r.getString("prefix"),
                List.of(r.getArrayOfStrings("scopes")), instant(r.getOffsetDateTime("created_at")), instant(r.getOffsetDateTime("expires_at")),
                instant(r.getOffsetDateTime("revoked_at")), instant(r.getOffsetDateTime("last_used_at")));
    }

    private static Instant instant(OffsetDateTime t) {
        return t == null ? null : t.toInstant();
    }
}
