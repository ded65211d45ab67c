package ai.atelier.support;

import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.services.s3.S3AsyncClient;

/** Reads what Atelier stored in S3, beside the application, to check the bytes themselves. */
public final class Objects {

    private Objects() {
    }

    public static byte[] bytes(S3AsyncClient s3, String key) {
        return s3.getObject(b -> b.bucket("atelier").key(key), AsyncResponseTransformer.toBytes()).join().asByteArray();
    }

    /** How many objects are stored under the prefix (all pages). */
    public static long count(S3AsyncClient s3, String prefix) {
        java.util.concurrent.atomic.AtomicLong n = new java.util.concurrent.atomic.AtomicLong();
        s3.listObjectsV2Paginator(b -> b.bucket("atelier").prefix(prefix)).subscribe(page -> n.addAndGet(page.keyCount())).join();
        return n.get();
    }
}
