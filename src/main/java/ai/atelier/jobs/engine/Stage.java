package ai.atelier.jobs.engine;

import io.smallrye.mutiny.Uni;

/**
 * One step of a job's pipeline. A run (a new one, or one resumed after a crash, a retry or a restart)
 * skips every stage an earlier run finished — recorded {@code succeeded} or {@code skipped} in the
 * job's stage records — by that one rule ({@link RunContext#finished}); a stage that is not finished
 * runs again and finds in the job's fal requests what an earlier run already paid for.
 */
interface Stage {

    /** The stage's name in the job's stage records. */
    String name();

    /** Why the stage has nothing to do for this job (recorded as skipped), or null when it runs. */
    default String skipReason(RunContext ctx) {
        return null;
    }

    /** Runs the stage on what the stages before it produced; answers that with its own part added. */
    Uni<Produced> run(RunContext ctx, Produced before);
}
