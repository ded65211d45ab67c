package ai.atelier.jobs;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import ai.atelier.support.Simulator;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;

/** GET /v1/jobs/{id}/events: Server-Sent Events from submit to the terminal state, resumable with Last-Event-ID. */
@QuarkusTest
class JobEventsTest {

    @TestHTTPResource("/v1/jobs")
    URI jobs;

    @jakarta.inject.Inject
    io.quarkus.redis.datasource.RedisDataSource redis;

    record Sse(String id, String data) {
    }

    /** Reads a whole event stream (it ends by itself on the terminal state). */
    private List<Sse> read(String jobId, String lastEventId) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(jobs + "/" + jobId + "/events")).timeout(Duration.ofSeconds(30))
                .header("Accept", "text/event-stream");
        if (lastEventId != null) {
            request.header("Last-Event-ID", lastEventId);
        }
        HttpResponse<java.util.stream.Stream<String>> response = HttpClient.newHttpClient().send(request.build(),
                HttpResponse.BodyHandlers.ofLines());
        assertThat(response.statusCode()).isEqualTo(200);
        List<Sse> events = new ArrayList<>();
        String[] id = { null };
        java.util.Set<String> fields = new java.util.TreeSet<>();
        response.body().forEach(line -> {
            if (!line.isEmpty() && !line.startsWith(":")) {
                fields.add(line.substring(0, line.indexOf(':') < 0 ? line.length() : line.indexOf(':')));
            }
            if (line.startsWith("id:")) {
                id[0] = line.substring(3).trim();
            } else if (line.startsWith("data:")) {
                events.add(new Sse(id[0], line.substring(5).trim()));
            }
        });
        // only the fields the SSE standard defines (a client's parser may reject or mishandle others)
        assertThat(java.util.Set.of("id", "event", "data", "retry")).containsAll(fields);
        return events;
    }

    @Test
    void streamsStagesQueuePositionAndFalLogsUntilTheEndThenResumesAfterLastEventId() throws Exception {
        Simulator.reset();
        Simulator.settings(600, 900); // long enough to see the queue and the logs
        String id = given().contentType(ContentType.JSON).body(Map.of("model", "flux-schnell", "prompt", "watch me")).post("/v1/jobs")
                .then().statusCode(202).extract().path("id");
        List<Sse> events = read(id, null);

        List<JsonPath> states = events.stream().map(e -> new JsonPath(e.data())).toList();
        assertThat(states.get(states.size() - 1).getString("status")).isEqualTo("succeeded");
        assertThat(states.stream().map(s -> s.getString("stage")).distinct().toList()).contains("ingest", "infer", "finish");
        assertThat(states).anySatisfy(s -> assertThat(s.getString("message")).startsWith("Waiting in fal's queue"));
        assertThat(states.stream().flatMap(s -> s.getList("logs", String.class).stream()).toList()).contains("Loading model weights");
        assertThat(states.stream().map(s -> s.getInt("percent")).toList()).isSorted();
        assertThat(events.stream().map(Sse::id).distinct().count()).isEqualTo(events.size());

        // the stream marked the job watched (its events are published only then; StatementCountTest: unwatched, none is)
        long ttl = redis.key().pttl(ai.atelier.progress.ProgressStore.watchedKey(java.util.UUID.fromString(id)));
        assertThat(ttl).isBetween(1L, 30_000L);

        // reconnecting after the third event gets exactly the rest
        List<Sse> rest = read(id, events.get(2).id());
        assertThat(rest).isEqualTo(events.subList(3, events.size()));
    }

    @Test
    void anUnknownJobIs404() {
        given().accept("text/event-stream").get("/v1/jobs/00000000-0000-0000-0000-000000000001/events").then().statusCode(404);
    }
}
