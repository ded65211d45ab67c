package ai.atelier.progress;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import ai.atelier.config.AtelierConfig;
import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.redis.client.Response;

/**
 * Live progress in Redis, all with the configured TTL; PostgreSQL stays the truth.
 * <ul>
 * <li>{@code atelier:job:{id}:progress}: the latest state, for reads;</li>
 * <li>{@code atelier:job:{id}:events}: a stream of every state, so an event stream can resume after
 * {@code Last-Event-ID};</li>
 * <li>channel {@code atelier:events}: each new state, so every instance can push it to its listeners.</li>
 * </ul>
 * One Lua script writes all three in one round trip. The braces make both keys of a job hash to the
 * same slot, so this also works on Redis Cluster.
 */
@ApplicationScoped
public class ProgressStore {

    public static final String CHANNEL = "atelier:events";
    private static final String WRITE = """
            redis.call('SETEX', KEYS[1], ARGV[1], ARGV[2])
            local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', '500', '*', 'data', ARGV[2])
            redis.call('EXPIRE', KEYS[2], ARGV[1])
            redis.call('PUBLISH', ARGV[3], ARGV[4] .. '\\n' .. id .. '\\n' .. ARGV[2])
            return id""";

    /** One entry of a job's event stream: its stream id (the SSE event id) and the state. */
    public record Event(String id, Progress progress) {
    }

    private final ReactiveRedisDataSource redis;
    private final ObjectMapper json;
    private final String ttlSeconds;

    public ProgressStore(ReactiveRedisDataSource redis, ObjectMapper json, AtelierConfig config) {
        this.redis = redis;
        this.json = json;
        this.ttlSeconds = String.valueOf(config.jobs().progressTtl().toSeconds());
    }

    public static String key(UUID jobId) {
        return "atelier:job:{" + jobId + "}:progress";
    }

    public static String streamKey(UUID jobId) {
        return "atelier:job:{" + jobId + "}:events";
    }

    /** The script's SHA-1, as EVALSHA takes it: the script is sent once per Redis (re)start, not with every write. */
    private static final String WRITE_SHA = sha1(WRITE);

    public Uni<Void> put(UUID jobId, Progress progress) {
        String payload = write(progress);
        return redis.execute("EVALSHA", WRITE_SHA, "2", key(jobId), streamKey(jobId), ttlSeconds, payload, CHANNEL, jobId.toString())
                // NOSCRIPT: a fresh Redis has not seen the script yet; EVAL loads it into its cache
                .onFailure(e -> String.valueOf(e.getMessage()).startsWith("NOSCRIPT"))
                .recoverWithUni(() -> redis.execute("EVAL", WRITE, "2", key(jobId), streamKey(jobId), ttlSeconds, payload, CHANNEL, jobId.toString()))
                .replaceWithVoid();
    }

    private static String sha1(String script) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-1")
                    .digest(script.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The live progress, or null when the key expired or Redis does not answer (the row still tells the state). */
    public Uni<Progress> get(UUID jobId) {
        return redis.execute("GET", key(jobId)).map(r -> r == null ? null : read(r.toString())).onFailure().recoverWithNull();
    }

    /** The job's events after {@code afterId} (exclusive; "0" for all), oldest first. */
    public Uni<List<Event>> history(UUID jobId, String afterId) {
        return redis.execute("XRANGE", streamKey(jobId), "(" + afterId, "+").map(r -> {
            List<Event> events = new ArrayList<>();
            if (r != null) {
                for (Response entry : r) {
                    Response fields = entry.get(1);
                    for (int i = 0; i + 1 < fields.size(); i += 2) {
                        if ("data".equals(fields.get(i).toString())) {
                            events.add(new Event(entry.get(0).toString(), read(fields.get(i + 1).toString())));
                        }
                    }
                }
            }
            return events;
        });
    }

    public String write(Progress progress) {
        try {
            return json.writeValueAsString(progress);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public Progress read(String payload) {
        try {
            return json.readValue(payload, Progress.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("unreadable progress in Redis", e);
        }
    }

    /** Orders stream ids ("millis-sequence"). */
    public static int compareIds(String a, String b) {
        String[] x = a.split("-");
        String[] y = b.split("-");
        int c = Long.compare(Long.parseLong(x[0]), Long.parseLong(y[0]));
        return c != 0 ? c : Long.compare(Long.parseLong(x.length > 1 ? x[1] : "0"), Long.parseLong(y.length > 1 ? y[1] : "0"));
    }
}
