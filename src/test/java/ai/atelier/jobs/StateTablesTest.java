package ai.atelier.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

/**
 * Every state machine of a job, pair by pair: the job's, its stages', a shoot's styles' and its fal requests'.
 * Each table is spelled out here in full, so any change to a machine is a change to this test too.
 */
class StateTablesTest {

    @Test
    void aJobMovesOnlyAsItsTableSays() {
        Map<JobStatus, Set<JobStatus>> allowed = Map.of(
                JobStatus.QUEUED, EnumSet.of(JobStatus.RUNNING, JobStatus.FAILED, JobStatus.CANCELLED),
                JobStatus.RUNNING, EnumSet.of(JobStatus.RUNNING, JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED),
                JobStatus.FAILED, EnumSet.of(JobStatus.QUEUED),
                JobStatus.SUCCEEDED, EnumSet.noneOf(JobStatus.class),
                JobStatus.CANCELLED, EnumSet.noneOf(JobStatus.class));
        for (JobStatus from : JobStatus.values()) {
            for (JobStatus to : JobStatus.values()) {
                assertThat(from.canMoveTo(to)).as(from + " → " + to).isEqualTo(allowed.get(from).contains(to));
            }
        }
        // the WHERE of each guarded statement is the table read backwards
        assertThat(JobStatus.sources(JobStatus.SUCCEEDED)).containsExactly(JobStatus.RUNNING);
        assertThat(JobStatus.sources(JobStatus.CANCELLED)).containsExactlyInAnyOrder(JobStatus.QUEUED, JobStatus.RUNNING);
        assertThat(JobStatus.sources(JobStatus.QUEUED)).containsExactly(JobStatus.FAILED);
        assertThat(JobStatus.UNFINISHED).containsExactlyInAnyOrder(JobStatus.QUEUED, JobStatus.RUNNING);
    }

