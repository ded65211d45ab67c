package ai.atelier.jobs;

import java.time.Instant;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;

import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * The job row's per-stage record ({@code stages} column): each write is one statement that merges into
 * the stage's entry, so concurrent writers (styles of a shoot) never undo each other and no session is
 * held. These are the hot updates of a running job; they go straight to the reactive client.
 */
@ApplicationScoped
public class StageLog {

    private static final String BEGIN = """
            update jobs set stage = $2, progress = greatest(progress, $3), updated_at = now(),
                   stages = jsonb_set(stages, array[$2::text], coalesce(stages -> $2, '{}'::jsonb) || $4::jsonb)
            where id = $1""";
    private static final String MERGE = """
            update jobs set updated_at = now(),
                   stages = jsonb_set(stages, array[$2::text], coalesce(stages -> $2, '{}'::jsonb) || $3::jsonb)
            where id = $1""";

    private final Pool pool;

    public StageLog(Pool pool) {
        this.pool = pool;
    }

    /** Marks a stage running and makes it the job's current stage. */
    public Uni<Void> begin(UUID id, String stage, int percent) {
        JsonObject entry = new JsonObject().put("status", "running").put("started_at", Instant.now().toString()).putNull("error");
        return pool.preparedQuery(BEGIN).execute(Tuple.of(id, stage, percent, entry)).replaceWithVoid();
    }

    /** Marks a stage done, with its duration since {@code startedNanos} and whatever else it measured (cost, model…). */
    public Uni<Void> succeeded(UUID id, String stage, long startedNanos, JsonObject measured) {
        JsonObject entry = new JsonObject().put("status", "succeeded").put("duration_ms", (System.nanoTime() - startedNanos) / 1_000_000)
                .put("finished_at", Instant.now().toString());
        if (measured != null) {
            entry.mergeIn(measured);
        }
        return merge(id, stage, entry);
    }

    /** Marks a stage skipped (nothing for it to do, or its result was kept from an earlier run). */
    public Uni<Void> skipped(UUID id, String stage, String why) {
        return merge(id, stage, new JsonObject().put("status", "skipped").put("reason", why));
    }

    public Uni<Void> merge(UUID id, String stage, JsonObject fields) {
        return pool.preparedQuery(MERGE).execute(Tuple.of(id, stage, fields)).replaceWithVoid();
    }
}
