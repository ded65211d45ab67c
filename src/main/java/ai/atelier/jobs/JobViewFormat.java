package ai.atelier.jobs;

/**
 * One way a status route shows a job (the v1 API's {@link JobView}, a prototype's status answer). Every
 * format is rendered when the job changes and kept in the live store, so a status read in any format is
 * one Redis read returning bytes as they are.
 */
public interface JobViewFormat {

    /** The v1 API's own format (the {@link JobView} itself). */
    String V1 = "v1";

    /** The name the live store keeps this format under. */
    String name();

    /** The object to write as this format's JSON. */
    Object render(JobView view);
}