    @Test
    void aStageMovesOnlyAsItsTableSays() {
        Map<StageStatus, Set<StageStatus>> allowed = Map.of(
                StageStatus.RUNNING, EnumSet.of(StageStatus.RUNNING, StageStatus.SUCCEEDED, StageStatus.FAILED, StageStatus.CANCELLED),
                StageStatus.FAILED, EnumSet.of(StageStatus.RETRYING),
                StageStatus.RETRYING, EnumSet.of(StageStatus.RUNNING, StageStatus.FAILED, StageStatus.CANCELLED, StageStatus.SUCCEEDED),
                StageStatus.SUCCEEDED, EnumSet.noneOf(StageStatus.class),
                StageStatus.SKIPPED, EnumSet.noneOf(StageStatus.class),
                StageStatus.CANCELLED, EnumSet.noneOf(StageStatus.class));
        Set<StageStatus> fromNone = EnumSet.of(StageStatus.RUNNING, StageStatus.SKIPPED, StageStatus.SUCCEEDED, StageStatus.FAILED);
        for (StageStatus to : StageStatus.values()) {
            assertThat(StageStatus.canMove(null, to)).as("none → " + to).isEqualTo(fromNone.contains(to));
            for (StageStatus from : StageStatus.values()) {
                assertThat(StageStatus.canMove(from, to)).as(from + " → " + to).isEqualTo(allowed.get(from).contains(to));
            }
        }
        assertThat(EnumSet.allOf(StageStatus.class).stream().filter(StageStatus::finished)).containsExactlyInAnyOrder(StageStatus.SUCCEEDED,
                StageStatus.SKIPPED);
        // stored words, both ways; a word a newer version wrote reads as no record rather than failing the run
        assertThat(StageStatus.of("retrying")).isEqualTo(StageStatus.RETRYING);
        assertThat(StageStatus.RETRYING.wire()).isEqualTo("retrying");
        assertThat(StageStatus.of("paused")).isNull();
        assertThatThrownBy(() -> StageStatus.move("succeeded", StageStatus.RUNNING, "infer")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("infer").hasMessageContaining("succeeded").hasMessageContaining("running");
    }

    @Test
    void aStyleMovesOnlyAsItsTableSays() {
        Map<StyleStatus, Set<StyleStatus>> allowed = Map.of(
                StyleStatus.PENDING, EnumSet.of(StyleStatus.PROMPTING, StyleStatus.GENERATING, StyleStatus.FAILED),
                StyleStatus.PROMPTING, EnumSet.of(StyleStatus.PROMPTING, StyleStatus.GENERATING, StyleStatus.FAILED),
                StyleStatus.GENERATING, EnumSet.of(StyleStatus.GENERATING, StyleStatus.SUCCEEDED, StyleStatus.FAILED),
                StyleStatus.SUCCEEDED, EnumSet.noneOf(StyleStatus.class),
                StyleStatus.FAILED, EnumSet.of(StyleStatus.PENDING));
        for (StyleStatus from : StyleStatus.values()) {
            for (StyleStatus to : StyleStatus.values()) {
                assertThat(from.canMoveTo(to)).as(from + " → " + to).isEqualTo(allowed.get(from).contains(to));
            }
        }
        assertThat(StyleStatus.of(null)).as("a style without a status is pending").isEqualTo(StyleStatus.PENDING);
        assertThat(StyleStatus.of("generating")).isEqualTo(StyleStatus.GENERATING);
        assertThatThrownBy(() -> StyleStatus.move("succeeded", StyleStatus.FAILED)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aFalRequestMovesOnlyAsItsTableSays() {
        Map<FalRequest.State, Set<FalRequest.State>> allowed = Map.of(
                FalRequest.State.SUBMITTED, EnumSet.of(FalRequest.State.COMPLETED, FalRequest.State.DROPPED, FalRequest.State.CANCELLED),
                FalRequest.State.COMPLETED, EnumSet.of(FalRequest.State.DROPPED),
                FalRequest.State.DROPPED, EnumSet.noneOf(FalRequest.State.class),
                FalRequest.State.CANCELLED, EnumSet.noneOf(FalRequest.State.class));
        for (FalRequest.State from : FalRequest.State.values()) {
            for (FalRequest.State to : FalRequest.State.values()) {
                assertThat(from.canMoveTo(to)).as(from + " → " + to).isEqualTo(allowed.get(from).contains(to));
            }
        }
        assertThat(EnumSet.allOf(FalRequest.State.class).stream().filter(FalRequest.State::usable))
                .containsExactlyInAnyOrder(FalRequest.State.SUBMITTED, FalRequest.State.COMPLETED);
        FalRequest r = FalRequest.submitted("infer", null, 0, "fal-ai/flux/schnell", "req-1");
        assertThat(r.moved(FalRequest.State.COMPLETED).state()).isEqualTo(FalRequest.State.COMPLETED);
        assertThatThrownBy(() -> r.moved(FalRequest.State.CANCELLED).moved(FalRequest.State.COMPLETED)).isInstanceOf(IllegalStateException.class);
        // every state reads back from its word; a later release's word reads as one that may still run at fal
        for (FalRequest.State s : FalRequest.State.values()) {
            assertThat(FalRequest.State.of(s.wire())).isEqualTo(s);
        }
        assertThat(FalRequest.State.of("streaming")).isEqualTo(FalRequest.State.SUBMITTED);
        assertThat(FalRequests.parse(new io.vertx.core.json.JsonObject("{\"infer/0\": {\"stage\": \"infer\", \"step\": 0, "
                + "\"endpoint\": \"fal-ai/flux/schnell\", \"request_id\": \"r-9\", \"state\": \"streaming\"}}")).open())
                .extracting(FalRequest::requestId).containsExactly("r-9");
        // ... but only with an id: without one there is nothing at fal to wait on or cancel, and a run asks again
        FalRequests noId = FalRequests.parse(new io.vertx.core.json.JsonObject(
                "{\"infer/0\": {\"stage\": \"infer\", \"step\": 0, \"state\": \"submitting\"}}"));
        assertThat(noId.open()).isEmpty();
        assertThat(noId.all()).singleElement().extracting(FalRequest::state).isEqualTo(FalRequest.State.DROPPED);
    }

    @Test
    void aJobsFalRequestsLiveInOnePlacePerStageStepAndStyleAndSurviveTheColumn() {
        FalRequests requests = FalRequests.NONE
                .with(FalRequest.submitted("categorise", null, 0, "openrouter/router/vision", "c-1"))
                .with(FalRequest.submitted("infer", null, 0, "fal-ai/flux/schnell", "i-0"))
                .with(FalRequest.submitted("infer", null, 1, "fal-ai/turn", "i-1"))
                .with(FalRequest.submitted("shoot", 2, FalRequest.STYLE_PICTURE, "fal-ai/bria", "s-2"));
        FalRequests read = FalRequests.parse(requests.json());
        assertThat(read.all()).containsExactlyElementsOf(requests.all());
        assertThat(read.last("infer")).map(FalRequest::requestId).hasValue("i-1");
        assertThat(read.resumable("shoot", 2, FalRequest.STYLE_PICTURE, "fal-ai/bria")).isEqualTo("s-2");
        assertThat(read.resumable("shoot", 2, FalRequest.STYLE_PICTURE, "fal-ai/other")).as("another endpoint is another request").isNull();
        FalRequests dropped = read.moved(r -> "infer".equals(r.stage()), FalRequest.State.DROPPED);
        assertThat(dropped.last("infer")).isEmpty();
        assertThat(dropped.open()).extracting(FalRequest::requestId).containsExactlyInAnyOrder("c-1", "s-2");
        assertThat(requests.json().getJsonObject("shoot/2/1").getString("state")).isEqualTo("submitted");
    }
}
