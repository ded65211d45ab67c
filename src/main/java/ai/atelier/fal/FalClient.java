package ai.atelier.fal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

import jakarta.inject.Singleton;

import ai.atelier.config.AtelierConfig;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.ext.web.client.HttpRequest;
import io.vertx.mutiny.ext.web.client.HttpResponse;
import io.vertx.mutiny.ext.web.client.WebClient;

/**
 * fal's queue API (submit, status, result, cancel), its sync run endpoint and its file CDN. Every call
 * has a timeout; 429/502/503/504 and lost connections are retried with exponential backoff and jitter,
 * honouring Retry-After; a 504 for a user timeout is not. The retries and the circuit breaker
 * (named {@code fal}: its state is in health and metrics) are SmallRye Fault Tolerance's, configured
 * here programmatically because fal's own answer decides what may be retried: a call that may have been
 * billed (a submit or a sync run that timed out, or got a 502/504, or lost its connection after
 * sending) is never sent again. The key goes only into the Authorization header and never into a log
 * line or an error.
 *
 * <p>A Vert.x WebClient rather than a REST client interface: fal answers with absolute URLs and endpoint
 * ids that contain slashes, and the retry policy needs the raw status and headers of every answer.
 */
@Singleton
public class FalClient {

    private final WebClient http;
    private final AtelierConfig.Fal config;
    /** The circuit breaker's name, for its state in health and metrics. */
    public static final String BREAKER = "fal";

    private final io.smallrye.faulttolerance.api.Guard guard;
    private final io.vertx.mutiny.core.http.HttpClient streamClient;

    private final ai.atelier.telemetry.Traces traces;

    public FalClient(Vertx vertx, AtelierConfig config, ai.atelier.telemetry.Traces traces) {
        this.traces = traces;
        this.config = config.fal();
        AtelierConfig.Fal fal = config.fal();
        this.guard = io.smallrye.faulttolerance.api.Guard.create().withDescription("fal")
                // open after `breaker-threshold` calls in a row that fal failed (not the ones it refused: a 422 is an answer)
                .withCircuitBreaker().name(BREAKER).requestVolumeThreshold(fal.breakerThreshold()).failureRatio(1.0).successThreshold(1)
                .delay(fal.breakerOpenFor().toMillis(), java.time.temporal.ChronoUnit.MILLIS)
                .when(e -> e instanceof FalException f && f.againstFal()).done()
                // an open circuit is waited out with the same backoff, as fal's 503 would be
                .withRetry().maxRetries(fal.maxAttempts() - 1).maxDuration(1, java.time.temporal.ChronoUnit.HOURS).jitter(0, java.time.temporal.ChronoUnit.MILLIS)
                .delay(fal.backoff().toMillis(), java.time.temporal.ChronoUnit.MILLIS)
                .whenException(e -> (e instanceof FalException f && f.retryable())
                        || e instanceof org.eclipse.microprofile.faulttolerance.exceptions.CircuitBreakerOpenException)
                .withCustomBackoff().strategy(() -> new RetryAfterBackoff(fal.backoff(), fal.maxBackoff())).done()
                .beforeRetry(e -> Log.warnf("fal call failed (%s); trying again", e instanceof FalException f ? f.code() : "circuit open"))
                .done()
                .build();
        this.http = WebClient.create(vertx, new WebClientOptions().setConnectTimeout(10_000).setMaxPoolSize(200)
                .setKeepAlive(true).setFollowRedirects(true).setUserAgent("atelier/1.0"));
        // status streams and sync-run streams: one long-lived connection each, so a pool as large as the streams a wait may open
        this.streamClient = vertx.createHttpClient(new io.vertx.core.http.HttpClientOptions().setConnectTimeout(10_000).setKeepAlive(true)
                .setMaxPoolSize(config.fal().streamSlots() + 64));
    }

    /** Submits to the queue on the full endpoint id with fal's queue priority (normal or low); answers fal's request id. */
    public Uni<String> submit(String endpointId, JsonObject input, String queuePriority) {
        String webhook = config.publicBaseUrl().map(base -> base.replaceAll("/+$", "") + "/v1/fal/webhook").orElse(null);
        return retrying("submit " + endpointId, FalException::surelyNotTaken, () -> {
            HttpRequest<Buffer> request = authed(http.postAbs(config.queueUrl() + "/" + endpointId)).putHeader("x-fal-queue-priority", queuePriority);
            if (webhook != null) {
                request.addQueryParam("fal_webhook", webhook);
            }
            return request.sendJsonObject(input);
        }, config.callTimeout())
                .map(r -> json(r).getString("request_id"));
    }

    /** Whether fal calls us back on completion (a public base URL is set), so polling only reconciles. */
    public boolean webhooksOn() {
        return config.publicBaseUrl().isPresent();
    }

