package ai.atelier.jobs;

import ai.atelier.fal.FalException;
import ai.atelier.llm.LlmAnswer;
import ai.atelier.problem.Problem;
import ai.atelier.storage.ObjectStore;

/** Why a job (or one style of a shoot) failed, as stored: a stable code and words for the client. */
public record Failure(String code, String message) {

    /**
     * @param where what failed, for a failure Atelier did not foresee: "while running the job", "on this style"
     */
    public static Failure of(Throwable e, String where) {
        if (e instanceof StageFailed f) {
            return new Failure(f.code(), f.getMessage());
        }
        if (e instanceof ObjectStore.Unavailable u) {
            return new Failure("storage_unavailable", u.getMessage());
        }
        if (e instanceof LlmAnswer.Unusable u) {
            return new Failure(u.code(), u.getMessage());
        }
        if (e instanceof FalException f) {
            return new Failure(f.code(), "fal: " + f.getMessage());
        }
        if (e instanceof Problem p) {
            return new Failure(p.slug(), p.getMessage());
        }
        return new Failure("internal_error", "Atelier failed " + where);
    }

    /** Whether the failure is one Atelier did not foresee (worth a stack trace in the log). */
    public boolean unexpected() {
        return "internal_error".equals(code);
    }
}
