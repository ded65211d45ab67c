package ai.atelier.jobs.engine;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

import jakarta.inject.Singleton;

import ai.atelier.cache.CacheEntries;
import ai.atelier.cache.CacheKey;
import ai.atelier.cache.CacheMetrics;
import ai.atelier.cache.CacheSpec;
import ai.atelier.cache.ResultCache;
import ai.atelier.fal.FalPricing;
import ai.atelier.fal.FalResult;
import ai.atelier.jobs.Columns;
import ai.atelier.jobs.JobFile;
import ai.atelier.storage.ObjectStore;
import ai.atelier.usage.Charges;
import ai.atelier.usage.Ledger;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * The result cache at the level of one fal call, for the stages that make a call whose outputs they store (the infer
 * stage's single call, each style of a product shoot). Before the call: look the key up ({@link CacheEntries#claim}); a
 * stored result is served by S3 CopyObject into the job's own output keys (no byte through the JVM, no fal call, a $0
 * ledger row with what it saved); an identical call in flight elsewhere is waited for, parked like a fal wait (no permit,
 * no thread), looking again with a bounded backoff until it is ready (a hit) or its owner is gone (this run takes over).
 * After the call, its owner copies the stored outputs under the cache's own prefix and marks the entry ready.
 */
@Singleton
class CachedCalls {

    /** What the cache said about one call: hit (with the stored files and their cost), miss or refresh (this job owns the key), or bypass. */
    record Lookup(String status, String key, JsonArray files, BigDecimal costUsd) {
        static final Lookup BYPASS = new Lookup(CacheSpec.BYPASS, null, null, null);

        boolean hit() {
            return "hit".equals(status);
        }

        /** This job called fal for the key and fills it once its outputs are stored. */
        boolean owns() {
            return key != null && ("miss".equals(status) || CacheSpec.REFRESH.equals(status));
        }
    }

    private final CacheEntries entries;
    private final ResultCache cache;
    private final ObjectStore store;
    private final Engine engine;
    private final FalPricing pricing;
    private final CacheMetrics metrics;

    CachedCalls(CacheEntries entries, ResultCache cache, ObjectStore store, Engine engine, FalPricing pricing, CacheMetrics metrics) {
        this.entries = entries;
        this.cache = cache;
        this.store = store;
        this.engine = engine;
        this.pricing = pricing;
        this.metrics = metrics;
    }

    /** The key of a call with this payload, its input images sent as {@code inputUrls} (the job's first inputs, in order); null: not cacheable. */
    static String key(ai.atelier.jobs.Job job, String endpoint, JsonObject payload, List<String> inputUrls) {
        Map<String, String> hashByUrl = new HashMap<>();
        for (int i = 0; i < inputUrls.size(); i++) {
            String hash = i < job.inputs.items().size() ? job.inputs.items().get(i).sha256() : null;
            if (hash == null) {
                return null; // an input stored before content hashes: never served from the cache
            }
            hashByUrl.put(inputUrls.get(i), hash);
        }
        return CacheKey.of(job.tenant, endpoint, payload, hashByUrl);
    }

    /** Whether the job's settings let the cache take its calls (a seeded request, the cache on): false for most jobs, at no cost. */
    static boolean applies(RunContext ctx) {
        ResultCache.Settled settled = ResultCache.Settled.of(ctx.job.options);
        return settled != null && settled.cached();
    }

    /** Looks the call up: hit, miss or refresh (the key is this job's now), or bypass; waits while another job's identical call is in flight. */
    Uni<Lookup> look(RunContext ctx, String endpoint, java.util.function.Supplier<JsonObject> payload, List<String> inputUrls) {
        ResultCache.Settled settled = ResultCache.Settled.of(ctx.job.options);
        if (settled == null || !settled.cached()) {
            return Uni.createFrom().item(Lookup.BYPASS);
        }
        // built only for a job the cache takes: every other job's payload is built once, by its call
        String key = key(ctx.job, endpoint, payload.get(), inputUrls);
        if (key == null) {
            return Uni.createFrom().item(Lookup.BYPASS);
        }
        boolean refresh = CacheSpec.REFRESH.equals(settled.mode());
        return claim(ctx, key, endpoint, refresh, settled.maxAge(), cache.config().waitBackoff(), 1);
    }

    private Uni<Lookup> claim(RunContext ctx, String key, String endpoint, boolean refresh, Duration maxAge, Duration backoff, int look) {
        return engine.durably(ctx, "look up the result cache", () -> entries.claim(ctx.job.tenant, key, endpoint, ctx.job.model, ctx.job.id,
                cache.config().pendingLease(), refresh, maxAge))
                .emitOn(ctx::onContext)
                .chain(c -> switch (c.outcome()) {
                    case OWN -> {
                        metrics.looked(ctx.job.model, refresh ? CacheSpec.REFRESH : "miss");
                        yield Uni.createFrom().item(new Lookup(refresh ? CacheSpec.REFRESH : "miss", key, null, null));
                    }
                    case HIT -> Uni.createFrom().item(new Lookup("hit", key, c.files(), c.costUsd()));
                    case WAIT -> {
                        Duration next = backoff.multipliedBy(2).compareTo(cache.config().maxWaitBackoff()) > 0 ? cache.config().maxWaitBackoff()
                                : backoff.multipliedBy(2);
                        Uni<Void> parked = engine.waiting(ctx, () -> engine.sleep(backoff));
                        if (look == 1) {
                            Log.infof("job %s: an identical fal call on %s is in flight for another job; waiting for its result", ctx.job.id, endpoint);
                        }
                        if (look == 1 && ctx.job.status != ai.atelier.jobs.JobStatus.RUNNING) {
                            // a client reads running while it waits, as while fal works on it
                            parked = engine.advance(ctx, null).invoke(active -> {
                                if (!active) {
                                    throw new RunContext.Stopped(RunContext.Stop.CANCELLED);
                                }
                            }).chain(() -> engine.waiting(ctx, () -> engine.sleep(backoff)));
                        }
                        yield parked.chain(() -> claim(ctx, key, endpoint, refresh, maxAge, next, look + 1));
                    }
                });
    }

