package ai.atelier.cache;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.inject.Singleton;

import ai.atelier.auth.TenantLimits;
import ai.atelier.config.AtelierConfig;
import ai.atelier.models.ModelStrategy;
import ai.atelier.storage.ObjectStore;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

/**
 * The result cache's policy, outside the run: what a request's cache settings come to (its mode, the tenant's switch,
 * whether it is cacheable at all: only a request with an explicit seed, on a model that makes files), what the submit
 * answer can truthfully say, a failed owner's entries let go, and an operator's drop. The run's side, one fal call at a
 * time, is {@code ai.atelier.jobs.engine.CachedCalls}.
 */
@Singleton
public class ResultCache {

    /** The job option that carries the settled settings ({@link Settled#options()}); its {@code status} is what the submit said. */
    public static final String OPTION = "cache";

    private final CacheEntries entries;
    private final ObjectStore store;
    private final AtelierConfig.Cache config;

    public ResultCache(CacheEntries entries, ObjectStore store, AtelierConfig config) {
        this.entries = entries;
        this.store = store;
        this.config = config.cache();
    }

    /**
     * A request's cache settings against the tenant's and the model: {@code bypass} when the tenant's cache is off, the
     * request has no explicit seed (fal is deterministic only for the same seed), the model answers text, or its plan is
     * several fal calls (a later call's input is an earlier call's output at fal, whose bytes nobody has hashed).
     */
    public Settled settle(CacheSpec.Asked asked, TenantLimits tenant, ModelStrategy model, Map<String, Object> tuned,
            java.util.function.BooleanSupplier chained) {
        Duration maxAge = asked.maxAge() != null ? asked.maxAge()
                : tenant.cacheMaxAgeSeconds() != null ? Duration.ofSeconds(tenant.cacheMaxAgeSeconds()) : config.maxAge();
        String reason = null;
        if (!(tenant.cacheEnabled() != null ? tenant.cacheEnabled() : config.enabled())) {
            reason = "the tenant's result cache is off";
        } else if (tuned == null || tuned.get("seed") == null) {
            reason = "no explicit seed";
        } else if (model.output() == ModelStrategy.Output.TEXT) {
            reason = "the model answers text";
        } else if (chained.getAsBoolean()) {
            reason = "the model chains several fal calls";
        } else if (CacheSpec.BYPASS.equals(asked.mode())) {
            reason = "asked";
        }
        return new Settled(reason == null ? asked.mode() : CacheSpec.BYPASS, maxAge, reason);
    }

    /** A request's cache settings as the job keeps them (in its options): mode, max age, why it is bypassed. */
    public record Settled(String mode, Duration maxAge, String reason) {

        public boolean cached() {
            return !CacheSpec.BYPASS.equals(mode);
        }

        /** What the submit answer says before the run reaches fal: refresh and bypass are known; use is hit or miss. */
        public String initialStatus() {
            return CacheSpec.USE.equals(mode) ? "miss" : mode;
        }

        public Map<String, Object> options(String status) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("mode", mode);
            m.put("max_age_ms", maxAge.toMillis());
            if (reason != null) {
                m.put("reason", reason);
            }
            m.put("status", status);
            return m;
        }

        /** The settings a job's options carry, or null (a job accepted before the cache). */
        public static Settled of(Map<String, Object> options) {
            if (options == null || !(options.get(OPTION) instanceof Map<?, ?> m) || !(m.get("mode") instanceof String mode)) {
                return null;
            }
            long ms = m.get("max_age_ms") instanceof Number n ? n.longValue() : 0;
            return new Settled(mode, Duration.ofMillis(ms), m.get("reason") instanceof String r ? r : null);
        }
    }

    /** Whether a fresh stored result is there for the key (at submit: the answer's hit or miss). */
    public Uni<Boolean> ready(String tenant, String key, Duration maxAge) {
        return entries.ready(tenant, key, maxAge);
    }

    /** A job that failed or was cancelled lets its pending entries go: nothing failed is cached, waiters take over. */
    public Uni<Void> release(UUID job) {
        return entries.release(job).chain(this::deleteFiles)
                .onFailure().invoke(e -> Log.warnf("job %s: its pending cache entries were not let go (%s); their lease ends them", job,
                        e.getMessage()))
                .onFailure().recoverWithNull();
    }

    /** Drops every entry of a tenant and its files (an operator's call); how many entries there were. */
    public Uni<Integer> drop(String tenant) {
        return entries.drop(tenant).chain(d -> deleteFiles(d.keys()).replaceWith(d.entries()));
    }

    public Uni<Void> deleteFiles(List<String> keys) {
        if (keys == null || keys.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        return Multi.createFrom().iterable(keys).onItem().transformToUniAndConcatenate(k -> store.delete(k).onFailure().recoverWithNull())
                .collect().last().replaceWithVoid();
    }

    /** Where a cached result's files live: its own prefix, apart from every job's files (their retention and discard never reach it). */
    public static String fileKey(String tenant, String key, UUID filledBy, int index, String extension) {
        return "cache/" + tenant + "/" + key + "/" + filledBy + "-" + index + (extension == null ? "" : "." + extension);
    }

    public AtelierConfig.Cache config() {
        return config;
    }
}
