package ai.atelier.http;

import java.util.HashMap;
import java.util.Map;

import jakarta.inject.Singleton;

import ai.atelier.auth.Caller;
import ai.atelier.config.AtelierConfig;

/**
 * The heap that request bodies being read may hold, for one instance ({@code atelier.http.max-upload-memory}) and
 * for each tenant ({@code atelier.http.max-upload-memory-per-tenant}). A body reserves what it costs as its bytes
 * arrive, never what it declares it will send: a connection that announces 50 MB and sends nothing holds nothing,
 * and a slow sender holds only what it sent. It gives all of it back when its request ends, however it ends.
 * The tenant's share keeps one tenant (or everyone calling the open routes, who count as one) from taking the
 * whole budget from the others.
 */
@Singleton
public class BodyMemory {

    /** What a request may do with its next bytes. */
    enum Verdict {
        /** Reserved. */
        TAKEN,
        /** Other requests hold the memory now: a 503, try again in a moment. */
        BUSY,
        /** This request alone needs more than one tenant may ever hold: a 413, trying again will not help. */
        TOO_LARGE
    }

    /** The bucket of the callers of the open routes (no key, no tenant). */
    static final String NO_TENANT = "(no key)";
    /** The bucket of the operator's admin key. */
    static final String OPERATOR = "(operator)";

    private final long budget;
    private final long perTenant;
    /** Guarded by this: a reservation changes the instance's total and the tenant's together. */
    private long held;
    private final Map<String, Long> heldByTenant = new HashMap<>();

    BodyMemory(AtelierConfig config) {
        this.budget = config.http().maxUploadMemory().asLongValue();
        this.perTenant = Math.min(budget, config.http().maxUploadMemoryPerTenant().asLongValue());
    }

    /** The most one request may hold: its tenant's share. */
    public long perRequest() {
        return perTenant;
    }

    /** Bytes held by every body being read now (for tests and metrics). */
    public synchronized long held() {
        return held;
    }

    /** Bytes held now by the bodies of one tenant (by its id). */
    public synchronized long heldBy(String tenantId) {
        return heldByTenant.getOrDefault(tenantId, 0L);
    }

    /** A new request's account, empty, in its caller's bucket. */
    Hold open(Caller caller) {
        String bucket = caller == null ? NO_TENANT : caller.tenantId() != null ? caller.tenantId() : OPERATOR;
        return new Hold(bucket);
    }

    private synchronized Verdict judge(String bucket, long mine, long more, boolean take) {
        if (mine + more > perTenant) {
            return Verdict.TOO_LARGE;
        }
        long tenant = heldByTenant.getOrDefault(bucket, 0L);
        if (held + more > budget || tenant + more > perTenant) {
            return Verdict.BUSY;
        }
        if (take && more > 0) {
            held += more;
            heldByTenant.put(bucket, tenant + more);
        }
        return Verdict.TAKEN;
    }

    private synchronized void giveBack(String bucket, long bytes) {
        held -= bytes;
        long left = heldByTenant.getOrDefault(bucket, 0L) - bytes;
        if (left <= 0) {
            heldByTenant.remove(bucket); // a map of every tenant that ever uploaded would only grow
        } else {
            heldByTenant.put(bucket, left);
        }
    }

    /** One request's share of the budget: grows as its bytes arrive, given back once when the request ends. */
    final class Hold {
        private final String bucket;
        /** Guarded by BodyMemory.this. */
        private long mine;

        private Hold(String bucket) {
            this.bucket = bucket;
        }

        /** Whether {@code bytes} more would fit now, without reserving them: a declared length is judged, never held. */
        Verdict wouldFit(long bytes) {
            synchronized (BodyMemory.this) {
                return judge(bucket, mine, bytes, false);
            }
        }

        /** Reserves {@code bytes} more, if they fit. */
        Verdict take(long bytes) {
            synchronized (BodyMemory.this) {
                Verdict v = judge(bucket, mine, bytes, true);
                if (v == Verdict.TAKEN) {
                    mine += bytes;
                }
                return v;
            }
        }

        /** Gives back everything this request holds; again is harmless. */
        void release() {
            synchronized (BodyMemory.this) {
                if (mine > 0) {
                    giveBack(bucket, mine);
                    mine = 0;
                }
            }
        }
    }
}
