package ai.atelier.jobs;

/**
 * One way a status route shows a job (the v1 API's {@link JobView}, a prototype's status answer). While a
 * job runs, the live store keeps it in the format of the API it was submitted through, rendered when the
 * job changes, so that API's status read is one Redis read returning bytes as they are. A read in another
 * API's format (rare: a client polls the API it submitted to) reads the row, which is the truth anyway;
 * rendering every format on every change cost a job three JSON renders per update (6.5 % of the CPU of
 * a t2i-200 run, JFR).
 */
public interface JobViewFormat {

    /** The v1 API's own format (the {@link JobView} itself). */
    String V1 = "v1";

    /** The name the live store keeps this format under. */
    String name();

    /** The {@link Job#source} of the submissions this format is kept live for (the one its submit routes write). */
    String source();

    /**
     * The template of the status route that answers in this format, its one path parameter the job's id (as the
     * resource declares it, {@code /api/{session_id}/status}): a running job's read there is answered from the live store.
     */
    String statusRoute();

    /** The object to write as this format's JSON. */
    Object render(JobView view);
}