    /** Polls status on owner/app only, as fal's URL rules require. */
    public Uni<FalStatus> status(String endpointId, String requestId) {
        return retrying("status", () -> authed(http.getAbs(requestUrl(endpointId, requestId) + "/status").addQueryParam("logs", "1")).send())
                .map(r -> FalStatus.of(json(r)));
    }

    /**
     * fal's status stream (fal-api.md §5.5): one {@link FalStatus} per change, ending after COMPLETED.
     * It may also end early (fal closed it, a proxy cut it); the caller then polls. Fails with a
     * {@link FalException} on an error answer. Not retried: a wait falls back to polling instead.
     */
    public Multi<FalStatus> statusStream(String endpointId, String requestId) {
        if (circuitOpen()) {
            return Multi.createFrom().failure(circuitOpenException());
        }
        RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET)
                .setAbsoluteURI(requestUrl(endpointId, requestId) + "/status/stream?logs=1")
                .setConnectTimeout(config.callTimeout().toMillis())
                // no idle timeout of its own: fal sends a keep-alive every 15 s, and the wait bounds the whole stream
                .putHeader("Accept", "text/event-stream");
        config.key().ifPresent(key -> options.putHeader("Authorization", "Key " + key));
        return streamClient.request(options)
                .chain(io.vertx.mutiny.core.http.HttpClientRequest::send)
                .onFailure(e -> !(e instanceof FalException)).transform(e -> new FalException(0, "connection_error",
                        "fal could not be reached", null, false))
                .onItem().transformToMulti(response -> {
                    if (response.statusCode() != 200) {
                        return response.body().onItem().<FalStatus>transformToMulti(body -> Multi.createFrom().failure(toException(
                                response.statusCode(), response.getHeader("X-Fal-Error-Type"), body.toString(), response.getHeader("Retry-After"),
                                response.getHeader("x-fal-request-timeout-type"))));
                    }
                    // each event carries every log line so far: the lines an earlier event delivered are stepped over unread
                    int[] delivered = { 0 };
                    return ai.atelier.util.ServerSentEvents.events(response.toMulti()).map(data -> {
                        FalStatus s = FalStatus.parse(data, delivered[0]);
                        delivered[0] = s.logCount();
                        return s;
                    });
                });
    }

    /**
     * Fetches the result with what fal bills for it ({@code x-fal-billable-units}); a failed request
     * answers fal's error (422 and others) as a {@link FalException}.
     */
    public Uni<FalResult> result(String endpointId, String requestId) {
        return retrying("result", () -> authed(http.getAbs(requestUrl(endpointId, requestId))).send())
                .map(r -> new FalResult(requestId, json(r), units(r.getHeader("x-fal-billable-units"))));
    }

    private static Double units(String header) {
        if (header == null || header.isBlank()) {
            return null;
        }
        try {
            return Double.valueOf(header.trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** Cancels at fal; answers fal's word: OK, CANCELLATION_REQUESTED, ALREADY_COMPLETED or NOT_FOUND. */
    public Uni<String> cancel(String endpointId, String requestId) {
        return withTimeout(() -> authed(http.putAbs(requestUrl(endpointId, requestId) + "/cancel")).send(), config.callTimeout())
                .map(r -> {
                    try {
                        return FalJson.object(r.body()).getString("status", "HTTP_" + r.statusCode());
                    } catch (RuntimeException notJson) {
                        return "HTTP_" + r.statusCode();
                    }
                });
    }

    /**
     * Runs an endpoint synchronously on fal.run (for LLM completions, which answer in seconds). Only
     * answers that say fal never took the request (429, 503, no connection) are retried: a timeout or a
     * 502/504 may hide a run fal bills, and a second run would be billed too.
     */
    public Uni<FalResult> run(String endpointId, JsonObject input, Duration timeout) {
        return Uni.createFrom().deferred(() -> {
            io.opentelemetry.api.trace.Span span = traces.startFal(null, "chat", endpointId, null);
            return runOnce(endpointId, input, timeout).invoke(result -> {
                span.setAttribute(ai.atelier.telemetry.Traces.RESPONSE_ID, String.valueOf(result.requestId()));
                ai.atelier.telemetry.Traces.tokens(span, result.body());
            }).onTermination().invoke((result, failure, cancelled) -> ai.atelier.telemetry.Traces.end(span, failure));
        });
    }

    private Uni<FalResult> runOnce(String endpointId, JsonObject input, Duration timeout) {
        return retrying("run " + endpointId, FalException::surelyNotTaken, () -> authed(http.postAbs(config.runUrl() + "/" + endpointId))
                .sendJsonObject(input), timeout)
                .map(r -> new FalResult(r.getHeader("x-fal-request-id"), json(r), units(r.getHeader("x-fal-billable-units"))));
    }

    /**
     * Streams a sync run ({@code POST fal.run/{id}/stream}, Server-Sent Events): each item is one event's
     * JSON, partial outputs first, the full result last. Fails with a {@link FalException} on an error
     * answer, and when fal sends nothing for {@code idle}.
     */
    public Multi<JsonObject> stream(String endpointId, JsonObject input, Duration idle) {
        if (circuitOpen()) {
            return io.smallrye.mutiny.Multi.createFrom().failure(circuitOpenException());
        }
        io.vertx.core.http.RequestOptions options = new io.vertx.core.http.RequestOptions().setMethod(io.vertx.core.http.HttpMethod.POST)
                .setAbsoluteURI(config.runUrl() + "/" + endpointId + "/stream").setTimeout(config.callTimeout().toMillis())
                .putHeader("Content-Type", "application/json").putHeader("Accept", "text/event-stream");
        config.key().ifPresent(key -> options.putHeader("Authorization", "Key " + key));
        return streamClient.request(options)
                .chain(req -> req.send(io.vertx.mutiny.core.buffer.Buffer.buffer(input.encode())))
                .onFailure(e -> !(e instanceof FalException)).transform(e -> new FalException(0, "connection_error",
                        "fal could not be reached: " + e.getClass().getSimpleName(), null, false))
                .onItem().transformToMulti(response -> {
                    if (response.statusCode() != 200) {
                        return response.body().onItem().<JsonObject>transformToMulti(body -> {
                            return io.smallrye.mutiny.Multi.createFrom().failure(toException(response.statusCode(),
                                    response.getHeader("X-Fal-Error-Type"), body.toString(), response.getHeader("Retry-After"),
                                    response.getHeader("x-fal-request-timeout-type")));
                        });
                    }
                    return ai.atelier.util.ServerSentEvents.data(response.toMulti()).map(JsonObject::new);
                })
                .ifNoItem().after(idle).failWith(() -> new FalException(0, "stream_idle", "fal sent nothing for " + idle, null, false));
    }

    /** Downloads an output file from fal's CDN (no key: the URLs are public). */
    public Uni<byte[]> download(String url) {
        return retrying("download", () -> http.getAbs(url).send()).map(r -> r.bodyAsBuffer() == null ? new byte[0] : r.bodyAsBuffer().getBytes());
    }

    private String requestUrl(String endpointId, String requestId) {
        String[] parts = endpointId.split("/");
        return config.queueUrl() + "/" + parts[0] + "/" + parts[1] + "/requests/" + requestId;
    }

    private HttpRequest<Buffer> authed(HttpRequest<Buffer> request) {
        config.key().ifPresent(key -> request.putHeader("Authorization", "Key " + key));
        return request.putHeader("Accept", "application/json");
    }

    private Uni<HttpResponse<Buffer>> withTimeout(Supplier<Uni<HttpResponse<Buffer>>> call, Duration timeout) {
        return Uni.createFrom().deferred(call::get).ifNoItem().after(timeout)
                .failWith(() -> new FalException(0, "client_timeout", "fal did not answer within " + timeout, null, false));
    }

    /** One call with the retry policy: answers 2xx responses, fails with a {@link FalException} otherwise. */
    private Uni<HttpResponse<Buffer>> retrying(String what, Supplier<Uni<HttpResponse<Buffer>>> call) {
        return attempt(what, FalException::retryable, call, config.callTimeout());
    }

    /** A call that may cost money (submit, run): retried only when {@code safe} says fal did not take it. */
    private Uni<HttpResponse<Buffer>> retrying(String what, java.util.function.Predicate<FalException> safe,
            Supplier<Uni<HttpResponse<Buffer>>> call, Duration timeout) {
        return attempt(what, f -> f.retryable() && safe.test(f), call, timeout);
    }

    private Uni<HttpResponse<Buffer>> attempt(String what, java.util.function.Predicate<FalException> again,
            Supplier<Uni<HttpResponse<Buffer>>> call, Duration timeout) {
        Supplier<Uni<HttpResponse<Buffer>>> once = () -> withTimeout(call, timeout)
                // refused or never connected: fal surely has nothing; lost after sending: it may have the request
                .onFailure(e -> !(e instanceof FalException)).transform(e -> new FalException(0, connectFailure(e) ? "connection_error"
                        : "connection_lost", "fal could not be reached: " + e.getClass().getSimpleName(), null, false))
                .onItem().transform(r -> {
                    if (r.statusCode() >= 200 && r.statusCode() < 300) {
                        return r;
                    }
                    throw toException(r);
                })
                // what this call must not retry (a paid call fal may have taken) is marked so before the guard sees it
                .onFailure(FalException.class).transform(e -> again.test((FalException) e) ? e : ((FalException) e).notToRetry());
        return guard.get(once, RESPONSE)
                .onFailure(org.eclipse.microprofile.faulttolerance.exceptions.CircuitBreakerOpenException.class)
                .transform(e -> circuitOpenException())
                .onFailure(FalException.class).invoke(e -> Log.debugf("fal %s failed: %s", what, ((FalException) e).code()));
    }

    private static final jakarta.enterprise.util.TypeLiteral<Uni<HttpResponse<Buffer>>> RESPONSE = new jakarta.enterprise.util.TypeLiteral<>() {
    };

    private boolean circuitOpen() {
        return io.smallrye.faulttolerance.api.CircuitBreakerMaintenance.get().currentState(BREAKER)
                == io.smallrye.faulttolerance.api.CircuitBreakerState.OPEN;
    }

    private FalException circuitOpenException() {
        return new FalException(0, "circuit_open", "fal is failing; calls paused for " + config.breakerOpenFor(), null, false);
    }

    /**
     * Exponential backoff with ±25 % jitter, never shorter than fal's Retry-After (SmallRye's own
     * exponential backoff cannot read an answer's header). One instance per guarded call.
     */
    static final class RetryAfterBackoff implements io.smallrye.faulttolerance.api.CustomBackoffStrategy {
        private final long base;
        private final long max;
        private int retries;

        RetryAfterBackoff(Duration base, Duration max) {
            this.base = base.toMillis();
            this.max = max.toMillis();
        }

        @Override
        public long nextDelayInMillis(Throwable cause) {
            long exp = Math.min(max, base << Math.min(retries++, 20));
            long jittered = (long) (exp * (0.75 + ThreadLocalRandom.current().nextDouble() * 0.5));
            long retryAfter = cause instanceof FalException f ? f.retryAfter().map(Duration::toMillis).orElse(0L) : 0L;
            return Math.max(jittered, retryAfter);
        }
    }

    private static boolean connectFailure(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof java.net.ConnectException || c instanceof java.net.UnknownHostException
                    || c instanceof io.netty.channel.ConnectTimeoutException) {
                return true;
            }
        }
        return false;
    }

    static FalException toException(HttpResponse<Buffer> r) {
        return toException(r.statusCode(), r.getHeader("X-Fal-Error-Type"), r.bodyAsString(), r.getHeader("Retry-After"),
                r.getHeader("x-fal-request-timeout-type"));
    }

    static FalException toException(int status, String errorTypeHeader, String body, String retryAfterHeader, String timeoutType) {
        String errorType = errorTypeHeader;
        String message = "HTTP " + status;
        try {
            JsonObject json = body == null || body.isBlank() ? null : FalJson.object(body);
            if (json != null) {
                errorType = json.getString("error_type", errorType);
                message = describe(json.getValue("detail"), message);
            }
        } catch (RuntimeException notJson) {
            // keep the status line
        }
        Duration retryAfter = null;
        if (retryAfterHeader != null) {
            try {
                retryAfter = Duration.ofMillis((long) (Double.parseDouble(retryAfterHeader.trim()) * 1000));
            } catch (NumberFormatException httpDate) {
                retryAfter = null;
            }
        }
        boolean userTimeout = status == 504 && "user".equalsIgnoreCase(timeoutType);
        return new FalException(status, errorType, message, retryAfter, userTimeout);
    }

    /** fal's {@code detail} is a string or a pydantic list of {loc, msg, type}. */
    static String describe(Object detail, String fallback) {
        if (detail instanceof String s) {
            return s;
        }
        if (detail instanceof JsonArray list && !list.isEmpty()) {
            List<String> parts = new ArrayList<>();
            for (Object o : list) {
                if (o instanceof JsonObject e) {
                    JsonArray loc = e.getJsonArray("loc", new JsonArray());
                    List<String> path = new ArrayList<>();
                    loc.forEach(l -> path.add(String.valueOf(l)));
                    if (!path.isEmpty() && "body".equals(path.get(0))) {
                        path.remove(0);
                    }
                    parts.add((path.isEmpty() ? "" : String.join(".", path) + ": ") + e.getString("msg", "") + " (" + e.getString("type", "error") + ")");
                }
            }
            return String.join("; ", parts);
        }
        return fallback;
    }

    private static JsonObject json(HttpResponse<Buffer> r) {
        try {
            JsonObject body = FalJson.object(r.body());
            if (body == null) {
                throw new FalException(r.statusCode(), "invalid_response", "fal answered with an empty body", null, false);
            }
            return body;
        } catch (io.vertx.core.json.DecodeException e) {
            throw new FalException(r.statusCode(), "invalid_response", "fal answered with something that is not JSON", null, false);
        }
    }
}
