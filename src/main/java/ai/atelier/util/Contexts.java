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
        Context context = Vertx.currentContext();
        return context == null ? uni : uni.emitOn(command -> context.runOnContext(v -> command.run()));
    }
}
