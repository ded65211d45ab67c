package ai.atelier.progress;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.inject.Singleton;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import ai.atelier.config.AtelierConfig;
import io.quarkus.logging.Log;
import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.vertx.UniHelper;
import io.vertx.mutiny.redis.client.Response;

/**
 * A job's live state in Redis, all with a TTL; PostgreSQL stays the truth.
 * <ul>
 * <li>{@code atelier:job:{id}} (hash): the tenant and the job's view in the status format of the API it
 * was submitted through, rendered when the job changed, so a status read is one {@code HMGET} answered as stored;</li>
 * <li>{@code atelier:job:{id}:events}: a stream of every progress event, so an event stream can resume
 * after {@code Last-Event-ID};</li>
 * <li>channel {@code atelier:events}: each new event of a watched job, so every instance can push it to its listeners;</li>
 * <li>{@code atelier:job:{id}:watched}: set (with a short TTL, renewed) while an event stream or a waiting submit
 * listens to the job on some instance. Only a watched job's events are published: unwatched, every event of
 * every job went to every instance, which decoded it to find nobody listening (eight messages per job, times
 * the replicas). An event stream open on an instance of the previous version (a rolling update) marks nothing: it
 * sees a job this version runs end through its periodic row check, without the steps in between.</li>
 * </ul>
 * One Lua script writes them in one round trip. The braces make a job's keys hash to the same slot, so this
 * also works on Redis Cluster. The TTL never outlives the presigned URLs the views hold.
 */
// created at start, with its Redis data source: a live write timed to land during shutdown must not be the first use
@io.quarkus.runtime.Startup
@Singleton
public class ProgressStore {

    public static final String CHANNEL = "atelier:events";
    /**
     * KEYS: view hash, event stream, watch flag. ARGV: ttl, tenant, job id, status, generation (the job's retry count),
     * the number of events n, n events, then format/view pairs. A job's end is never overwritten by a late
     * write from before it (a run that had not yet seen a cancel), only by a later generation (a retry),
     * whose first write also clears the stream: a replay must not end at the failure the retry is recovering
     * from. Answers the last event's stream id.
     */
    private static final String WRITE = """
            local cur = redis.call('HMGET', KEYS[1], 'status', 'generation')
            if (cur[1] == 'succeeded' or cur[1] == 'failed' or cur[1] == 'cancelled') and cur[1] ~= ARGV[4]
                and tonumber(ARGV[5]) <= tonumber(cur[2] or '0') then
              return false
            end
            if tonumber(ARGV[5]) > tonumber(cur[2] or '0') then
              redis.call('DEL', KEYS[2])
            end
            local n = tonumber(ARGV[6])
            redis.call('HSET', KEYS[1], 'tenant', ARGV[2], 'status', ARGV[4], 'generation', ARGV[5], unpack(ARGV, 7 + n))
            redis.call('EXPIRE', KEYS[1], ARGV[1])
            local watched = redis.call('EXISTS', KEYS[3]) == 1
            local id
            for i = 7, 6 + n do
              id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', '500', '*', 'data', ARGV[i])
              if watched then
                redis.call('PUBLISH', 'atelier:events', ARGV[3] .. '\\n' .. id .. '\\n' .. ARGV[i])
              end
            end
            redis.call('EXPIRE', KEYS[2], ARGV[1])
            return id""";
    /** The script's SHA-1, as EVALSHA takes it: the script is sent once per Redis (re)start, not with every write. */
    static final String WRITE_SHA = sha1(WRITE);
    /** Reads what {@link #write} wrote: snake_case, the time in ISO-8601, any text. */
    private static final com.fasterxml.jackson.databind.ObjectReader EVENTS = new ObjectMapper()
            .registerModule(new com.fasterxml.jackson.datatype.jsr310.JavaTimeModule())
            .setPropertyNamingStrategy(com.fasterxml.jackson.databind.PropertyNamingStrategies.SNAKE_CASE)
            .disable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .readerFor(Progress.class);

