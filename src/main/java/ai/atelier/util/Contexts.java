package ai.atelier.util;

import io.smallrye.mutiny.Uni;
import io.vertx.core.Context;
import io.vertx.core.Vertx;

/**
 * Brings a {@link Uni} that completes on a foreign thread (the AWS SDK, a worker doing DNS) back to
 * the Vert.x context of its caller, where Hibernate Reactive's session lives.
 */
public final class Contexts {

    private Contexts() {
    }

    /** Call on the caller's thread, when building the Uni: captures its context now. */
    public static <T> Uni<T> backOnCaller(Uni<T> uni) {
        return backOn(Vertx.currentContext(), uni);
    }

    /**
     * Waits for {@code work} (already under way) on a copy of it, its outcome back on the caller's context (call on the
     * caller's thread). Mutiny cancels the stage a Uni waits on when its subscriber goes (a client that hung up); the
     * copy is what gets cancelled, and {@code work} goes on for whoever else needs it to end.
     */
    public static <T> Uni<T> awaitCopy(java.util.concurrent.CompletableFuture<T> work) {
        return backOnCaller(Uni.createFrom().completionStage(work.copy()));
    }

    /** Brings {@code uni}'s outcome onto {@code context} (captured earlier, where the caller was); as it is when null. */
    public static <T> Uni<T> backOn(Context context, Uni<T> uni) {
        return context == null ? uni : uni.emitOn(command -> context.runOnContext(v -> command.run()));
    }
}
