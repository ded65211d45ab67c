package ai.atelier.jobs;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

import io.vertx.core.json.JsonObject;

/**
 * Every request a job made at fal, by {@link FalRequest#key() place}: the row's {@code fal_requests}
 * column. The one home of a job's fal request ids: stages, cancel, retry and the job's view read them
 * here. Immutable; a change is a new value, written by the statement that carries it.
 *
 * <p>Rows written by the previous version keep their ids where it put them (the main request in
 * {@code fal_request_id}, a stage's in its record, a style's in the shoot); {@link #legacy} reads them into
 * the same form, so a job that version started is resumed, cancelled and retried by the same rules. The
 * main request is still mirrored into {@code fal_request_id}/{@code fal_endpoint}/{@code fal_step} for it,
 * during a rolling update; both go in a later release.
 */
public final class FalRequests {

    // a field a later release adds to a request must not make its rows unreadable here during a rolling update
    private static final ObjectMapper MAPPER = new ObjectMapper().registerModule(new JavaTimeModule())
            .disable(com.fasterxml.jackson.databind.SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    public static final FalRequests NONE = new FalRequests(Map.of());

    private final Map<String, FalRequest> byKey;

    private FalRequests(Map<String, FalRequest> byKey) {
        this.byKey = Collections.unmodifiableMap(byKey);
    }

    /** The column as read; null when the row has none (a job the previous version made). */
    public static FalRequests parse(JsonObject column) {
        if (column == null) {
            return null;
        }
        Map<String, FalRequest> map = new LinkedHashMap<>();
        column.forEach(e -> {
            Object v = e.getValue() instanceof JsonObject o ? o.getMap() : e.getValue();
            map.put(e.getKey(), MAPPER.convertValue(v, FalRequest.class));
        });
        return new FalRequests(map);
    }

    /** The requests of a job the previous version made, from where it kept them. */
    @SuppressWarnings("unchecked")
    public static FalRequests legacy(Job job) {
        Map<String, FalRequest> map = new LinkedHashMap<>();
        if (job.stages != null) {
            job.stages.forEach((stage, entry) -> {
                if (entry instanceof Map<?, ?> m && m.get("fal_request_id") instanceof String rid && !"infer".equals(stage)) {
                    String endpoint = m.get("fal_endpoint") instanceof String e ? e : m.get("endpoint") instanceof String e2 ? e2 : null;
                    StageStatus status = StageStatus.of(m.get("status"));
                    put(map, new FalRequest(stage, null, 0, endpoint, rid, status == StageStatus.SUCCEEDED ? FalRequest.State.COMPLETED
                            : FalRequest.State.SUBMITTED, null));
                }
            });
        }
        if (job.falRequestId != null) {
            put(map, new FalRequest("infer", null, job.falStep, job.falEndpoint, job.falRequestId,
                    job.status == JobStatus.SUCCEEDED ? FalRequest.State.COMPLETED : FalRequest.State.SUBMITTED, null));
        }
        List<Map<String, Object>> styles = ShootStyles.of(job);
        for (int i = 0; i < styles.size(); i++) {
            Map<String, Object> st = styles.get(i);
            boolean done = StyleStatus.of(st.get("status")).finished();
            if (st.get("prompt_request_id") instanceof String rid) {
                put(map, new FalRequest("shoot", i, FalRequest.STYLE_PROMPT, (String) st.get("prompt_endpoint"), rid,
                        done || st.get("prompt") != null ? FalRequest.State.COMPLETED : FalRequest.State.SUBMITTED, null));
            }
            if (st.get("fal_request_id") instanceof String rid) {
                put(map, new FalRequest("shoot", i, FalRequest.STYLE_PICTURE, (String) st.get("fal_endpoint"), rid,
                        done ? FalRequest.State.COMPLETED : FalRequest.State.SUBMITTED, null));
            }
        }
        return new FalRequests(map);
    }

    private static void put(Map<String, FalRequest> map, FalRequest r) {
        map.put(r.key(), r);
    }

    public Optional<FalRequest> get(String key) {
        return Optional.ofNullable(byKey.get(key));
    }

    /** The id of the request a run should wait for at this place instead of paying again, or null. */
    public String resumable(String stage, Integer style, int step, String endpoint) {
        FalRequest r = byKey.get(FalRequest.key(stage, style, step));
        return r != null && r.state().usable() && (endpoint == null || r.endpoint() == null || endpoint.equals(r.endpoint())) ? r.requestId() : null;
    }

    /** Requests that may still be running at fal (a cancel cancels them there). */
    public List<FalRequest> open() {
        return select(r -> r.state() == FalRequest.State.SUBMITTED);
    }

    public List<FalRequest> all() {
        return List.copyOf(byKey.values());
    }

    public List<FalRequest> select(Predicate<FalRequest> which) {
        List<FalRequest> out = new ArrayList<>();
        byKey.values().forEach(r -> {
            if (which.test(r)) {
                out.add(r);
            }
        });
        return out;
    }

    /** The last request of a stage (its highest step), e.g. the infer stage's result to store. */
    public Optional<FalRequest> last(String stage) {
        return byKey.values().stream().filter(r -> stage.equals(r.stage()) && r.style() == null && r.state().usable())
                .max(java.util.Comparator.comparingInt(FalRequest::step));
    }

    /** These requests, with {@code r} in its place. */
    public FalRequests with(FalRequest r) {
        Map<String, FalRequest> map = new LinkedHashMap<>(byKey);
        map.put(r.key(), r);
        return new FalRequests(map);
    }

    /** These requests, each one {@code which} picks moved to {@code to}. */
    public FalRequests moved(Predicate<FalRequest> which, FalRequest.State to) {
        Map<String, FalRequest> map = new LinkedHashMap<>(byKey);
        map.replaceAll((k, r) -> which.test(r) && r.state() != to ? r.moved(to) : r);
        return new FalRequests(map);
    }

    public boolean isEmpty() {
        return byKey.isEmpty();
    }

    /** As the column stores them; also a patch the statements merge ({@code fal_requests || patch}). */
    public JsonObject json() {
        return json(byKey.values());
    }

    /** Some requests as a patch of the column. */
    public static JsonObject json(java.util.Collection<FalRequest> requests) {
        JsonObject out = new JsonObject();
        requests.forEach(r -> out.put(r.key(), r.json()));
        return out;
    }
}
