package ai.atelier.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.trace.SdkTracerProvider;

/**
 * With the SDK off (no OTLP endpoint: nothing is exported), Atelier's spans record nothing, yet carry the trace on:
 * a run continues its submit's trace id, and its stages and calls continue the run's.
 */
class TracesWithoutExportTest {

    private static final String SUBMIT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    @Test
    void spansRecordNothingAndKeepTheTraceId() {
        // a real SDK tracer, as OpenTelemetry builds one when "disabled": it would record every span it is asked for
        Traces traces = new Traces(SdkTracerProvider.builder().build().get("test"), true);
        Context run = traces.parent(SUBMIT).with(traces.startFal(traces.parent(SUBMIT), "generate_content", "fal-ai/flux/schnell", "job"));
        Span call = Span.fromContext(run);
        assertThat(call.isRecording()).isFalse();
        assertThat(call.getSpanContext().isValid()).isTrue();
        assertThat(call.getSpanContext().getTraceId()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
        assertThat(call.getSpanContext().getSpanId()).isNotEqualTo("00f067aa0ba902b7");

        Span orphan = traces.startFal(null, "chat", "openrouter/router", null);
        assertThat(orphan.isRecording()).isFalse();
        assertThat(orphan.getSpanContext().isValid()).as("a new trace when there is none").isTrue();
    }

    @Test
    void aStageIsMadeCurrentOnlyWhenSpansAreRecorded() {
        io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
        try {
            for (boolean sdkDisabled : new boolean[] { true, false }) {
                Traces traces = new Traces(SdkTracerProvider.builder().build().get("test"), sdkDisabled);
                io.vertx.core.Context run = io.smallrye.common.vertx.VertxContext.createNewDuplicatedContext(vertx.getOrCreateContext());
                Context runTrace = traces.startRun(SUBMIT, "job", "tenant", "flux-schnell", run);
                Context stage = traces.startStage(runTrace, "infer", "job", run);
                Context current = io.quarkus.opentelemetry.runtime.QuarkusContextStorage.getOtelContext(run);
                // the trace goes on either way; the stage's own span is current only when it is recorded
                assertThat(Span.fromContext(current).getSpanContext().getTraceId()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
                assertThat(current).as("sdk disabled: %s", sdkDisabled).isSameAs(sdkDisabled ? runTrace : stage);
                traces.endStage(run, runTrace);
                assertThat(io.quarkus.opentelemetry.runtime.QuarkusContextStorage.getOtelContext(run)).isSameAs(runTrace);
            }
        } finally {
            vertx.close();
        }
    }

    @Test
    void withTheSdkOnSpansAreRecorded() {
        Traces traces = new Traces(SdkTracerProvider.builder().build().get("test"), false);
        Span call = traces.startFal(traces.parent(SUBMIT), "generate_content", "fal-ai/flux/schnell", "job");
        assertThat(call.isRecording()).isTrue();
        assertThat(call.getSpanContext().getTraceId()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
        call.end();
    }
}