    /** One entry of a job's event stream: its stream id (the SSE event id) and the state. */
    public record Event(String id, Progress progress) {
    }

    private final ReactiveRedisDataSource redis;
    private final io.vertx.redis.client.Redis bare;
    private final ObjectMapper json;
    private final String ttlSeconds;

    public ProgressStore(ReactiveRedisDataSource redis, ObjectMapper json, AtelierConfig config) {
        this.redis = redis;
        this.bare = redis.getRedis().getDelegate(); // the data source itself now, not at its first write (see the class's @Startup)
        this.json = json;
        // a view holds presigned URLs: it must expire before they do (with room for a client to use them)
        long presigned = config.s3().presignExpiry().toSeconds();
        long ttl = Math.min(config.jobs().progressTtl().toSeconds(), Math.max(60, presigned - Math.max(60, presigned / 10)));
        this.ttlSeconds = String.valueOf(ttl);
    }

    public static String key(UUID jobId) {
        return "atelier:job:{" + jobId + "}";
    }

    public static String streamKey(UUID jobId) {
        return "atelier:job:{" + jobId + "}:events";
    }

    public static String watchedKey(UUID jobId) {
        return "atelier:job:{" + jobId + "}:watched";
    }

    /**
     * Marks these jobs watched for {@code ttl}: their events are published from the next write on (whatever was
     * written before is in their streams). One round trip for all of them.
     */
    public io.vertx.core.Future<Void> watch(java.util.Collection<UUID> jobs, java.time.Duration ttl) {
        String px = String.valueOf(ttl.toMillis());
        List<io.vertx.redis.client.Request> sets = new ArrayList<>(jobs.size());
        for (UUID job : jobs) {
            sets.add(io.vertx.redis.client.Request.cmd(io.vertx.redis.client.Command.SET).arg(watchedKey(job)).arg("1").arg("PX").arg(px));
        }
        return sets.isEmpty() ? io.vertx.core.Future.succeededFuture() : bare.batch(sets).mapEmpty();
    }

    /**
     * Writes the job's views (format name → JSON) and appends {@code events} (oldest first, the last one the
     * state the views show) to its stream; one round trip.
     *
     * @param generation the job's retry count: a job's end is only ever overwritten by a later generation
     */
    public Uni<Void> put(UUID jobId, String tenant, int generation, Map<String, String> views, List<Progress> events) {
        // through the bare client, as the status read: a run writes three or four times, and the data source's reactive
        // wrapping (a String[] of the arguments, a Uni per command) cost about as much as building the command
        return Uni.createFrom().deferred(() -> UniHelper.toUni(bare.send(write(io.vertx.redis.client.Command.EVALSHA, WRITE_SHA, jobId, tenant, generation, views, events))
                // NOSCRIPT: a fresh (or restarted) Redis has not seen the script yet; EVAL loads it into its cache
                .recover(e -> String.valueOf(e.getMessage()).startsWith("NOSCRIPT")
                        ? bare.send(write(io.vertx.redis.client.Command.EVAL, WRITE, jobId, tenant, generation, views, events))
                        : io.vertx.core.Future.failedFuture(e))
                .<Void>mapEmpty()));
    }

    /** The script's call ({@code EVALSHA} with its SHA-1 or {@code EVAL} with the script) with the write's keys and arguments. */
    private io.vertx.redis.client.Request write(io.vertx.redis.client.Command call, String script, UUID jobId, String tenant, int generation,
            Map<String, String> views, List<Progress> events) {
        io.vertx.redis.client.Request command = io.vertx.redis.client.Request.cmd(call).arg(script).arg(3)
                .arg(key(jobId)).arg(streamKey(jobId)).arg(watchedKey(jobId)).arg(ttlSeconds).arg(tenant).arg(jobId.toString())
                .arg(events.get(events.size() - 1).status()).arg(generation).arg(events.size());
        for (Progress event : events) {
            command.arg(write(event));
        }
        views.forEach((name, view) -> command.arg(name).arg(view));
        return command;
    }

