package ai.atelier.auth;

import java.security.MessageDigest;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.inject.Singleton;
import jakarta.enterprise.event.Observes;


import ai.atelier.config.AtelierConfig;
import io.quarkus.logging.Log;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.vertx.http.runtime.filters.Filters;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;

/**
 * Knows who calls, before anything else runs, including reading the request's body (so an unknown
 * caller cannot fill the disk with uploads): a tenant's API key ({@code Authorization: Bearer} or
 * {@code X-API-Key}), the operator's admin key, or no key for the anonymous tenant when one is set.
 * Keys are looked up by their SHA-256 and compared in constant time; what an instance read of a key is
 * trusted for {@link #CACHE_NANOS}, so a revoked key stops working on every instance within seconds.
 * A tenant with a request limit pays one token per request from a bucket shared by every instance;
 * failed authentications are limited per client address ({@link ai.atelier.net.ClientAddress}: behind a
 * trusted proxy, the address it reports) so keys cannot be guessed at speed, while a valid key always
 * gets through.
 * A key, its hash or the admin key never reaches a log or a response.
 */
@Singleton
public class Authenticator {

    /** How long an instance trusts what it read of a key (a revocation reaches every instance within this). */
    static final long CACHE_NANOS = 3_000_000_000L;
    /** How often a key's last use is written: not on every request. */
    private static final long TOUCH_NANOS = 60_000_000_000L;
    private static final int CACHE_MAX = 100_000;

    private final ApiKeys keys;
    private final Tenants tenants;
    private final RateLimiter limiter;
    private final AtelierConfig config;
    private final ai.atelier.net.ClientAddress clientAddress;
    private final byte[] adminKeyHash;
    /** By the key's hash; an unknown key is kept too, as empty. */
    private final ai.atelier.util.RowCache<KeyHash, java.util.Optional<Known>> cache;
    private final Map<UUID, Long> touched = new ConcurrentHashMap<>();
    /** Client addresses over the failed-authentication limit, until when (this instance's view). */
    private final Map<String, Long> blocked = new ConcurrentHashMap<>();

    public Authenticator(ApiKeys keys, Tenants tenants, RateLimiter limiter, AtelierConfig config, ai.atelier.net.ClientAddress clientAddress) {
        this.clientAddress = clientAddress;
        this.keys = keys;
        // a failure carries only its type: a driver's message may quote the parameters, and the parameter is the key's hash
        this.cache = new ai.atelier.util.RowCache<>(java.time.Duration.ofNanos(CACHE_NANOS), CACHE_MAX,
                hash -> keys.findByHash(hash.bytes()).map(row -> java.util.Optional.ofNullable(row).map(Known::new))
                        .onFailure().transform(e -> new KeyNotRead(e)));
        this.tenants = tenants;
        this.limiter = limiter;
        this.config = config;
        this.adminKeyHash = config.adminKey().filter(k -> !k.isBlank()).map(ApiKeys::hash).orElse(null);
    }

    void start(@Observes StartupEvent event) {
        config.auth().anonymousTenant().filter(t -> !t.isBlank()).ifPresent(name -> {
            tenants.ensure(name).await().atMost(java.time.Duration.ofSeconds(30));
            Log.warnf("Requests without an API key are served as tenant '%s' (atelier.auth.anonymous-tenant): anyone who can reach "
                    + "this service can use and spend it", name);
        });
    }

    /** Before every other route, including the body handler. */
    void register(@Observes Filters filters) {
        filters.register(this::authenticate, 1000);
    }

    /** Routes anyone may call: health, metrics, the API document, static pages, and fal's (signed) webhook. */
    public static boolean open(String path) {
        return path == null || path.equals("/") || path.startsWith("/q/") || path.equals("/q") || path.startsWith("/playground")
                || path.equals("/v1/fal/webhook") || path.equals("/favicon.ico");
    }

    private void authenticate(RoutingContext rc) {
        if (open(rc.normalizedPath())) {
            rc.next();
            return;
        }
        String key = presented(rc);
        if (key == null) {
            String anonymous = config.auth().anonymousTenant().filter(t -> !t.isBlank()).orElse(null);
            if (anonymous != null) {
                admit(rc, new Caller(anonymous, anonymous, null, Set.of(Scopes.JOBS_READ, Scopes.JOBS_WRITE), false));
                return;
            }
            refuse(rc, "missing-api-key", "Missing API key",
                    "Send your API key as 'Authorization: Bearer <key>' (or 'X-API-Key: <key>')", "Bearer realm=\"atelier\"");
            return;
        }
        KeyHash hash = hash(rc, key);
        if (adminKeyHash != null && MessageDigest.isEqual(hash.bytes(), adminKeyHash)) {
            admit(rc, new Caller(null, null, null, Set.of(Scopes.ADMIN), true));
            return;
        }
        // A key is always checked, even from an address over the failed-authentication limit: the limit slows
        // guessing down, and must never lock a tenant (or, behind a proxy, every tenant) out with its right key.
        java.util.Optional<Known> known = cache.now(hash);
        if (known != null) {
            found(rc, known.orElse(null)); // nearly every request: a key seen in the last few seconds, answered without a reactive chain
            return;
        }
        cache.get(hash).subscribe().with(found -> found(rc, found.orElse(null)), e -> unavailable(rc, e));
    }

