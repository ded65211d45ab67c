package ai.atelier.jobs;

/** A stage ended the job with a reason of its own (an unusable LLM answer, an empty prompt…): a stable code and words for the client. */
public final class StageFailed extends RuntimeException {

    private final String code;

    public StageFailed(String code, String message) {
        super(message, null, false, false);
        this.code = code;
    }

    public String code() {
        return code;
    }
}
