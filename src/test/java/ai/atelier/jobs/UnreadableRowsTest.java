package ai.atelier.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
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
 * Rows this version did not write: during a rolling update a later release's rows sit in the same table, and a row
 * may be damaged by hand. Neither may stop a claim from running the jobs claimed with it.
 */
@QuarkusTest
class UnreadableRowsTest {

    @Inject
    JobRunner runner;

    /** A field a later release added to a fal request is passed over: the job resumes from that request, fal paid once. */
    @Test
    void aFalRequestWithAFieldOfALaterReleaseStillResumes() {
        Simulator.reset();
        Simulator.settings(0, 300);
        String requestId = Simulator.submitted("fal-ai/flux/schnell",
                Map.of("prompt", "later release", "num_inference_steps", 7, "guidance_scale", 3.5, "seed", 5));
        UUID id = UUID.randomUUID();
        Rows.insertAtFal(id, "flux-schnell", "later release", "fal-ai/flux/schnell", requestId, "elsewhere");
        Db.execute("""
                update jobs set lease_owner = null, lease_until = null,
                       fal_requests = jsonb_build_object('infer/0', jsonb_build_object('stage', 'infer', 'step', 0,
                           'endpoint', 'fal-ai/flux/schnell', 'request_id', ?::text, 'state', 'submitted', 'region', 'eu-west'))
                where id = ?""", requestId, id);

        runner.poke();

        JsonPath job = Jobs.awaitTerminal(id.toString());
        assertThat(job.getString("status")).isEqualTo("succeeded");
        assertThat(Simulator.submissions("fal-ai/flux/schnell")).hasSize(1); // the one made above, none by the resumed run
    }

    /** A field a later release added to a file record is passed over too: the job reads, and its output is there. */
    @Test
    void aFileWithAFieldOfALaterReleaseStillReads() {
        UUID id = UUID.randomUUID();
        Rows.insertJob(id, JobStatus.SUCCEEDED, "later file", job -> job.stage = "finish", "elsewhere");
        String key = "tenants/default/jobs/" + id + "/outputs/0.png";
        Db.execute("""
                update jobs set finished_at = now(), outputs = jsonb_build_object('items', jsonb_build_array(jsonb_build_object(
                    'key', ?::text, 'contentType', 'image/png', 'width', 8, 'height', 8, 'bytes', 100, 'role', 'output',
                    'colourProfile', 'display-p3')))
                where id = ?""", key, id);

        JsonPath job = Jobs.awaitTerminal(id.toString());
        assertThat(job.getString("status")).isEqualTo("succeeded");
        assertThat(job.getList("outputs")).hasSize(1);
        assertThat(job.getString("outputs[0].url")).contains("/outputs/0.png");
    }

    /**
     * A row this version cannot read at all is left to its lease, unrun; the readable job claimed in the same claim
     * runs to its end. Before, the whole claim failed, and both waited out their leases again and again.
     */
    @Test
    void anUnreadableRowDoesNotStopTheJobsClaimedWithIt() {
        Simulator.reset();
        Simulator.settings(0, 100);
        UUID unreadable = UUID.randomUUID();
        UUID readable = UUID.randomUUID();
        try {
            // both held elsewhere first, then freed in one statement: the next claim takes them together
            Rows.insertJob(unreadable, JobStatus.QUEUED, "unreadable", job -> job.stage = "queued", "elsewhere");
            Rows.insertJob(readable, JobStatus.QUEUED, "readable", job -> job.stage = "queued", "elsewhere");
            Db.execute("update jobs set fal_requests = '{\"infer/0\": {\"stage\": \"infer\", \"step\": \"first\"}}'::jsonb where id = ?",
                    unreadable);
            Db.execute("update jobs set lease_owner = null, lease_until = null where id in (?, ?)", unreadable, readable);

            runner.poke();

            JsonPath job = Jobs.awaitTerminal(readable.toString());
            assertThat(job.getString("status")).isEqualTo("succeeded");
            // claimed, and left: still queued, this instance's (its lease may have run out and been taken again on a slow machine)
            Map<String, Object> row = Db.queryOne("select status, lease_owner, claims from jobs where id = ?", unreadable);
            assertThat(row).containsEntry("status", "queued").containsEntry("lease_owner", runner.owner());
            assertThat(((Number) row.get("claims")).intValue()).isGreaterThanOrEqualTo(1);
            assertThat(Simulator.requests()).noneMatch(r -> String.valueOf(r.get("body")).contains("unreadable"));
        } finally {
            Db.execute("delete from jobs where id = ?", unreadable);
        }
    }
}