    /**
     * A key's SHA-256 as the cache's key: its hash code computed once, where a ByteBuffer's walked the 32 bytes one
     * call at a time on every lookup.
     */
    static final class KeyHash {

        private final byte[] bytes;
        private final int hash;

        KeyHash(byte[] bytes) {
            this.bytes = bytes;
            this.hash = java.util.Arrays.hashCode(bytes);
        }

        byte[] bytes() {
            return bytes;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof KeyHash other && other.hash == hash && java.util.Arrays.equals(other.bytes, bytes);
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public String toString() {
            return "KeyHash"; // never the hash itself, should one reach a log
        }
    }

    /** A key's row as read, with its scopes as the set every request of the key is checked against (made once, not per request). */
    private record Known(ApiKeys.KeyRow row, Set<String> scopes) {
        Known(ApiKeys.KeyRow row) {
            this(row, Set.copyOf(row.scopes()));
        }
    }

    /** A key and its SHA-256, as the last request on a connection presented it. */
    private record Hashed(String key, KeyHash hash) {
        @Override
        public String toString() {
            return "Hashed"; // never the key, should one reach a log
        }
    }

    private static final io.netty.util.AttributeKey<Hashed> LAST_KEY = io.netty.util.AttributeKey.valueOf("atelier.last-api-key");

    /**
     * The key's SHA-256, from the connection's last request when it presented the same key. A client sends one key on
     * every request of its connection, and hashing it was about 6% of a status read's CPU. The memo lives on the
     * connection: a key's plaintext is held no longer than the connection that carries it (no map of keys in the heap).
     * The comparison takes the same time whatever the two keys share: behind a proxy that pools its upstream
     * connections, one connection carries the requests of many clients.
     */
    private static KeyHash hash(RoutingContext rc, String key) {
        if (!(rc.request().connection() instanceof io.vertx.core.net.impl.ConnectionBase connection)) {
            return new KeyHash(ApiKeys.hash(key));
        }
        io.netty.util.Attribute<Hashed> memo = connection.channel().attr(LAST_KEY);
        Hashed last = memo.get();
        if (last != null && sameKey(last.key(), key)) {
            return last.hash();
        }
        KeyHash hash = new KeyHash(ApiKeys.hash(key));
        memo.set(new Hashed(key, hash));
        return hash;
    }

    /** Equal strings, compared in a time that depends only on their lengths. */
    static boolean sameKey(String a, String b) {
        if (a.length() != b.length()) {
            return false;
        }
        int diff = 0;
        for (int i = 0; i < a.length(); i++) {
            diff |= a.charAt(i) ^ b.charAt(i);
        }
        return diff == 0;
    }

    /** The key row the request's key hashes to (null: none): its tenant's caller is admitted, or the request refused. */
    private void found(RoutingContext rc, Known known) {
        ApiKeys.KeyRow found = known == null ? null : known.row();
        if (found == null || !found.usable(Instant.now())) {
            refuse(rc, "invalid-api-key", "Invalid API key", "The API key is not valid: unknown, revoked or expired",
                    "Bearer realm=\"atelier\", error=\"invalid_token\"");
            return;
        }
        touch(found.id());
        withLimits(found.tenantId(), limits -> admit(rc, new Caller(found.tenantId(), limits.name(), found.id(), known.scopes(), false),
                limits), e -> unavailable(rc, e));
    }

    /** A known caller: the tenant's request limit (if any), then on to the route. */
    private void admit(RoutingContext rc, Caller caller) {
        if (caller.tenantId() == null) {
            rc.put(Caller.KEY, caller);
            rc.next();
            return;
        }
        withLimits(caller.tenantId(), limits -> admit(rc, caller, limits), e -> {
            // limits unknown (the database is unreachable): served, as when Redis cannot count the request
            Log.debugf("rate limit not checked: %s", e.getMessage());
            rc.put(Caller.KEY, caller);
            rc.next();
        });
    }

    /** {@code then} with the tenant's limits: at once when this instance read them lately, else once they are read. */
    private void withLimits(String tenantId, java.util.function.Consumer<TenantLimits> then, java.util.function.Consumer<Throwable> failed) {
        TenantLimits cached = tenants.cachedLimits(tenantId);
        if (cached != null) {
            then.accept(cached);
            return;
        }
        tenants.limits(tenantId).subscribe().with(then, failed);
    }

