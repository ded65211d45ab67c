package ai.atelier.fal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

/** A status-stream event read field by field says what the same document read as a tree says. */
class FalStatusTest {

    @ParameterizedTest
    @ValueSource(strings = {
            // fal-api.md §5.4, each state as fal sends it
            "{\"status\":\"IN_QUEUE\",\"queue_position\":3,\"request_id\":\"r1\",\"response_url\":\"u\",\"status_url\":\"s\",\"cancel_url\":\"c\"}",
            "{\"status\":\"IN_PROGRESS\",\"request_id\":\"r1\",\"logs\":[{\"message\":\"Loading model weights\",\"level\":\"INFO\",\"source\":\"USER\","
                    + "\"timestamp\":\"2025-01-01T00:00:00Z\"},{\"message\":\"step 3/7\",\"level\":\"STDERR\",\"source\":\"USER\",\"timestamp\":\"x\"}]}",
            "{\"status\":\"COMPLETED\",\"logs\":null,\"metrics\":{\"inference_time\":2.31},\"request_id\":\"r1\"}",
            "{\"status\":\"COMPLETED\",\"logs\":[],\"metrics\":{\"inference_time\":1},\"error\":\"CUDA out of memory\",\"error_type\":\"runner_error\"}",
            // what a tree reader tolerates: unknown nesting before and after the fields, odd log lines, no metrics time
            "{\"extra\":{\"a\":[1,{\"b\":[]}],\"status\":\"nested, not this\"},\"status\":\"IN_PROGRESS\",\"logs\":[\"plain\",7,true,null,"
                    + "{\"level\":\"INFO\"},{\"message\":12},[\"x\",{\"y\":1}]],\"metrics\":{\"other\":{\"inference_time\":9}}}",
            "{\"status\":\"SOMETHING_NEW\",\"queue_position\":\"3\",\"error\":{\"detail\":[]},\"metrics\":[]}",
            "{\"queue_position\":0,\"logs\":{\"message\":\"not an array\"}}",
            "{\"logs\":[{\"message\":\"first\"}],\"status\":\"IN_PROGRESS\",\"logs\":[{\"message\":\"second\"}]}",
            "{}" })
    void readsWhatTheTreeReads(String data) {
        assertThat(parse(data)).isEqualTo(FalStatus.of(new JsonObject(data)));
    }

    @Test
    void readsEachValueOfAnInProgressEvent() {
        FalStatus s = parse("{\"status\":\"IN_PROGRESS\",\"logs\":[{\"message\":\"a\"},{\"message\":\"b\"}],\"queue_position\":null}");
        assertThat(s.status()).isEqualTo("IN_PROGRESS");
        assertThat(s.logs()).containsExactly("a", "b");
        assertThat(s.queuePosition()).isNull();
        assertThat(s.completed()).isFalse();
        assertThat(parse("{\"status\":\"COMPLETED\",\"metrics\":{\"inference_time\":0.5}}").inferenceSeconds()).isEqualTo(0.5);
        assertThat(parse("{\"status\":\"IN_QUEUE\",\"queue_position\":4}").queuePosition()).isEqualTo(4);
    }

    @Test
    void makesFalsTextPrintable() {
        // a log line in a terminal's colours, an error with a bell: each control character stands as U+FFFD, tabs stay
        FalStatus s = parse("{\"status\":\"COMPLETED\",\"logs\":[{\"message\":\"\\u001b[32mstep 7/7\\u001b[0m\\tdone\"}],"
                + "\"error\":\"CUDA\\u0007 out of memory\"}");
        assertThat(s.logs()).containsExactly("\uFFFD[32mstep 7/7\uFFFD[0m\tdone");
        assertThat(s.error()).isEqualTo("CUDA\uFFFD out of memory");
    }

    @ParameterizedTest
    @ValueSource(strings = { "", "[]", "\"IN_QUEUE\"", "{\"status\":", "not json" })
    void refusesWhatIsNotAnObject(String data) {
        assertThatThrownBy(() -> parse(data)).isInstanceOf(DecodeException.class);
    }

    @Test
    void keepsEveryLogLineInOrder() {
        StringBuilder data = new StringBuilder("{\"status\":\"IN_PROGRESS\",\"logs\":[");
        for (int i = 0; i < 50; i++) {
            data.append(i == 0 ? "" : ",").append("{\"message\":\"line ").append(i).append("\",\"level\":\"INFO\"}");
        }
        List<String> logs = parse(data.append("]}").toString()).logs();
        assertThat(logs).hasSize(50).startsWith("line 0").endsWith("line 49");
    }

    @Test
    void stepsOverTheLinesAnEarlierEventDeliveredAndCountsThem() {
        String data = "{\"status\":\"IN_PROGRESS\",\"logs\":[{\"message\":\"a\",\"level\":\"INFO\"},\"b\",[\"c\"],{\"message\":\"d\"}],\"queue_position\":null}";
        byte[] bytes = data.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        FalStatus all = FalStatus.parse(bytes, 0);
        assertThat(all.logs()).containsExactly("a", "b", "[\"c\"]", "d");
        assertThat(all.earlierLogs()).isZero();
        FalStatus rest = FalStatus.parse(bytes, 3);
        assertThat(rest.logs()).containsExactly("d");
        assertThat(rest.earlierLogs()).isEqualTo(3);
        assertThat(rest.logCount()).isEqualTo(4);
        assertThat(rest.status()).isEqualTo("IN_PROGRESS");
        // more known than sent (fal started over): every line sent is counted as earlier, none read
        FalStatus fewer = FalStatus.parse(bytes, 9);
        assertThat(fewer.logs()).isEmpty();
        assertThat(fewer.logCount()).isEqualTo(4);
    }

    @Test
    void readsAnEventWithMalformedUtf8AsATextDecoderWould() {
        // a log line whose bytes are not UTF-8 (0xFF never is): the line stands with U+FFFD, the status is still read
        byte[] head = "{\"status\":\"IN_PROGRESS\",\"logs\":[{\"message\":\"step ".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] tail = " done\"}]}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] data = new byte[head.length + 1 + tail.length];
        System.arraycopy(head, 0, data, 0, head.length);
        data[head.length] = (byte) 0xFF;
        System.arraycopy(tail, 0, data, head.length + 1, tail.length);
        FalStatus s = FalStatus.parse(data, 0);
        assertThat(s.status()).isEqualTo("IN_PROGRESS");
        assertThat(s.logs()).containsExactly("step \uFFFD done");
        assertThat(FalJson.object(io.vertx.core.buffer.Buffer.buffer(data)).getJsonArray("logs").getJsonObject(0).getString("message"))
                .isEqualTo("step \uFFFD done");
    }

    /** A stream event's text as the stream's reader hands it over (UTF-8 bytes), every log line read. */
    private static FalStatus parse(String data) {
        return FalStatus.parse(data.getBytes(java.nio.charset.StandardCharsets.UTF_8), 0);
    }
}
