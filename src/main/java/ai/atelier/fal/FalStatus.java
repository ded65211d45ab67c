package ai.atelier.fal;

import java.util.List;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * fal's answer to a status poll or a status-stream event (fal-api.md §5.4): IN_QUEUE (with position),
 * IN_PROGRESS (with logs) or COMPLETED (with inference time, and an error when the request failed).
 * Any other status counts as still running.
 *
 * <p>fal sends every log line so far with each status. {@code logs} are the lines from number {@code earlierLogs}
 * on: a stream's event leaves out (unread) the lines its stream already delivered; a poll reads them all.
 */
public record FalStatus(String status, Integer queuePosition, List<String> logs, String error, Double inferenceSeconds, int earlierLogs) {

    /** fal's text made printable (see {@link FalJson}): a log line or an error goes on into the live store and the row. */
    public FalStatus {
        logs = logs == null ? null : FalJson.printable(logs);
        error = FalJson.printable(error);
    }

    /** A status with all of its log lines. */
    public FalStatus(String status, Integer queuePosition, List<String> logs, String error, Double inferenceSeconds) {
        this(status, queuePosition, logs, error, inferenceSeconds, 0);
    }

    /** What a wait knows when a fal webhook said the request completed. */
    public static FalStatus completedByWebhook() {
        return new FalStatus("COMPLETED", null, List.of(), null, null);
    }

    /** How many log lines fal has sent for the request so far, read or not. */
    public int logCount() {
        return earlierLogs + logs.size();
    }

    private static final JsonFactory JSON = new JsonFactory();

    /**
     * A status-stream event's data, read field by field from its bytes: a stream sends one per log line with every line
     * so far, and building each as a tree of maps (to keep five values) was most of what a wait cost. Reads what
     * {@link #of(JsonObject)} reads from the same document, except that the first {@code knownLogs} log lines (those
     * the stream's earlier events carried) are stepped over unread and counted in {@link #earlierLogs}.
     *
     * @throws DecodeException when the data is not a JSON object
     */
    public static FalStatus parse(byte[] data, int knownLogs) {
        try {
            return read(data, knownLogs);
        } catch (DecodeException e) {
            byte[] decodable = FalJson.decodable(data); // malformed UTF-8 (in a log line, say) read as the text reader read it
            if (decodable == null) {
                throw e;
            }
            return read(decodable, knownLogs);
        }
    }

    private static FalStatus read(byte[] data, int knownLogs) {
        try (JsonParser p = JSON.createParser(data)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new DecodeException("not a JSON object: a fal status must be one");
            }
            String status = null;
            Integer position = null;
            String error = null;
            Double inference = null;
            List<String> logs = new java.util.ArrayList<>();
            int earlier = 0;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                switch (field) {
                    case "status" -> status = value.isScalarValue() && value != JsonToken.VALUE_NULL ? p.getText() : null;
                    case "queue_position" -> position = value.isNumeric() ? p.getNumberValue().intValue() : null;
                    case "error" -> error = value == JsonToken.VALUE_STRING ? p.getText() : null;
                    case "logs" -> {
                        logs.clear(); // the last "logs" counts, as in a tree
                        earlier = 0;
                        if (value == JsonToken.START_ARRAY) {
                            earlier = readLogs(p, logs, knownLogs);
                        }
                    }
                    case "metrics" -> {
                        if (value == JsonToken.START_OBJECT) {
                            inference = inferenceTime(p);
                        }
                    }
                    default -> { }
                }
                p.skipChildren(); // a nested value read above already ended on its closing token
            }
            return new FalStatus(status, position, logs, error, inference, earlier);
        } catch (java.io.IOException e) {
            throw new DecodeException("a fal status that is not JSON: " + e.getMessage());
        }
    }

    /**
     * The message of each log line (an object) or the line itself (anything else), as {@link #of(JsonObject)} takes them,
     * after the first {@code skip} lines, which are stepped over; answers how many were.
     */
    private static int readLogs(JsonParser p, List<String> logs, int skip) throws java.io.IOException {
        JsonToken t;
        int skipped = 0;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY && t != null) {
            if (skipped < skip) {
                p.skipChildren();
                skipped++;
            } else if (t == JsonToken.START_OBJECT) {
                String message = null;
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String field = p.currentName();
                    JsonToken value = p.nextToken();
                    if ("message".equals(field) && value.isScalarValue() && value != JsonToken.VALUE_NULL) {
                        message = p.getText();
                    }
                    p.skipChildren();
                }
                logs.add(message);
            } else if (t == JsonToken.START_ARRAY) {
                logs.add(nested(p));
            } else {
                logs.add(t == JsonToken.VALUE_NULL ? "null" : p.getText());
            }
        }
        return skipped;
    }

    /** A log line that is itself an array, as Vert.x prints it: rare enough to read as a tree. */
    private static String nested(JsonParser p) throws java.io.IOException {
        return String.valueOf(io.vertx.core.json.jackson.DatabindCodec.mapper().readTree(p));
    }

    private static Double inferenceTime(JsonParser p) throws java.io.IOException {
        Double inference = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            if ("inference_time".equals(field) && value.isNumeric()) {
                inference = p.getDoubleValue();
            }
            p.skipChildren();
        }
        return inference;
    }

    public static FalStatus of(JsonObject s) {
        List<String> logs = new java.util.ArrayList<>();
        if (s.getValue("logs") instanceof JsonArray a) {
            a.forEach(l -> logs.add(l instanceof JsonObject o ? o.getString("message") : String.valueOf(l)));
        }
        Double inference = s.getValue("metrics") instanceof JsonObject m && m.getValue("inference_time") instanceof Number n ? n.doubleValue() : null;
        Object position = s.getValue("queue_position");
        return new FalStatus(s.getString("status"), position instanceof Number p ? p.intValue() : null, logs,
                s.getValue("error") instanceof String e ? e : null, inference);
    }

    public boolean completed() {
        return "COMPLETED".equals(status);
    }

    public boolean queued() {
        return "IN_QUEUE".equals(status);
    }
}