    private void admit(RoutingContext rc, Caller caller, TenantLimits limits) {
        rc.put(Caller.KEY, caller);
        if (limits.requestsPerMinute() == null) {
            rc.next();
            return;
        }
        limiter.take(caller.tenantId(), limits.requestsPerMinute()).subscribe().with(decision -> {
            // draft-ietf-httpapi-ratelimit-headers: the policy, and where this caller stands in it
            rc.response().putHeader("RateLimit-Policy", "\"tenant\";q=" + decision.limit() + ";w=60");
            rc.response().putHeader("RateLimit", "\"tenant\";r=" + decision.remaining() + ";t=" + decision.resetSeconds());
            if (!decision.allowed()) {
                RateLimitMetrics.rejected(caller.tenantId());
                problem(rc, 429, "rate-limited", "Too many requests", "This tenant may make " + decision.limit()
                        + " requests per minute; try again in " + decision.retryAfterSeconds() + " s", null, decision.retryAfterSeconds());
                return;
            }
            rc.next();
        }, e -> {
            // Redis unreachable: serve rather than refuse everyone (the limit protects fal credit, budgets still hold)
            Log.debugf("rate limit not checked: %s", e.getMessage());
            rc.next();
        });
    }

    /**
     * A request without a usable key: a 401, or a 429 once its client address failed too often this minute.
     * An address this instance already knows to be over the limit is answered without asking Redis.
     */
    private void refuse(RoutingContext rc, String slug, String title, String detail, String challenge) {
        String address = clientAddress.of(rc.request());
        Long until = blocked.get(address);
        if (until != null) {
            long left = (until - System.nanoTime()) / 1_000_000_000L;
            if (left > 0) {
                tooManyFailures(rc, left + 1);
                return;
            }
            blocked.remove(address, until);
        }
        limiter.failed(address).subscribe().with(count -> {
            if (count[0] > config.auth().failuresPerMinute()) {
                if (blocked.size() > CACHE_MAX) {
                    blocked.clear(); // addresses without end (IPv6): Redis still counts them, this is only a shortcut
                }
                blocked.put(address, System.nanoTime() + count[1] * 1_000_000_000L);
                tooManyFailures(rc, count[1]);
                return;
            }
            problem(rc, 401, slug, title, detail, challenge, null);
        }, e -> problem(rc, 401, slug, title, detail, challenge, null));
    }

    private void tooManyFailures(RoutingContext rc, long retryAfter) {
        problem(rc, 429, "authentication-rate-limited", "Too many failed authentications",
                "Too many requests with a missing or wrong key came from this address; a valid key is still served, "
                        + "other attempts wait", null, retryAfter);
    }

    private void unavailable(RoutingContext rc, Throwable e) {
        if (e instanceof ai.atelier.problem.Problem p) {
            problem(rc, 401, "invalid-api-key", "Invalid API key", "The API key is not valid: unknown, revoked or expired", "Bearer", null);
            return;
        }
        // never the exception's message: a driver's message may quote the parameters, and one of them is the key's hash
        Log.warnf("API key not checked: %s", e instanceof KeyNotRead ? e.getMessage() : e.getClass().getSimpleName());
        problem(rc, 503, "auth-unavailable", "Authentication unavailable", "Keys cannot be checked right now; try again shortly", null, 5L);
    }

    /** A key's row could not be read; says only the type of what went wrong (a driver's message may quote the key's hash). */
    static final class KeyNotRead extends RuntimeException {
        KeyNotRead(Throwable cause) {
            super(cause.getClass().getSimpleName(), null, false, false);
        }
    }

    private void touch(UUID id) {
        long now = System.nanoTime();
        Long last = touched.get(id);
        if (last == null || now - last > TOUCH_NANOS) {
            touched.put(id, now);
            keys.touch(id).subscribe().with(ok -> { }, e -> Log.debugf("last use of key %s not written: %s", id, e.getMessage()));
        }
    }

    /** The key the request presents, or null. */
    static String presented(RoutingContext rc) {
        String auth = rc.request().getHeader(HttpHeaders.AUTHORIZATION);
        if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
            String k = auth.substring(7).trim();
            return k.isEmpty() ? null : k;
        }
        String header = rc.request().getHeader("X-API-Key");
        return header == null || header.isBlank() ? null : header.trim();
    }

    /** Writes a problem+json answer here (no resource ran); the connection closes if the request's body is still coming. */
    private void problem(RoutingContext rc, int status, String slug, String title, String detail, String challenge, Long retryAfter) {
        Map<String, String> headers = new java.util.LinkedHashMap<>();
        if (challenge != null) {
            headers.put("WWW-Authenticate", challenge);
        }
        if (retryAfter != null) {
            headers.put("Retry-After", String.valueOf(retryAfter));
        }
        ai.atelier.http.ProblemAnswers.send(rc, status, slug, title, detail, Map.of(), headers);
    }
}
