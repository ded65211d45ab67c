package ai.atelier.jobs;

import java.time.Instant;
import java.util.Locale;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One request a job made at fal: which stage made it (and which step of the model's plan, or which style of a
 * shoot and whether for its prompt or its picture), at which endpoint, fal's request id and where it stands.
 * Every request of a job lives in one place, the row's {@code fal_requests} (see {@link FalRequests}), written
 * by the fal call itself the moment fal returns the id: a resumed run waits for it, a cancel cancels it at
 * fal, a retry keeps or drops it, all by reading it there.
 */
// written to and read from the row's JSON by Jackson (FalRequests), never through a REST signature Quarkus would register it from
@io.quarkus.runtime.annotations.RegisterForReflection
@JsonInclude(JsonInclude.Include.NON_NULL)
public record FalRequest(String stage, Integer style, int step, String endpoint, @JsonProperty("request_id") String requestId, State state,
        @JsonProperty("submitted_at") Instant submittedAt) {

    /**
     * A request is submitted only once fal gave it an id. An entry read without one (a later release's, in a state this
     * version reads as submitted) has nothing to wait on or cancel at fal: it counts as dropped, so a run makes the
     * request again, as it would after the one window between fal's answer and its record.
     */
    public FalRequest {
        if (state == State.SUBMITTED && requestId == null) {
            state = State.DROPPED;
        }
    }

    /** Where a request stands, and the only place that says which way it may go. */
    public enum State {
        /** Submitted; its result is (or will be) at fal. */
        SUBMITTED,
        /** Its result was fetched (and paid for): a later run may fetch it again, never submit it again. */
        COMPLETED,
        /** Given up by a retry (its failure was its own): a new request takes its place. */
        DROPPED,
        /** Cancelled at fal with its job. */
        CANCELLED;

        public boolean canMoveTo(State to) {
            return switch (this) {
                case SUBMITTED -> to == COMPLETED || to == DROPPED || to == CANCELLED;
                // a completed request whose output failed a check is dropped by a retry, which asks again
                case COMPLETED -> to == DROPPED;
                case DROPPED, CANCELLED -> false;
            };
        }

        /** Whether a run may use the request instead of submitting a new one. */
        public boolean usable() {
            return this == SUBMITTED || this == COMPLETED;
        }

        @com.fasterxml.jackson.annotation.JsonValue
        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }

        /**
         * The state a word names. A word this version does not know (a later release's, met during a rolling update or
         * after a rollback) reads as submitted: the request may still run at fal, so a cancel cancels it there and a run
         * asks fal for its result instead of paying for a new one. Failing instead made the whole row unreadable: its
         * job could be neither run nor cancelled by this version.
         */
        @com.fasterxml.jackson.annotation.JsonCreator
        public static State of(String word) {
            for (State s : values()) {
                if (s.name().equalsIgnoreCase(word)) {
                    return s;
                }
            }
            return SUBMITTED;
        }
    }

    /** The step of a shoot style's prompt request; its picture's is {@link #STYLE_PICTURE}. */
    public static final int STYLE_PROMPT = 0;
    public static final int STYLE_PICTURE = 1;

    /** A request just submitted. */
    public static FalRequest submitted(String stage, Integer style, int step, String endpoint, String requestId) {
        return new FalRequest(stage, style, step, endpoint, requestId, State.SUBMITTED, Instant.now());
    }

    /** Where a request of this stage, style and step is kept: one request per place, a new one replaces a dropped one. */
    public static String key(String stage, Integer style, int step) {
        return style == null ? stage + "/" + step : stage + "/" + style + "/" + step;
    }

    public String key() {
        return key(stage, style, step);
    }

    /**
     * The request as its column stores it, built field by field: what Jackson writes for this record (nulls left out, the
     * state in its wire word, the time in ISO-8601), without a round trip through a map on each of a run's statements.
     */
    public io.vertx.core.json.JsonObject json() {
        io.vertx.core.json.JsonObject o = new io.vertx.core.json.JsonObject(new java.util.LinkedHashMap<>(8));
        if (stage != null) {
            o.put("stage", stage);
        }
        if (style != null) {
            o.put("style", style);
        }
        o.put("step", step);
        if (endpoint != null) {
            o.put("endpoint", endpoint);
        }
        if (requestId != null) {
            o.put("request_id", requestId);
        }
        if (state != null) {
            o.put("state", state.wire());
        }
        if (submittedAt != null) {
            o.put("submitted_at", submittedAt.toString());
        }
        return o;
    }

    /** The same request, moved on; a move the table does not allow is a bug and fails loudly. */
    public FalRequest moved(State to) {
        if (!state.canMoveTo(to)) {
            throw new IllegalStateException("fal request " + requestId + " cannot go from " + state.wire() + " to " + to.wire());
        }
        return new FalRequest(stage, style, step, endpoint, requestId, to, submittedAt);
    }
}
