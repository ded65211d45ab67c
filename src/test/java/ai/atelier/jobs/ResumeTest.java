package ai.atelier.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import ai.atelier.jobs.engine.JobRunner;
import ai.atelier.support.Db;
import ai.atelier.support.Jobs;
import ai.atelier.support.Rows;
import ai.atelier.support.Simulator;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;

/**
 * A job whose worker died after fal accepted it (a running row with a fal request id) is resumed by
 * polling that request: fal is never paid twice, and the outputs land in S3 once.
 */
@QuarkusTest
class ResumeTest {

    @Inject
    JobRunner runner;

    @Test
    void resumesAJobWithARequestIdWithoutSubmittingAgain() {
        Simulator.reset();
        Simulator.settings(0, 300);
        // what a crashed worker leaves behind: fal has the request, the row has its id
        UUID id = UUID.randomUUID();
        String requestId = Rows.schnellAtFal(id, "resumed", 3, null);

        // its lease is empty (a crashed owner's would have run out): any instance claims it
        runner.poke();

        JsonPath job = Jobs.awaitTerminal(id.toString());
        assertThat(job.getString("status")).isEqualTo("succeeded");
        assertThat(job.getString("fal_request_id")).isEqualTo(requestId);
        assertThat(Simulator.submissions("fal-ai/flux/schnell")).hasSize(1); // only the one made above
        assertThat(Db.job(id)).containsEntry("status", "succeeded");

        assertThat(((Number) Db.job(id).get("claims")).intValue()).isEqualTo(1);
    }
}
