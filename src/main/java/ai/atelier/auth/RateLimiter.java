package ai.atelier.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;

import jakarta.inject.Singleton;

import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.redis.client.Response;

/**
 * Limits that hold across replicas, kept in Redis by atomic scripts: a token bucket per tenant
 * (requests per minute; a full bucket allows a burst of a minute's requests, then it refills
 * steadily), and a count of failed authentications per client address per minute.
 */
@Singleton
public class RateLimiter {

    /** KEYS: bucket. ARGV: capacity (per minute). Answers allowed (0/1), tokens left, ms until one token, ms until full. */
    private static final String BUCKET = """
            local capacity = tonumber(ARGV[1])
            local rate = capacity / 60000
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
            local tokens = tonumber(b[1]) or capacity
            local at = tonumber(b[2]) or now
            tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
            local allowed = 0
            if tokens >= 1 then
              tokens = tokens - 1
              allowed = 1
            end
            redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
            redis.call('PEXPIRE', KEYS[1], 120000)
            local wait = 0
            if allowed == 0 then wait = math.ceil((1 - tokens) / rate) end
            return {allowed, math.floor(tokens), wait, math.ceil((capacity - tokens) / rate)}""";
    private static final String FAILURES = """
            local n = redis.call('INCR', KEYS[1])
            if n == 1 then redis.call('EXPIRE', KEYS[1], 60) end
            return {n, redis.call('TTL', KEYS[1])}""";

    /** A bucket's answer: whether the request may go, what is left, and when more comes. */
    public record Decision(boolean allowed, int limit, long remaining, long retryAfterSeconds, long resetSeconds) {
    }

    private final ReactiveRedisDataSource redis;

    public RateLimiter(ReactiveRedisDataSource redis) {
        this.redis = redis;
    }

    /** Takes one request from the tenant's per-minute bucket. */
    public Uni<Decision> take(String tenantId, int perMinute) {
        return script(BUCKET, "atelier:rate:{" + tenantId + "}", String.valueOf(perMinute)).map(r -> new Decision(r.get(0).toInteger() == 1,
                perMinute, r.get(1).toLong(), (r.get(2).toLong() + 999) / 1000, (r.get(3).toLong() + 999) / 1000));
    }

    /** Counts a failed authentication from this address; answers the count this minute and the seconds left in it. */
    public Uni<long[]> failed(String address) {
        return script(FAILURES, "atelier:authfail:{" + address + "}").map(r -> new long[] { r.get(0).toLong(), Math.max(1, r.get(1).toLong()) });
    }

    private Uni<Response> script(String script, String key, String... args) {
        String sha = sha1(script);
        String[] evalsha = new String[3 + args.length];
        evalsha[0] = sha;
        evalsha[1] = "1";
        evalsha[2] = key;
        System.arraycopy(args, 0, evalsha, 3, args.length);
        return redis.execute("EVALSHA", evalsha)
                .onFailure(e -> String.valueOf(e.getMessage()).startsWith("NOSCRIPT")).recoverWithUni(() -> {
                    String[] eval = evalsha.clone();
                    eval[0] = script;
                    return redis.execute("EVAL", eval);
                });
    }

    private static String sha1(String script) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(script.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