    /** Drops the job's live view (not its event stream): status reads fall back to its row. */
    public Uni<Void> forget(UUID jobId) {
        return redis.execute("DEL", key(jobId)).replaceWithVoid();
    }

    /** Drops the job's live view and its event stream (a job that was not accepted after all). */
    public Uni<Void> discard(UUID jobId) {
        return redis.execute("DEL", key(jobId), streamKey(jobId)).replaceWithVoid();
    }

    /**
     * The job's view in {@code format} as stored, or null when there is none for this tenant (expired,
     * never written, another tenant's) or Redis does not answer: the row still tells the state.
     */
    public Uni<String> view(UUID jobId, String tenant, String format) {
        return Uni.createFrom().deferred(() -> UniHelper.toUni(storedView(jobId, tenant, format)))
                .map(stored -> stored == null ? null : stored.toString())
                .onFailure().invoke(e -> Log.debugf("live view of %s not read: %s", jobId, e.getMessage()))
                .onFailure().recoverWithNull();
    }

    /**
     * The job's view in {@code format} as Redis holds it (its bytes, for a read answered as stored), or null as
     * {@link #view} answers null; a Redis failure fails the future. Through the bare client: a status read is the
     * hottest request there is, and the reactive wrappers around one command cost about as much as the command.
     */
    public io.vertx.core.Future<io.vertx.core.buffer.Buffer> storedView(UUID jobId, String tenant, String format) {
        return bare.send(io.vertx.redis.client.Request.cmd(io.vertx.redis.client.Command.HMGET).arg(key(jobId)).arg("tenant").arg(format))
                .map(r -> {
                    if (r == null || r.size() < 2 || r.get(0) == null || r.get(1) == null || !tenant.equals(r.get(0).toString())) {
                        return null;
                    }
                    return r.get(1).toBuffer();
                });
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
                            try {
                                events.add(new Event(entry.get(0).toString(), read(fields.get(i + 1).toString())));
                            } catch (IllegalStateException unreadable) {
                                // one event this version cannot read is left out, not the whole history with it
                                Log.warnf("job %s: event %s of its stream is unreadable; left out", jobId, entry.get(0));
                            }
                        }
                    }
                }
            }
            return events;
        });
    }

    /**
     * The event as JSON, as the API's mapper writes it (snake_case, every field, nulls too, the time in ISO-8601), written
     * field by field: a job's run writes about eight, and the mapper's reflective path cost about as much as the rest
     * of a live write. {@code ProgressJsonTest} holds the two to the same bytes.
     */
    public String write(Progress progress) {
        java.io.StringWriter out = new java.io.StringWriter(256);
        try (com.fasterxml.jackson.core.JsonGenerator g = json.getFactory().createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("status", progress.status());
            g.writeStringField("stage", progress.stage());
            g.writeNumberField("percent", progress.percent());
            g.writeStringField("message", progress.message());
            g.writeFieldName("queue_position");
            if (progress.queuePosition() == null) {
                g.writeNull();
            } else {
                g.writeNumber(progress.queuePosition());
            }
            g.writeFieldName("logs");
            if (progress.logs() == null) {
                g.writeNull();
            } else {
                g.writeStartArray();
                for (String line : progress.logs()) {
                    g.writeString(line);
                }
                g.writeEndArray();
            }
            g.writeStringField("updated_at", progress.updatedAt() == null ? null : progress.updatedAt().toString());
            g.writeEndObject();
            g.flush();
            return out.toString();
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * An event as stored. Not through the API's mapper: that one refuses control characters in any string, as a
     * request must not carry them, and fal's log lines do (a progress bar's ANSI colours): an event holding one could
     * be written but not read back, and a stream's history or catch-up failed on it.
     */
    public Progress read(String payload) {
        try {
            return EVENTS.readValue(payload);
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

    private static String sha1(String script) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-1")
                    .digest(script.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