    /**
     * Serves a hit: each stored file copied (CopyObject) to {@code keyBase(i)} plus its extension, as the job's own, and the
     * call's $0 ledger row with what it saved. Null when the stored files are gone (dropped meanwhile): the caller calls fal.
     */
    Uni<List<JobFile>> serve(RunContext ctx, Lookup hit, String stage, String endpoint, IntFunction<String> keyBase, String role) {
        List<JobFile> cached = new ArrayList<>();
        hit.files().forEach(f -> cached.add(Columns.file(f instanceof JsonObject o ? o.getMap() : f)));
        return Multi.createFrom().range(0, cached.size())
                .onItem().transformToUniAndConcatenate(i -> {
                    JobFile from = cached.get(i);
                    String to = keyBase.apply(i) + extension(from.key());
                    return engine.durably(ctx, "copy cached output " + i, () -> store.copy(from.key(), to)).emitOn(ctx::onContext)
                            .replaceWith(from.at(to, role));
                })
                .collect().asList()
                .invoke(files -> {
                    ctx.spent(Ledger.cacheHit(ctx.job.tenant, ctx.job.apiKeyId, ctx.job.id, stage, ctx.job.model, endpoint, hit.costUsd()), BigDecimal.ZERO);
                    metrics.looked(ctx.job.model, "hit");
                    metrics.saved(ctx.job.model, hit.costUsd());
                    Log.infof("job %s: %s on %s served from the result cache (%d file(s), saved $%s)", ctx.job.id, stage, endpoint, files.size(),
                            hit.costUsd());
                })
                .onFailure(CachedCalls::gone).recoverWithUni(e -> {
                    Log.infof("job %s: the cached result for %s on %s is gone (dropped meanwhile); calling fal", ctx.job.id, stage, endpoint);
                    return Uni.createFrom().nullItem();
                });
    }

    /**
     * The owner's result, stored: the job's files copied under the cache's own prefix, the entry marked ready with what fal
     * charged for the call. Never fails the job: a cache that could not be filled is a later miss (its pending entry ends
     * with the job).
     */
    Uni<Void> fill(RunContext ctx, String key, String stage, String endpoint, FalResult result, List<JobFile> files) {
        if (key == null || files == null || files.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        List<JobFile> copies = new ArrayList<>();
        return Multi.createFrom().range(0, files.size())
                .onItem().transformToUniAndConcatenate(i -> {
                    JobFile f = files.get(i);
                    String to = ResultCache.fileKey(ctx.job.tenant, key, ctx.job.id, i, null) + extension(f.key());
                    return engine.durably(ctx, "copy output " + i + " into the result cache", () -> store.copy(f.key(), to)).emitOn(ctx::onContext)
                            .invoke(() -> copies.add(f.at(to, f.role())));
                })
                .collect().last()
                .chain(() -> result == null ? Uni.createFrom().item((FalPricing.Price) null) : pricing.price(endpoint).emitOn(ctx::onContext))
                .chain(price -> {
                    BigDecimal cost = result == null ? null : Charges.of(ctx.job.tenant, ctx.job.apiKeyId, ctx.job.id, stage, ctx.job.model, endpoint,
                            price, result).usd();
                    JsonArray json = new JsonArray();
                    copies.forEach(c -> json.add(Columns.json(c)));
                    return engine.durably(ctx, "fill the result cache", () -> entries.fill(ctx.job.tenant, key, ctx.job.id, json, cost,
                            result == null ? null : result.requestId())).emitOn(ctx::onContext)
                            .chain(old -> {
                                if (old == null) {
                                    Log.infof("job %s: its result cache entry for %s was dropped or taken over meanwhile; its copies go", ctx.job.id, stage);
                                    return cache.deleteFiles(copies.stream().map(JobFile::key).toList());
                                }
                                List<String> replaced = new ArrayList<>();
                                old.forEach(o -> replaced.add(((JsonObject) o).getString("key")));
                                replaced.removeAll(copies.stream().map(JobFile::key).toList());
                                return cache.deleteFiles(replaced);
                            });
                })
                .onFailure(e -> !(e instanceof RunContext.Stopped)).recoverWithUni(e -> {
                    Log.warnf("job %s: the result cache was not filled for %s (%s)", ctx.job.id, stage, e.getMessage());
                    return Uni.createFrom().voidItem();
                });
    }

    /** A call that failed lets the entry it owns go at once (a failure is never cached): a waiter takes over at its next look. */
    Uni<Void> abandon(RunContext ctx, String key) {
        return entries.abandon(ctx.job.tenant, key, ctx.job.id).chain(cache::deleteFiles)
                .onFailure().invoke(e -> Log.warnf("job %s: a failed call's cache entry was not let go (%s); it ends with the job", ctx.job.id,
                        e.getMessage()))
                .onFailure().recoverWithNull();
    }

    private static String extension(String key) {
        int slash = key.lastIndexOf('/');
        int dot = key.lastIndexOf('.');
        return dot > slash ? key.substring(dot) : "";
    }

    private static boolean gone(Throwable e) {
        return e instanceof software.amazon.awssdk.services.s3.model.NoSuchKeyException
                || e instanceof software.amazon.awssdk.services.s3.model.S3Exception s && s.statusCode() == 404;
    }
}
