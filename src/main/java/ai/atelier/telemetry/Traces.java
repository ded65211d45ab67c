package ai.atelier.telemetry;

import java.util.HashMap;
import java.util.Map;

import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.sdk.trace.IdGenerator;
import io.quarkus.opentelemetry.runtime.QuarkusContextStorage;
import io.quarkus.vertx.core.runtime.VertxMDC;

/**
 * Atelier's own spans: one per run of a job, one per stage, one per fal call (after the OpenTelemetry
 * GenAI conventions) and per S3 call; HTTP requests get theirs from Quarkus.
 *
 * <p>A job outlives the request that submitted it and may run on another instance, or be parked and woken by
 * a webhook: the submit's trace context (W3C {@code traceparent}) is stored in the job's row, and every run
 * starts as its child, so one trace shows the request, the runs and every call they made. A run's spans are
 * made current on the run's own Vert.x context: Quarkus's instrumented Vert.x HTTP client (fal, S3 uploads)
 * then parents its client spans under the stage, and log lines carry {@code traceId} and {@code jobId} (MDC).
 *
 * <p>With the SDK off (no OTLP endpoint) OpenTelemetry still records every span in memory, exporting none: 10,000
 * jobs waiting on fal held some 30,000 open spans. Then the spans here are non-recording ones that only carry ids
 * (the parent's trace id, a new span id), so the stored traceparent and the logs' {@code traceId} still work.
 */
@Singleton
public class Traces {

    public static final AttributeKey<String> JOB_ID = AttributeKey.stringKey("atelier.job.id");
    public static final AttributeKey<String> TENANT = AttributeKey.stringKey("atelier.tenant");
    public static final AttributeKey<String> STAGE = AttributeKey.stringKey("atelier.stage");
    public static final AttributeKey<String> OPERATION = AttributeKey.stringKey("gen_ai.operation.name");
    public static final AttributeKey<String> PROVIDER = AttributeKey.stringKey("gen_ai.provider.name");
    public static final AttributeKey<String> REQUEST_MODEL = AttributeKey.stringKey("gen_ai.request.model");
    public static final AttributeKey<String> RESPONSE_ID = AttributeKey.stringKey("gen_ai.response.id");
    public static final AttributeKey<Long> INPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.input_tokens");
    public static final AttributeKey<Long> OUTPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.output_tokens");
    public static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");

