package ai.atelier.jobs.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import ai.atelier.config.AtelierConfig;
import ai.atelier.jobs.JobFile;
import ai.atelier.storage.ObjectStore;
import ai.atelier.storage.UrlSigner;
import ai.atelier.telemetry.Traces;
import io.quarkus.test.junit.QuarkusTest;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Vertx;
import software.amazon.awssdk.services.s3.S3AsyncClient;

/** The outputs of a job that turned out cancelled leave S3, each on its own: one delete that fails keeps only its own file. */
@QuarkusTest
class OutputsDiscardTest {

    @Inject
    ObjectStore store;
    @Inject
    S3AsyncClient s3;
    @Inject
    UrlSigner signer;
    @Inject
    AtelierConfig config;
    @Inject
    Vertx vertx;
    @Inject
    Traces traces;

    @Test
    void aDeleteThatFailsDoesNotKeepTheFilesAfterIt() {
        String base = "tenants/default/jobs/" + UUID.randomUUID() + "/outputs/";
        List<JobFile> files = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String key = base + i + ".png";
            store.put(key, new byte[] { 1, 2, 3, (byte) i }, "image/png").await().atMost(Duration.ofSeconds(10));
            files.add(new JobFile(key, "image/png", 1, 1, 4, "output"));
        }
        // the first delete fails (S3 answered 500, say); the others reach the real store
        List<String> asked = new ArrayList<>();
        ObjectStore failingFirst = new ObjectStore(s3, signer, config, vertx, traces) {
            @Override
            public Uni<Void> delete(String key) {
                asked.add(key);
                return key.endsWith("/0.png") ? Uni.createFrom().failure(new IllegalStateException("S3 answered 500")) : store.delete(key);
            }
        };

        new Outputs(null, failingFirst, null).discard(files).await().atMost(Duration.ofSeconds(10));

        assertThat(asked).containsExactly(base + "0.png", base + "1.png", base + "2.png");
        assertThat(store.size(base + "0.png").await().atMost(Duration.ofSeconds(10))).isEqualTo(4L);
        assertThat(store.size(base + "1.png").await().atMost(Duration.ofSeconds(10))).isNull();
        assertThat(store.size(base + "2.png").await().atMost(Duration.ofSeconds(10))).isNull();
    }
}
