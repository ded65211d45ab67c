package ai.atelier.util;

import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.Cancellable;

/**
 * {@code first.chain(next)} that lets go of {@code first} once it has emitted.
 *
 * <p>Why: Mutiny's {@code chain} keeps its upstream subscription while the next Uni runs, and through it
 * every finished operator before it (the submit, the fault-tolerance guard's context and listeners,
 * the statement that recorded the request). A job that waits a minute on fal held all of that: at
 * 10,000 waiting jobs about a third of the heap was finished work (measured with {@code jmap -histo:live},
 * InFlightBenchmark). Here the first Uni is subscribed on its own, and only the running step is kept,
 * for cancellation: cancelling the result cancels whichever of the two runs.
 */
public final class Unis {

    private Unis() {
    }

    public static <T, R> Uni<R> then(Uni<T> first, Function<? super T, Uni<? extends R>> next) {
        return Uni.createFrom().emitter(emitter -> {
            Running running = new Running();
            emitter.onTermination(running::cancel);
            running.first(first.subscribe().with(emitter.context(), item -> {
                if (running.ended()) { // cancelled while the first ran
                    return;
                }
                Uni<? extends R> second;
                try {
                    second = next.apply(item);
                } catch (Throwable e) {
                    emitter.fail(e);
                    return;
                }
                if (second == null) {
                    emitter.fail(new NullPointerException("the next step answered null"));
                    return;
                }
                running.next(second.subscribe().with(emitter.context(), emitter::complete, emitter::fail));
            }, emitter::fail));
        });
    }

    /** The subscription running now: the first Uni's until it emits, then the next's. */
    private static final class Running {
        private static final Cancellable ENDED = () -> {
        };
        private final AtomicReference<Cancellable> current = new AtomicReference<>();

        /** The first subscription, once subscribe() returned; a next one set while it ran (it emitted at once) wins. */
        void first(Cancellable c) {
            if (!current.compareAndSet(null, c) && current.get() == ENDED) {
                c.cancel();
            }
        }

        void next(Cancellable c) {
            Cancellable prev;
            do {
                prev = current.get();
                if (prev == ENDED) {
                    c.cancel();
                    return;
                }
            } while (!current.compareAndSet(prev, c));
        }

        boolean ended() {
            return current.get() == ENDED;
        }

        /** On the result's end: cancels what still runs (nothing, when it ended with an item or a failure). */
        void cancel() {
            Cancellable c = current.getAndSet(ENDED);
            if (c != null) {
                c.cancel();
            }
        }
    }
}