    private static final TextMapGetter<Map<String, String>> GETTER = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Map<String, String> carrier) {
            return carrier.keySet();
        }

        @Override
        public String get(Map<String, String> carrier, String key) {
            return carrier == null ? null : carrier.get(key);
        }
    };

    private final Tracer tracer;
    private final boolean recording;
    private final IdGenerator ids = IdGenerator.random();

    public Traces(Tracer tracer, @ConfigProperty(name = "quarkus.otel.sdk.disabled", defaultValue = "false") boolean sdkDisabled) {
        this.tracer = tracer;
        this.recording = !sdkDisabled;
    }

    /** A span that records nothing: the parent's trace (or a new one) and a fresh span id. */
    private Span idsOnly(Context parent) {
        SpanContext up = parent == null ? SpanContext.getInvalid() : Span.fromContext(parent).getSpanContext();
        String traceId = up.isValid() ? up.getTraceId() : ids.generateTraceId();
        return Span.wrap(SpanContext.create(traceId, ids.generateSpanId(), TraceFlags.getDefault(), TraceState.getDefault()));
    }

    /** The current span's context as a W3C traceparent, to store with a job; null without a valid span. */
    public String traceparent() {
        SpanContext current = Span.current().getSpanContext();
        if (!current.isValid()) {
            return null;
        }
        Map<String, String> carrier = new HashMap<>(2);
        W3CTraceContextPropagator.getInstance().inject(Context.current(), carrier, Map::put);
        return carrier.get("traceparent");
    }

    /** The stored traceparent as a parent context (the root when there is none or it does not parse). */
    public Context parent(String traceparent) {
        if (traceparent == null || traceparent.isBlank()) {
            return Context.root();
        }
        return W3CTraceContextPropagator.getInstance().extract(Context.root(), Map.of("traceparent", traceparent), GETTER);
    }

    /** A run of a job: child of its submit's trace, current on the run's Vert.x context from now on. */
    public Context startRun(String traceparent, String jobId, String tenant, String model, io.vertx.core.Context run) {
        Context parent = parent(traceparent);
        Span span = !recording ? idsOnly(parent) : tracer.spanBuilder("job " + model).setParent(parent).setSpanKind(SpanKind.INTERNAL)
                .setAttribute(JOB_ID, jobId).setAttribute(TENANT, tenant).setAttribute("atelier.model", model).startSpan();
        Context context = parent.with(span);
        VertxMDC.INSTANCE.put("jobId", jobId, run);
        makeCurrent(run, context);
        return context;
    }

    /**
     * A stage of a run: child of the run's span, current on the run's context until it ends ({@link #endStage}). Not
     * made current when nothing is recorded: the run's trace id is current already, and a stage's own span id in log
     * lines names no span anyone can see, while making a context current copies the run's MDC (about 2% of the
     * server's CPU in a burst, two per stage).
     */
    public Context startStage(Context runContext, String stage, String jobId, io.vertx.core.Context run) {
        Span span = !recording ? idsOnly(runContext) : tracer.spanBuilder("stage " + stage).setParent(runContext).setSpanKind(SpanKind.INTERNAL)
                .setAttribute(STAGE, stage).setAttribute(JOB_ID, jobId).startSpan();
        Context context = runContext.with(span);
        if (recording) {
            makeCurrent(run, context);
        }
        return context;
    }

    /** A stage ended: the run's span is current again (it never stopped being when nothing is recorded). */
    public void endStage(io.vertx.core.Context run, Context runContext) {
        if (recording) {
            makeCurrent(run, runContext);
        }
    }

    /**
     * A fal call (submit → wait → result) as a GenAI client span: {@code operation} is
     * {@code generate_content} for pictures, {@code chat} for LLM completions; the model is fal's endpoint id.
     */
    public Span startFal(Context parent, String operation, String endpointId, String jobId) {
        if (!recording) {
            return idsOnly(parent == null ? Context.current() : parent);
        }
        var builder = tracer.spanBuilder(operation + " " + endpointId).setSpanKind(SpanKind.CLIENT)
                .setAttribute(OPERATION, operation).setAttribute(PROVIDER, "fal").setAttribute(REQUEST_MODEL, endpointId);
        if (parent != null) {
            builder.setParent(parent);
        }
        if (jobId != null) {
            builder.setAttribute(JOB_ID, jobId);
        }
        return builder.startSpan();
    }

    /** An S3 call, child of whatever is current (a stage, or the HTTP request storing an upload). */
    public Span startS3(String operation, String bucket) {
        if (!recording) {
            return idsOnly(Context.current());
        }
        return tracer.spanBuilder("S3." + operation).setSpanKind(SpanKind.CLIENT).setAttribute("rpc.system", "aws-api")
                .setAttribute("rpc.service", "S3").setAttribute("rpc.method", operation).setAttribute("aws.s3.bucket", bucket).startSpan();
    }

    /** An LLM call's token usage (fal's OpenRouter {@code usage} block), as the GenAI conventions name it. */
    public static void tokens(Span span, io.vertx.core.json.JsonObject body) {
        if (body.getValue("usage") instanceof io.vertx.core.json.JsonObject usage) {
            if (usage.getValue("prompt_tokens") instanceof Number in) {
                span.setAttribute(INPUT_TOKENS, in.longValue());
            }
            if (usage.getValue("completion_tokens") instanceof Number out) {
                span.setAttribute(OUTPUT_TOKENS, out.longValue());
            }
        }
    }

    /** Ends {@code span}; a failure marks it as an error with the failure's kind as {@code error.type}. */
    public static void end(Span span, Throwable failure) {
        if (failure != null) {
            span.setStatus(StatusCode.ERROR, String.valueOf(failure.getMessage()));
            span.setAttribute(ERROR_TYPE, errorType(failure));
        }
        span.end();
    }

    /** Ends the span of {@code context} (a run's or a stage's). */
    public static void end(Context context, Throwable failure) {
        end(Span.fromContext(context), failure);
    }

    /** Makes {@code context} current on a run's Vert.x context again (after a stage ended). */
    public static void makeCurrent(io.vertx.core.Context run, Context context) {
        QuarkusContextStorage.INSTANCE.attach(run, context);
    }

    private static String errorType(Throwable e) {
        if (e instanceof ai.atelier.fal.FalException f) {
            return f.code();
        }
        if (e instanceof ai.atelier.jobs.StageFailed s) {
            return s.code();
        }
        return e.getClass().getName();
    }
}
