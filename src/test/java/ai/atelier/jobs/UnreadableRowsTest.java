package ai.atelier.jobs;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
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
import io.restassured.http.ContentType;
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
        UUID id = UUID.randomUUID();
        String requestId = Rows.schnellAtFal(id, "later release", 5, "elsewhere");
        inferRequest(id, requestId, "submitted", "region", "eu-west");
        Db.execute("update jobs set lease_owner = null, lease_until = null where id = ?", id);

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
     * A row this version cannot read is left out of the listing of its tenant's jobs, and the pages go on past it.
     * Before, every page that held it answered 500.
     */
    @Test
    void anUnreadableRowIsLeftOutOfTheListingAndThePagesGoOnPastIt() {
        String tenant = given().header("Authorization", "Bearer atl_test_admin_key").contentType(ContentType.JSON)
                .body(Map.of("name", "unreadable-" + UUID.randomUUID().toString().substring(0, 8))).post("/v1/admin/tenants")
                .then().statusCode(201).extract().path("id");
        String key = given().header("Authorization", "Bearer atl_test_admin_key").contentType(ContentType.JSON)
                .body(Map.of("name", "reader", "scopes", List.of("jobs:read"))).post("/v1/admin/tenants/" + tenant + "/keys")
                .then().statusCode(201).extract().path("key");
        UUID oldest = UUID.randomUUID();
        UUID unreadable = UUID.randomUUID();
        UUID newest = UUID.randomUUID();
        Instant now = Instant.now();
        Rows.insertJob(oldest, JobStatus.SUCCEEDED, "oldest", job -> { job.tenant = tenant; job.stage = "finish"; job.createdAt = now.minusSeconds(3); });
        Rows.insertJob(unreadable, JobStatus.SUCCEEDED, "unreadable", job -> { job.tenant = tenant; job.stage = "finish"; job.createdAt = now.minusSeconds(2); });
        Rows.insertJob(newest, JobStatus.SUCCEEDED, "newest", job -> { job.tenant = tenant; job.stage = "finish"; job.createdAt = now.minusSeconds(1); });
        try {
            Db.execute("update jobs set fal_requests = '{\"infer/0\": {\"stage\": \"infer\", \"step\": \"first\"}}'::jsonb where id = ?", unreadable);

            JsonPath first = given().header("Authorization", "Bearer " + key).queryParam("limit", 2).get("/v1/jobs").then().statusCode(200)
                    .extract().jsonPath();
            assertThat(first.getList("items.id")).containsExactly(newest.toString());
            JsonPath rest = given().header("Authorization", "Bearer " + key).queryParam("limit", 2).queryParam("cursor", first.getString("next_cursor"))
                    .get("/v1/jobs").then().statusCode(200).extract().jsonPath();
            assertThat(rest.getList("items.id")).containsExactly(oldest.toString());
            assertThat(rest.getString("next_cursor")).isNull();
        } finally {
            Db.execute("delete from jobs where id = ?", unreadable);
        }
    }

    /** A fal request in a state a later release added reads as one that may still run at fal: its job can still be cancelled. */
    @Test
    void aFalRequestInALaterReleasesStateStillCancelsAtFal() {
        Simulator.reset();
        Simulator.settings(0, 60_000);
        UUID id = UUID.randomUUID();
        String requestId = Rows.schnellAtFal(id, "later state", 5, "elsewhere");
        inferRequest(id, requestId, "streaming", null, null);

        JsonPath cancelled = given().post("/v1/jobs/" + id + "/cancel").then().statusCode(200).extract().jsonPath();
        assertThat(cancelled.getString("status")).isEqualTo("cancelled");
        assertThat(cancelled.getString("cancellation.fal_status")).isNotNull();
        assertThat(Simulator.requests()).anySatisfy(r -> assertThat(r.get("path")).isEqualTo("/queue/fal-ai/flux/requests/" + requestId + "/cancel"));
        assertThat(Db.queryOne("select fal_requests -> 'infer/0' ->> 'state' as state from jobs where id = ?", id)).containsEntry("state", "cancelled");
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

    /** The row's fal requests: its infer request as a later release may write it, in {@code state}, with one field this version does not know (or none). */
    private static void inferRequest(UUID id, String requestId, String state, String field, String value) {
        Db.execute("""
                update jobs set fal_requests = jsonb_build_object('infer/0', jsonb_build_object('stage', 'infer', 'step', 0,
                    'endpoint', 'fal-ai/flux/schnell', 'request_id', ?::text, 'state', ?::text) || ?::jsonb)
                where id = ?""", requestId, state, field == null ? "{}" : new io.vertx.core.json.JsonObject().put(field, value).encode(), id);
    }
}
