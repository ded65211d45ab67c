package ai.atelier.storage;

import java.util.UUID;

/**
 * Where a job's files live in the bucket: under its tenant, so a tenant's files can be listed, expired
 * or handed over by prefix, and a key names whose file it is. Fixed per job and index: running a step
 * again writes the same objects.
 */
public final class StorageKeys {

    private StorageKeys() {
    }

    public static String job(String tenant, UUID job) {
        return "tenants/" + tenant + "/jobs/" + job + "/";
    }

    /** An input photo, by its position in the request (the init image first). */
    public static String input(String tenant, UUID job, int index, String extension) {
        return job(tenant, job) + "inputs/" + index + "." + extension;
    }

    /** An output without its extension (the bytes decide it). */
    public static String outputBase(String tenant, UUID job, int index) {
        return job(tenant, job) + "outputs/" + index;
    }
}
