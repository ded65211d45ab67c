package ai.atelier.simulator;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.jboss.logging.Logger;

import ai.atelier.ingest.ImageInfo;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.ext.web.handler.BodyHandler;

/**
 * A local fal.ai: a real HTTP server that follows fal's queue and run APIs (fal-api.md sections 3 to 9),
 * validates every input against the endpoint's schema, fetches the input image URLs it is given, and
 * answers with real PNGs, and with real MP4s for the video endpoints ({@link Mp4}). Tests and the local run use it
 * when no {@code FAL_KEY} is set.
 *
 * <p>Hosts map to path prefixes: {@code /queue} is queue.fal.run, {@code /run} is fal.run,
 * {@code /files} the CDN, {@code /platform} api.fal.ai (the pricing API: {@code GET /platform/v1/models/pricing},
 * {@code POST /platform/v1/models/pricing/estimate}, see {@link SimPricing}). {@code POST /run/{id}/stream} streams the
 * two {@code openrouter/router} endpoints as server-sent events. The routers answer text, not pictures: see
 * {@link SimLlm} for what they say. {@code GET /queue/{owner}/{app}/requests/{id}/status/stream} is fal's status
 * stream (fal-api.md section 5.5). Request state is derived from timestamps, so thousands of requests in flight cost
 * no threads, and an open status stream costs a timer only for the next moment its request's status changes.
 * Successful results and {@code fal.run} answers carry {@code x-fal-billable-units}, counted as fal bills.
 *
 * <p>The test API under {@code /_sim}:
 * <ul>
 * <li>{@code PUT /_sim/settings {"queue_ms","queue_positions","latency_ms","keep_alive_ms","video_bytes","file_ttl_ms"}},
 * {@code GET /_sim/settings}: timing of later requests (minutes are fine), the keep-alive interval of status streams opened
 * later (fal: 15 s), the size later video files are served at (up to 200 MiB, streamed) and how long files live;</li>
 * <li>{@code POST /_sim/faults {"target","endpoint"?,"times"?,"status"?,...}}, {@code DELETE /_sim/faults}: scripted failures;
 * on target {@code stream}, {@code drop} closes the connection right after the first event; on target {@code file},
 * {@code cut_after} (bytes), {@code short_body} (bytes) and {@code not_mp4} spoil one file answer;</li>
 * <li>{@code PUT /_sim/pricing {"<endpoint id>": {"unit_price": 0.005}}}: change prices (the pricing API answers them);</li>
 * <li>{@code POST /_sim/llm {"mode","times"=1,"endpoint"?}}: the next {@code times} LLM answers (of that endpoint id
 * exactly, when given; scripts apply oldest first) come back untidy. Modes: {@code prose}, {@code fenced},
 * {@code missing_keys}, {@code extra_keys}, {@code empty}, {@code no_json}, {@code error} (HTTP 200 with
 * {@code "error":"Provider returned error"}, as openrouter does); 204, or 400 for an unknown mode.
 * {@code DELETE /_sim/llm} drops the scripts;</li>
 * <li>{@code GET /_sim/requests[?method&path&prompt_prefix&count=true]}, {@code DELETE /_sim/requests}: the journal;</li>
 * <li>{@code POST /_sim/requests/{id}/webhook}: deliver a completed request's webhook again;</li>
 * <li>{@code POST /_sim/inbox/{anything}}: a stand-in for the client's own service, so Atelier's webhooks have somewhere
 * to go locally: answers 204 and journals the delivery with its Standard Webhooks headers and its exact body
 * ({@code body_raw}); {@code POST /_sim/inbox/silent/{anything}} journals it and never answers (a dead receiver);</li>
 * <li>{@code POST /_sim/reset}: journal, faults, LLM scripts, prices and settings back to the start.</li>
 * </ul>
 */
public final class FalSimulator implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(FalSimulator.class);
    private static final int JOURNAL_CAP = 200_000;
    private static final int FILES_CAP = 50_000; // fal's CDN keeps files for days: enough that 10,000 jobs in flight never find theirs evicted

    private final Vertx vertx;
    private final WebClient http;
    private final Map<String, SimSchema> schemas = SimSchema.catalogue();
    private final Map<String, SimRequest> requests = new ConcurrentHashMap<>();
    private final ConcurrentLinkedDeque<JsonObject> journal = new ConcurrentLinkedDeque<>();
    private final AtomicLong sequence = new AtomicLong();
    private final java.util.concurrent.atomic.AtomicInteger journalSize = new java.util.concurrent.atomic.AtomicInteger();
    private final List<Fault> faults = new CopyOnWriteArrayList<>();
    private final SimLlm llm = new SimLlm();
    private final Map<String, SimFile> files = Collections.synchronizedMap(new LinkedHashMap<>(256, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, SimFile> eldest) {
            return size() > FILES_CAP;
        }
    });
    private final SimPricing pricing = new SimPricing(schemas.keySet());
    /** Status streams open now, for the test that proves a closed client leaves nothing behind. */
    private final AtomicInteger openStatusStreams = new AtomicInteger();
    private volatile Settings settings = Settings.DEFAULT;
    /** fal signs webhooks with Ed25519; the simulator has its own key and serves it as a JWKS like fal does. */
    private final java.security.KeyPair webhookKey = ed25519();
    static final String USER_ID = "sim-user";
    private HttpServer server;
    private String baseUrl;

    /**
     * Timing of a simulated request: time in queue, positions counted down while queued, run time (minutes, for video,
     * when asked); the interval of the status stream's keep-alive comments (fal sends one every 15 s; tests shorten it);
     * the size of the video files made later ({@code video_bytes}, 0: the clip's own few kilobytes; at most
     * {@link #MAX_VIDEO_BYTES}); and how long a file stays on the CDN ({@code file_ttl_ms}, 0: for ever), after which
     * its URL answers 404, as an expired fal file does.
     */
    record Settings(long queueMs, int queuePositions, long latencyMs, long keepAliveMs, long videoBytes, long fileTtlMs) {
        static final Settings DEFAULT = new Settings(100, 2, 400, 15_000, 0, 0);

        /** snake_case like every other body of the simulator and fal. */
        JsonObject toJson() {
            return new JsonObject().put("queue_ms", queueMs).put("queue_positions", queuePositions).put("latency_ms", latencyMs)
                    .put("keep_alive_ms", keepAliveMs).put("video_bytes", videoBytes).put("file_ttl_ms", fileTtlMs);
        }
    }

    /** The largest video file the simulator serves: what a gateway should allow (fal-video.md §7.3). */
    static final long MAX_VIDEO_BYTES = 200L * 1024 * 1024;

    /**
     * A file on the simulated CDN: its first bytes (a whole PNG, or an MP4 without its padding), the size it is served
     * at (an MP4 is padded to it with a {@code free} box of zeros, streamed, never held), its type and when it was made.
     */
    record SimFile(byte[] head, long size, String contentType, long createdAt) {
    }

    /** One scripted failure, applied to the next {@code times} matching calls. */
    static final class Fault {
        final String target;
        final String endpoint;
        final JsonObject spec;
        int remaining;

        Fault(JsonObject spec) {
            this.spec = spec;
            this.target = spec.getString("target", "submit");
            this.endpoint = spec.getString("endpoint");
            this.remaining = spec.getInteger("times", 1);
        }
    }

    static final class SimRequest {
        final String id;
        final String endpointId;
        final JsonObject body;
        final String webhookUrl;
        final long createdAt;
        final long queueUntil;
        final long doneAt;
        final int positions;
        /** The log lines the endpoint writes while it runs (none for fal's partner video models). */
        final List<String> logLines;
        volatile boolean cancelled;
        volatile int resultStatus;
        volatile JsonObject result;
        volatile long completedAt;
        /** x-fal-billable-units of a successful result; null for a failed one (fal bills only successful outputs). */
        volatile String billableUnits;
        long timerId;
        /**
         * Open status streams, null when there are none (nearly always); guarded by this request's monitor, like
         * {@code streamTimer}: the one timer, for the next moment the status changes, that exists only while someone listens.
         */
        List<StatusListener> listeners;
        long streamTimer = -1;

        SimRequest(String id, String endpointId, JsonObject body, String webhookUrl, Settings s, List<String> logLines) {
            this.logLines = logLines;
            this.id = id;
            this.endpointId = endpointId;
            this.body = body;
            this.webhookUrl = webhookUrl;
            this.createdAt = System.currentTimeMillis();
            this.queueUntil = createdAt + s.queueMs();
            this.doneAt = queueUntil + s.latencyMs();
            this.positions = s.queuePositions();
        }

        String ownerApp() {
            String[] parts = endpointId.split("/");
            return parts[0] + "/" + parts[1];
        }
    }

    /** One open status stream: the client's response, whether it asked for logs, and the event it was sent last. */
    static final class StatusListener {
        final HttpServerResponse response;
        final boolean logs;
        String last;
        long keepAliveTimer = -1;

        StatusListener(HttpServerResponse response, boolean logs) {
            this.response = response;
            this.logs = logs;
        }
    }

    private FalSimulator(Vertx vertx) {
        this.vertx = vertx;
        this.http = WebClient.create(vertx, new WebClientOptions().setFollowRedirects(true).setConnectTimeout(5000)
                .setMaxPoolSize(64));
    }

    /** Starts the simulator on {@code port} (0 for any free port) and returns once it listens. */
    public static FalSimulator start(int port) {
        FalSimulator sim = new FalSimulator(Vertx.vertx());
        try {
            sim.listen(port).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            sim.close();
            throw new IllegalStateException("fal simulator did not start", e);
        }
        return sim;
    }

    public String baseUrl() {
        return baseUrl;
    }

    private final Map<String, Runnable> localControls = new ConcurrentHashMap<>();

    /** Lets {@code POST /_sim/local/{name}} run {@code control} (outage tests stop and start the local servers this way). */
    public void localControl(String name, Runnable control) {
        localControls.put(name, control);
    }

    private Future<HttpServer> listen(int port) {
        Router router = Router.router(vertx);
        router.route().handler(BodyHandler.create(false).setBodyLimit(64L * 1024 * 1024));
        router.route().handler(this::record);
        router.get("/_sim/requests").handler(ctx -> {
            // optional filters, so a benchmark with 10k jobs can count without downloading the journal
            String method = ctx.request().getParam("method");
            String path = ctx.request().getParam("path");
            String prefix = ctx.request().getParam("prompt_prefix");
            List<JsonObject> matching = journal.stream()
                    .filter(e -> method == null || method.equals(e.getString("method")))
                    .filter(e -> path == null || path.equals(e.getString("path")))
                    .filter(e -> prefix == null || (e.getValue("body") instanceof JsonObject b && b.getString("prompt", "").startsWith(prefix)))
                    .toList();
            if ("true".equals(ctx.request().getParam("count"))) {
                json(ctx, 200, new JsonObject().put("count", matching.size()));
            } else {
                json(ctx, 200, new JsonObject().put("requests", new JsonArray(new ArrayList<>(matching))));
            }
        });
        router.delete("/_sim/requests").handler(ctx -> {
            journal.clear();
            journalSize.set(0);
            ctx.response().setStatusCode(204).end();
        });
        // the local servers beside the simulator (S3, Redis), stopped and started by outage tests
        router.post("/_sim/local/:command").handler(ctx -> {
            Runnable control = localControls.get(ctx.pathParam("command"));
            if (control == null) {
                json(ctx, 404, new JsonObject().put("detail", "No local control " + ctx.pathParam("command")));
                return;
            }
            vertx.executeBlocking(() -> {
                control.run();
                return null;
            }, false).onComplete(ar -> {
                if (ar.succeeded()) {
                    ctx.response().setStatusCode(204).end();
                } else {
                    json(ctx, 500, new JsonObject().put("detail", String.valueOf(ar.cause().getMessage())));
                }
            });
        });
        // a receiver that never answers (a dead or stuck service): the request stays open until the caller gives up
        router.post("/_sim/inbox/silent/*").handler(ctx -> { });
        router.post("/_sim/inbox/*").handler(ctx -> ctx.response().setStatusCode(204).end());
        router.post("/_sim/reset").handler(ctx -> {
            journal.clear();
            journalSize.set(0);
            faults.clear();
            llm.clearScripts();
            pricing.reset();
            settings = Settings.DEFAULT;
            ctx.response().setStatusCode(204).end();
        });
        router.get("/_sim/settings").handler(ctx -> json(ctx, 200, settings.toJson()));
        router.put("/_sim/settings").handler(ctx -> {
            try {
                JsonObject b = ctx.body().asJsonObject();
                b = b == null ? new JsonObject() : b;
                Settings d = settings;
                long videoBytes = b.getLong("video_bytes", d.videoBytes());
                if (videoBytes < 0 || videoBytes > MAX_VIDEO_BYTES) {
                    json(ctx, 400, new JsonObject().put("detail", "video_bytes is 0 (the clip's own size) to " + MAX_VIDEO_BYTES));
                    return;
                }
                settings = new Settings(b.getLong("queue_ms", d.queueMs()), b.getInteger("queue_positions", d.queuePositions()),
                        b.getLong("latency_ms", d.latencyMs()), Math.max(1, b.getLong("keep_alive_ms", d.keepAliveMs())), videoBytes,
                        Math.max(0, b.getLong("file_ttl_ms", d.fileTtlMs())));
                json(ctx, 200, settings.toJson());
            } catch (ClassCastException | DecodeException e) {
                json(ctx, 400, new JsonObject().put("detail",
                        "Settings are integers: queue_ms, queue_positions, latency_ms, keep_alive_ms, video_bytes, file_ttl_ms"));
            }
        });
        router.put("/_sim/pricing").handler(ctx -> {
            try {
                json(ctx, 200, pricing.change(ctx.body().asJsonObject()));
            } catch (IllegalArgumentException | DecodeException e) {
                json(ctx, 400, new JsonObject().put("detail", e.getMessage()));
            }
        });
        router.post("/_sim/faults").handler(ctx -> {
            faults.add(new Fault(ctx.body().asJsonObject()));
            ctx.response().setStatusCode(204).end();
        });
        router.delete("/_sim/faults").handler(ctx -> {
            faults.clear();
            ctx.response().setStatusCode(204).end();
        });
        router.post("/_sim/llm").handler(ctx -> {
            try {
                llm.script(ctx.body().asJsonObject());
                ctx.response().setStatusCode(204).end();
            } catch (IllegalArgumentException | DecodeException e) {
                json(ctx, 400, new JsonObject().put("detail", e.getMessage()));
            }
        });
        router.delete("/_sim/llm").handler(ctx -> {
            llm.clearScripts();
            ctx.response().setStatusCode(204).end();
        });
        router.post("/_sim/requests/:id/webhook").handler(ctx -> {
            SimRequest r = requests.get(ctx.pathParam("id"));
            if (r == null || r.result == null || r.webhookUrl == null) {
                json(ctx, 404, new JsonObject().put("detail", "No completed request with a webhook"));
                return;
            }
            sendWebhook(r, 3); // a repeat, as fal's own retries produce; not retried again
            ctx.response().setStatusCode(202).end();
        });
        router.get("/rest/.well-known/jwks.json").handler(ctx -> json(ctx, 200, jwks()));
        router.get("/platform/v1/models/pricing").handler(ctx -> guarded(ctx, "pricing", null,
                () -> platform(ctx, () -> pricing.prices(ctx.queryParam("endpoint_id")))));
        router.post("/platform/v1/models/pricing/estimate").handler(ctx -> guarded(ctx, "pricing", null,
                () -> platform(ctx, () -> pricing.estimate(ctx.body().asJsonObject()))));
        router.get("/files/sim/:name").handler(ctx -> guarded(ctx, "file", null, () -> serveFile(ctx)));
        router.getWithRegex("/queue/([^/]+)/([^/]+)/requests/([^/]+)/status/stream").handler(ctx -> guarded(ctx, "stream", ownerApp(ctx), () -> statusStream(ctx, ownerApp(ctx), ctx.pathParam("param2"))));
        router.getWithRegex("/queue/([^/]+)/([^/]+)/requests/([^/]+)/status").handler(ctx -> guarded(ctx, "status", ownerApp(ctx), () -> status(ctx, ownerApp(ctx), ctx.pathParam("param2"))));
        router.getWithRegex("/queue/([^/]+)/([^/]+)/requests/([^/]+)").handler(ctx -> guarded(ctx, "result", ownerApp(ctx), () -> result(ctx, ownerApp(ctx), ctx.pathParam("param2"))));
        router.putWithRegex("/queue/([^/]+)/([^/]+)/requests/([^/]+)/cancel").handler(ctx -> guarded(ctx, "cancel", ownerApp(ctx), () -> cancel(ctx, ownerApp(ctx), ctx.pathParam("param2"))));
        router.postWithRegex("/queue/(.+)").handler(ctx -> guarded(ctx, "submit", ctx.pathParam("param0"), () -> submit(ctx, ctx.pathParam("param0"))));
        // before /run/(.+), which would take "stream" for part of the endpoint id
        router.postWithRegex("/run/(.+)/stream").handler(ctx -> guarded(ctx, "run", ctx.pathParam("param0"), () -> stream(ctx, ctx.pathParam("param0"))));
        router.postWithRegex("/run/(.+)").handler(ctx -> guarded(ctx, "run", ctx.pathParam("param0"), () -> run(ctx, ctx.pathParam("param0"))));
        router.route().last().handler(ctx -> json(ctx, 404, new JsonObject().put("detail", "Path " + ctx.request().path() + " not found")));
        return vertx.createHttpServer().requestHandler(router).listen(port, "127.0.0.1").onSuccess(s -> {
            server = s;
            baseUrl = "http://localhost:" + s.actualPort();
            LOG.infof("fal simulator listening on %s", baseUrl);
        });
    }

    // ---- journal and faults ------------------------------------------------------------------

    private void record(RoutingContext ctx) {
        String path = ctx.request().path();
        if (path.startsWith("/_sim/") && !path.startsWith("/_sim/inbox/")) {
            ctx.next();
            return;
        }
        JsonObject headers = new JsonObject();
        ctx.request().headers().forEach(h -> {
            String name = h.getKey().toLowerCase();
            if (name.startsWith("x-fal") || name.startsWith("webhook-") || name.equals("content-type") || name.equals("accept")) {
                headers.put(name, h.getValue());
            }
        });
        // The key itself is never kept: only whether one came and in fal's "Key ..." form.
        String auth = ctx.request().getHeader("Authorization");
        headers.put("authorization", auth == null ? null : auth.startsWith("Key ") ? "Key ***" : "malformed");
        JsonObject entry = new JsonObject().put("seq", sequence.incrementAndGet()).put("at", Instant.now().toString())
                .put("method", ctx.request().method().name()).put("path", path).put("query", ctx.request().query())
                .put("headers", headers);
        Buffer body = ctx.body().buffer();
        if (body != null && body.length() > 0 && path.startsWith("/_sim/inbox/")) {
            // a client's service verifies signatures over the exact bytes: keep them as they came
            entry.put("body_raw", body.toString(java.nio.charset.StandardCharsets.UTF_8));
        }
        if (body != null && body.length() > 0) {
            try {
                entry.put("body", new JsonObject(body));
            } catch (RuntimeException notJson) {
                entry.put("body_text", body.length() > 2048 ? body.getString(0, 2048) : body.toString());
            }
        }
        journal.addLast(entry);
        // ConcurrentLinkedDeque.size() walks the whole deque: keep our own count
        if (journalSize.incrementAndGet() > JOURNAL_CAP && journal.pollFirst() != null) {
            journalSize.decrementAndGet();
        }
        ctx.next();
    }

    private Optional<JsonObject> takeFault(String target, String endpoint) {
        synchronized (faults) {
            for (Iterator<Fault> it = faults.iterator(); it.hasNext();) {
                Fault f = it.next();
                if (f.target.equals(target) && (f.endpoint == null || (endpoint != null && endpoint.startsWith(f.endpoint)))) {
                    if (--f.remaining <= 0) {
                        faults.remove(f);
                    }
                    return Optional.of(f.spec);
                }
            }
        }
        return Optional.empty();
    }

    private static String ownerApp(RoutingContext ctx) {
        return ctx.pathParam("param0") + "/" + ctx.pathParam("param1");
    }

    /** Runs {@code action} unless a scripted fault for this target answers instead. */
    private void guarded(RoutingContext ctx, String target, String endpoint, Runnable action) {
        if (!faulted(ctx, target, endpoint, action)) {
            action.run();
        }
    }

    /** Applies a scripted fault; true when the response has been taken care of. */
    private boolean faulted(RoutingContext ctx, String target, String endpoint, Runnable proceed) {
        Optional<JsonObject> fault = takeFault(target, endpoint);
        if (fault.isEmpty()) {
            return false;
        }
        JsonObject f = fault.get();
        long delay = f.getLong("delay_ms", 0L);
        Runnable act = () -> {
            if (f.getBoolean("drop", false)) {
                if ("stream".equals(target)) {
                    // a stream that breaks mid-way, not one refused: the client has had an event and must fall back to polling
                    ctx.put(DROP_AFTER_FIRST_EVENT, true);
                    proceed.run();
                } else {
                    ctx.request().connection().close();
                }
                return;
            }
            Integer status = f.getInteger("status");
            if (status == null) {
                if ("file".equals(target)) {
                    ctx.put(FILE_FAULT, f); // cut_after, short_body, not_mp4: the file answer itself goes wrong
                }
                proceed.run(); // a pure delay: slow but correct
                return;
            }
            var res = ctx.response();
            if (f.containsKey("retry_after")) {
                res.putHeader("Retry-After", String.valueOf(f.getValue("retry_after")));
            }
            JsonObject body = new JsonObject().put("detail", f.getString("detail", "Simulated failure"));
            if (f.containsKey("error_type")) {
                body.put("error_type", f.getString("error_type"));
                res.putHeader("X-Fal-Error-Type", f.getString("error_type"));
            }
            if (f.containsKey("timeout_type")) {
                res.putHeader("x-fal-request-timeout-type", f.getString("timeout_type"));
            }
            json(ctx, status, body);
        };
        if (delay > 0) {
            vertx.setTimer(delay, t -> act.run());
        } else {
            act.run();
        }
        return true;
    }

    private static final String DROP_AFTER_FIRST_EVENT = "sim.drop-after-first-event";

    // ---- platform API (api.fal.ai) ---------------------------------------------------------------

    /** Answers a platform API call: its JSON, or the 422 {@code detail} fal's platform API answers for a bad request. */
    private static void platform(RoutingContext ctx, java.util.function.Supplier<JsonObject> call) {
        try {
            json(ctx, 200, call.get());
        } catch (SimPricing.Invalid e) {
            json(ctx, 422, new JsonObject().put("detail", e.detail));
        } catch (DecodeException e) {
            json(ctx, 422, detail(SimSchema.error(List.of(), "Invalid JSON", "json_invalid", null)));
        }
    }

    // ---- queue API -----------------------------------------------------------------------------


    private void submit(RoutingContext ctx, String endpointId) {
        SimSchema schema = schemas.get(endpointId);
        if (schema == null) {
            json(ctx, 404, new JsonObject().put("detail", "Application '" + endpointId + "' not found"));
            return;
        }
        JsonObject body;
        try {
            body = ctx.body().asJsonObject();
        } catch (RuntimeException e) {
            json(ctx, 422, detail(SimSchema.error(List.of(), "Invalid JSON", "json_invalid", null)));
            return;
        }
        if (body == null) {
            json(ctx, 422, detail(SimSchema.error(List.of(), "Field required", "missing", null)));
            return;
        }
        SimRequest r = new SimRequest(UUID.randomUUID().toString(), endpointId, body, ctx.request().getParam("fal_webhook"), settings,
                schema.logLines);
        requests.put(r.id, r);
        List<JsonObject> errors = schema.validate(body);
        Optional<JsonObject> modelFault = takeFault("complete", endpointId);
        r.timerId = vertx.setTimer(Math.max(1, r.doneAt - System.currentTimeMillis()), t -> {
            if (!errors.isEmpty()) {
                finish(r, 422, detail(errors.toArray(JsonObject[]::new)));
            } else if (modelFault.isPresent()) {
                JsonObject f = modelFault.get();
                finish(r, f.getInteger("status", 422), detail(SimSchema.error(List.of(), f.getString("detail", "Simulated model error"),
                        f.getString("error_type", "content_policy_violation"), null)));
            } else {
                generate(schema, body).onComplete(ar -> {
                    if (ar.succeeded()) {
                        finish(r, 200, ar.result().output(), ar.result().billableUnits());
                    } else {
                        finish(r, 422, detail(SimSchema.error(List.of(), ar.cause().getMessage(), "file_download_error", null)));
                    }
                });
            }
        });
        String base = baseUrl + "/queue/" + r.ownerApp() + "/requests/" + r.id;
        ctx.response().putHeader("x-fal-request-id", r.id);
        json(ctx, 200, new JsonObject().put("status", "IN_QUEUE").put("request_id", r.id).put("queue_position", r.positions)
                .put("response_url", base).put("status_url", base + "/status").put("cancel_url", base + "/cancel"));
    }

    /** A failed request's end: fal bills no units for it. */
    private void finish(SimRequest r, int status, JsonObject result) {
        finish(r, status, result, null);
    }

    private void finish(SimRequest r, int status, JsonObject result, String billableUnits) {
        if (r.result != null) {
            return;
        }
        r.resultStatus = status;
        r.completedAt = System.currentTimeMillis();
        r.billableUnits = status == 200 ? billableUnits : null;
        r.result = result; // last: whoever sees a result sees its status, time and units too
        // at once, not at a listener's next tick: the status stream is how a client learns fal is done
        pushStatus(r);
        if (r.webhookUrl != null && status != 499) {
            sendWebhook(r, 1);
        }
    }

    /** POSTs fal's webhook body, signed as fal signs it (fal-api.md section 6); retried a few times like fal. */
    private void sendWebhook(SimRequest r, int attempt) {
        JsonObject body = new JsonObject().put("request_id", r.id).put("gateway_request_id", r.id)
                .put("status", r.resultStatus < 400 ? "OK" : "ERROR").put("payload", r.result)
                .put("error", r.resultStatus < 400 ? null : "Invalid status code: " + r.resultStatus);
        Buffer bytes = body.toBuffer();
        String timestamp = String.valueOf(System.currentTimeMillis() / 1000);
        String signature = sign(r.id + "\n" + USER_ID + "\n" + timestamp + "\n" + sha256Hex(bytes.getBytes()));
        if (takeFault("webhook", r.endpointId).isPresent()) {
            return; // a webhook fal never delivered: polling must still finish the job
        }
        http.postAbs(r.webhookUrl).putHeader("Content-Type", "application/json").putHeader("X-Fal-Webhook-Request-Id", r.id)
                .putHeader("X-Fal-Webhook-User-Id", USER_ID).putHeader("X-Fal-Webhook-Timestamp", timestamp)
                .putHeader("X-Fal-Webhook-Signature", signature).timeout(15_000).sendBuffer(bytes)
                .onComplete(ar -> {
                    boolean ok = ar.succeeded() && ar.result().statusCode() / 100 == 2;
                    // outgoing webhooks are journalled too, with the receiver's answer
                    journal.addLast(new JsonObject().put("seq", sequence.incrementAndGet()).put("at", Instant.now().toString())
                            .put("direction", "out").put("method", "POST").put("path", "webhook").put("request_id", r.id)
                            .put("status", ar.succeeded() ? ar.result().statusCode() : 0)
                            .put("response", ar.succeeded() && ar.result().body() != null ? ar.result().bodyAsString() : String.valueOf(ar.cause())));
                    journalSize.incrementAndGet();
                    if (!ok && attempt < 3) {
                        vertx.setTimer(500L * attempt, t -> sendWebhook(r, attempt + 1));
                    }
                });
    }

    private String sign(String message) {
        try {
            java.security.Signature s = java.security.Signature.getInstance("Ed25519");
            s.initSign(webhookKey.getPrivate());
            s.update(message.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(s.sign());
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sha256Hex(byte[] bytes) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static java.security.KeyPair ed25519() {
        try {
            return java.security.KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The public key as fal publishes it: a JWKS with one OKP/Ed25519 key, x = the raw 32 bytes, base64url. */
    private JsonObject jwks() {
        byte[] encoded = webhookKey.getPublic().getEncoded(); // X.509 SubjectPublicKeyInfo: 12-byte prefix + 32-byte key
        byte[] raw = java.util.Arrays.copyOfRange(encoded, encoded.length - 32, encoded.length);
        return new JsonObject().put("keys", new JsonArray().add(new JsonObject().put("kty", "OKP").put("crv", "Ed25519")
                .put("x", Base64.getUrlEncoder().withoutPadding().encodeToString(raw)).put("kid", "sim")));
    }

    private SimRequest find(RoutingContext ctx, String ownerApp, String id) {
        SimRequest r = requests.get(id);
        if (r == null || !r.ownerApp().equals(ownerApp)) {
            json(ctx, 404, new JsonObject().put("detail", "Request " + id + " not found"));
            return null;
        }
        return r;
    }


    private void status(RoutingContext ctx, String ownerApp, String id) {
        SimRequest r = find(ctx, ownerApp, id);
        if (r == null) {
            return;
        }
        JsonObject s = statusOf(r, System.currentTimeMillis(), wantsLogs(ctx));
        json(ctx, "COMPLETED".equals(s.getString("status")) ? 200 : 202, s);
    }

    private static boolean wantsLogs(RoutingContext ctx) {
        return "1".equals(ctx.request().getParam("logs")) || "true".equals(ctx.request().getParam("logs"));
    }

    /** The section 5.4 status object at {@code now}: what the status endpoint answers, and every status stream event. */
    private JsonObject statusOf(SimRequest r, long now, boolean logs) {
        JsonObject result = r.result;
        String base = baseUrl + "/queue/" + r.ownerApp() + "/requests/" + r.id;
        JsonObject s = new JsonObject().put("request_id", r.id).put("response_url", base).put("status_url", base + "/status")
                .put("cancel_url", base + "/cancel");
        if (result == null && now < r.queueUntil && !r.cancelled) {
            return s.put("status", "IN_QUEUE").put("queue_position", queuePosition(r, now));
        }
        if (result == null) {
            return s.put("status", "IN_PROGRESS").put("logs", logs ? logs(r, now) : null);
        }
        s.put("status", "COMPLETED").put("logs", logs ? logs(r, r.completedAt) : null)
                .put("metrics", new JsonObject().put("inference_time", Math.max(0, r.completedAt - r.queueUntil) / 1000.0));
        if (r.resultStatus >= 400) {
            s.put("error", describe(result)).put("error_type", r.resultStatus == 499 ? "client_cancelled" : "model_error");
        }
        return s;
    }

    /** Requests ahead while queued: counts down from {@code positions - 1} to 0 evenly over the queue time. */
    private static int queuePosition(SimRequest r, long now) {
        long total = Math.max(1, r.queueUntil - r.createdAt);
        int position = (int) Math.min(r.positions, Math.ceil((double) (r.queueUntil - now) / total * r.positions) - 1);
        return Math.max(0, position);
    }

    /**
     * The next moment after {@code now} at which the request's status object changes by itself: a queue step, the
     * start, or (for a listener with logs) a log line; -1 when only completion is left, which {@link #finish} pushes.
     * The inverse of {@link #queuePosition} and {@link #logs}.
     */
    private static long nextChange(SimRequest r, long now, boolean logs) {
        if (r.result != null || r.cancelled) {
            return -1;
        }
        if (now < r.queueUntil) {
            int position = queuePosition(r, now);
            if (position == 0 || r.positions == 0) {
                return r.queueUntil;
            }
            // position p lasts while (queueUntil - t) / total * positions > p, so until t = queueUntil - p * total / positions;
            // a tick a millisecond early (rounding) finds no change and comes back here, one millisecond later at worst
            long total = Math.max(1, r.queueUntil - r.createdAt);
            long at = r.queueUntil - (long) Math.floor((double) position * total / r.positions);
            return Math.max(at, now + 1);
        }
        if (logs) {
            for (int i = 1; i < r.logLines.size(); i++) {
                long at = logTime(r, i);
                if (at > now) {
                    return at;
                }
            }
        }
        return -1;
    }

    // ---- status stream (fal-api.md section 5.5) ----------------------------------------------------

    /**
     * fal's status stream: the current status at once, then an event each time it changes, a keep-alive comment every
     * {@code keep_alive_ms}, and the end right after COMPLETED. Costs no polling: the request holds one timer for its
     * next change while it has listeners, and {@link #finish} pushes completion itself.
     */
    private void statusStream(RoutingContext ctx, String ownerApp, String id) {
        SimRequest r = find(ctx, ownerApp, id);
        if (r == null) {
            return;
        }
        HttpServerResponse res = ctx.response();
        res.setStatusCode(200).setChunked(true).putHeader("Content-Type", "text/event-stream").putHeader("Cache-Control", "no-cache")
                .putHeader("x-fal-request-id", r.id);
        StatusListener l = new StatusListener(res, wantsLogs(ctx));
        if (Boolean.TRUE.equals(ctx.get(DROP_AFTER_FIRST_EVENT))) {
            // once written (not before, or the client might see nothing), the connection goes, without the last chunk
            res.write(event(statusOf(r, System.currentTimeMillis(), l.logs))).onComplete(v -> ctx.request().connection().close());
            return;
        }
        res.closeHandler(v -> unlisten(r, l));
        res.exceptionHandler(e -> unlisten(r, l));
        synchronized (r) {
            // under the monitor finish() takes to push: completion cannot slip between this first event and the listening
            if (send(r, l, System.currentTimeMillis())) {
                return;
            }
            if (r.listeners == null) {
                r.listeners = new ArrayList<>(1);
            }
            r.listeners.add(l);
            openStatusStreams.incrementAndGet();
            scheduleStreamTimer(r, System.currentTimeMillis());
        }
        long interval = settings.keepAliveMs();
        l.keepAliveTimer = vertx.setPeriodic(interval, t -> {
            if (res.ended() || res.closed()) {
                vertx.cancelTimer(t); // the stream ended some other way
                return;
            }
            res.write(": keep-alive\n\n");
        });
        if (res.closed()) {
            unlisten(r, l); // the client left before the close handler was in place
        }
    }

    private static String event(JsonObject status) {
        return "data: " + status.encode() + "\n\n";
    }

    /**
     * Sends the status to one listener if it changed since its last event (so a tick that changes nothing for it,
     * e.g. a log line it did not ask for, sends nothing) and ends the stream after COMPLETED. True when the stream is over.
     * Called with the request's monitor held.
     */
    private boolean send(SimRequest r, StatusListener l, long now) {
        HttpServerResponse res = l.response;
        if (res.ended() || res.closed()) {
            return true;
        }
        JsonObject status = statusOf(r, now, l.logs);
        String encoded = status.encode();
        if (!encoded.equals(l.last)) {
            l.last = encoded;
            res.write("data: " + encoded + "\n\n");
        }
        if ("COMPLETED".equals(status.getString("status"))) {
            res.end();
            return true;
        }
        return false;
    }

    /** Brings every listener of the request up to date; those whose stream is over are let go. */
    private void pushStatus(SimRequest r) {
        synchronized (r) {
            if (r.listeners == null) {
                return;
            }
            long now = System.currentTimeMillis();
            for (StatusListener l : List.copyOf(r.listeners)) {
                if (send(r, l, now)) {
                    forget(r, l);
                }
            }
            scheduleStreamTimer(r, now);
        }
    }

    /** The client closed the connection: its listener goes, and with the last one the request's timer. */
    private void unlisten(SimRequest r, StatusListener l) {
        synchronized (r) {
            forget(r, l);
            scheduleStreamTimer(r, System.currentTimeMillis());
        }
    }

    /** Called with the request's monitor held; a listener already gone is left alone. */
    private void forget(SimRequest r, StatusListener l) {
        if (r.listeners != null && r.listeners.remove(l)) {
            openStatusStreams.decrementAndGet();
            if (r.listeners.isEmpty()) {
                r.listeners = null;
            }
        }
        if (l.keepAliveTimer >= 0) {
            vertx.cancelTimer(l.keepAliveTimer);
        }
    }

    /** (Re)arms the request's one stream timer for its next change, or leaves none when nobody listens. Monitor held. */
    private void scheduleStreamTimer(SimRequest r, long now) {
        if (r.streamTimer >= 0) {
            vertx.cancelTimer(r.streamTimer);
            r.streamTimer = -1;
        }
        if (r.listeners == null) {
            return;
        }
        boolean logs = r.listeners.stream().anyMatch(l -> l.logs);
        long at = nextChange(r, now, logs);
        if (at >= 0) {
            r.streamTimer = vertx.setTimer(Math.max(1, at - now), t -> {
                synchronized (r) {
                    if (r.streamTimer == t) {
                        r.streamTimer = -1;
                    }
                }
                pushStatus(r);
            });
        }
    }

    /** Status streams open now (tests). */
    int openStatusStreams() {
        return openStatusStreams.get();
    }

    /** When a request's result became available, or 0 while it has none (tests). */
    long completedAt(String requestId) {
        SimRequest r = requests.get(requestId);
        return r == null || r.result == null ? 0 : r.completedAt;
    }

    private static String describe(JsonObject result) {
        Object d = result.getValue("detail");
        if (d instanceof JsonArray a && !a.isEmpty()) {
            return a.getJsonObject(0).getString("msg");
        }
        return String.valueOf(d);
    }

    /**
     * The log lines written by {@code now}: the endpoint's first line as the request starts (pictures: the model
     * loads), the others spread over the run (denoising steps); an endpoint that writes none gives an empty list.
     */
    private static JsonArray logs(SimRequest r, long now) {
        JsonArray logs = new JsonArray();
        if (now < r.queueUntil) {
            return logs; // cancelled in the queue: it never started
        }
        for (int i = 0; i < r.logLines.size(); i++) {
            long at = logTime(r, i);
            if (at <= now) {
                logs.add(log(r.logLines.get(i), at));
            }
        }
        return logs;
    }

    private static long logTime(SimRequest r, int line) {
        long total = Math.max(1, r.doneAt - r.queueUntil);
        return r.queueUntil + total * line / Math.max(1, r.logLines.size());
    }

    private static JsonObject log(String message, long at) {
        return new JsonObject().put("message", message).put("level", "INFO").put("source", "USER")
                .put("timestamp", Instant.ofEpochMilli(at).toString());
    }


    private void result(RoutingContext ctx, String ownerApp, String id) {
        SimRequest r = find(ctx, ownerApp, id);
        if (r == null) {
            return;
        }
        if (r.result == null) {
            json(ctx, 400, new JsonObject().put("detail", "Request is still in progress"));
            return;
        }
        ctx.response().putHeader("x-fal-request-id", r.id);
        if (r.billableUnits != null) {
            ctx.response().putHeader(BILLABLE_UNITS, r.billableUnits);
        }
        json(ctx, r.resultStatus, r.result);
    }

    /** The billed quantity of a successful output (fal-api.md section 12); failed requests carry none. */
    static final String BILLABLE_UNITS = "x-fal-billable-units";


    private void cancel(RoutingContext ctx, String ownerApp, String id) {
        SimRequest r = requests.get(id);
        if (r == null || !r.ownerApp().equals(ownerApp)) {
            json(ctx, 404, new JsonObject().put("status", "NOT_FOUND"));
            return;
        }
        if (r.result != null) {
            json(ctx, 400, new JsonObject().put("status", "ALREADY_COMPLETED"));
            return;
        }
        boolean queued = System.currentTimeMillis() < r.queueUntil;
        r.cancelled = true;
        vertx.cancelTimer(r.timerId);
        finish(r, 499, new JsonObject().put("detail", "Request cancelled by the client."));
        json(ctx, queued ? 200 : 202, new JsonObject().put("status", queued ? "OK" : "CANCELLATION_REQUESTED"));
    }

    // ---- sync run --------------------------------------------------------------------------------


    private void run(RoutingContext ctx, String endpointId) {
        SimSchema schema = schemas.get(endpointId);
        if (schema == null) {
            json(ctx, 404, new JsonObject().put("detail", "Application '" + endpointId + "' not found"));
            return;
        }
        JsonObject body = validBody(ctx, schema);
        if (body == null) {
            return;
        }
        String id = UUID.randomUUID().toString();
        vertx.setTimer(Math.max(1, settings.latencyMs()), t -> generate(schema, body).onComplete(ar -> {
            ctx.response().putHeader("x-fal-request-id", id);
            if (ar.succeeded()) {
                if (ar.result().billableUnits() != null) {
                    ctx.response().putHeader(BILLABLE_UNITS, ar.result().billableUnits());
                }
                json(ctx, 200, ar.result().output());
            } else {
                json(ctx, 422, detail(SimSchema.error(List.of(), ar.cause().getMessage(), "file_download_error", null)));
            }
        }));
    }

    /** The request body when the schema accepts it; otherwise answers the 422 itself and returns null. */
    private static JsonObject validBody(RoutingContext ctx, SimSchema schema) {
        JsonObject body;
        try {
            body = ctx.body().asJsonObject();
        } catch (DecodeException e) {
            json(ctx, 422, detail(SimSchema.error(List.of(), "Invalid JSON", "json_invalid", null)));
            return null;
        }
        List<JsonObject> errors = body == null ? List.of(SimSchema.error(List.of(), "Field required", "missing", null)) : schema.validate(body);
        if (!errors.isEmpty()) {
            json(ctx, 422, detail(errors.toArray(JsonObject[]::new)));
            return null;
        }
        return body;
    }

    /**
     * fal.run's streaming (fal-api.md section 4): the answer grows a few words an event, each event carrying the
     * whole text so far, then the final output. The events are spread over the run latency so a client sees them arrive.
     */
    private void stream(RoutingContext ctx, String endpointId) {
        SimSchema schema = schemas.get(endpointId);
        if (schema == null || schema.output != SimSchema.Output.TEXT) {
            json(ctx, 404, new JsonObject().put("detail", "Streaming is not supported for " + endpointId));
            return;
        }
        JsonObject body = validBody(ctx, schema);
        if (body == null) {
            return;
        }
        generate(schema, body).onComplete(ar -> {
            if (ar.failed()) {
                json(ctx, 422, detail(SimSchema.error(List.of(), ar.cause().getMessage(), "file_download_error", null)));
                return;
            }
            List<JsonObject> events = streamEvents(ar.result().output());
            ctx.response().setStatusCode(200).setChunked(true).putHeader("Content-Type", "text/event-stream")
                    .putHeader("Cache-Control", "no-cache").putHeader("x-fal-request-id", UUID.randomUUID().toString());
            if (ar.result().billableUnits() != null) {
                // the whole answer exists before the first event, so unlike fal's the units can ride on the headers
                ctx.response().putHeader(BILLABLE_UNITS, ar.result().billableUnits());
            }
            sendEvents(ctx, events, 0, Math.max(1, settings.latencyMs() / events.size()));
        });
    }

    private static List<JsonObject> streamEvents(JsonObject result) {
        List<JsonObject> events = new ArrayList<>();
        StringBuilder sofar = new StringBuilder();
        for (String chunk : SimLlm.chunks(result.getString("output"))) {
            sofar.append(chunk);
            events.add(new JsonObject().put("output", sofar.toString()).put("partial", true).put("error", null));
        }
        events.add(result);
        return events;
    }

    private void sendEvents(RoutingContext ctx, List<JsonObject> events, int next, long intervalMs) {
        vertx.setTimer(intervalMs, t -> {
            var res = ctx.response();
            if (res.ended() || res.closed()) {
                return; // the client went away
            }
            res.write("data: " + events.get(next).encode() + "\n\n");
            if (next + 1 < events.size()) {
                sendEvents(ctx, events, next + 1, intervalMs);
            } else {
                res.end();
            }
        });
    }

    // ---- outputs -----------------------------------------------------------------------------------

    /** An input picture as fetched: what it is, and its bytes (the vision model reads them). */
    record Fetched(ImageInfo info, byte[] bytes) {
    }

    /** A model's output, and what fal bills for it. */
    record Generated(JsonObject output, String billableUnits) {
    }

    private Future<Generated> generate(SimSchema schema, JsonObject body) {
        Map<String, List<Future<Fetched>>> inputs = fetchInputs(body);
        List<Future<Fetched>> all = inputs.values().stream().flatMap(List::stream).toList();
        return Future.all(all).compose(done -> vertx.executeBlocking(() -> {
            if (schema.output == SimSchema.Output.VIDEO) {
                return video(schema, body, sizeSource(inputs));
            }
            JsonObject output = schema.output == SimSchema.Output.TEXT
                    ? llm.respond(schema.endpointId, body, inputs.getOrDefault("image_urls", List.of()).stream().map(f -> f.result().bytes()).toList())
                    : images(schema, body, sizeSource(inputs));
            return new Generated(output, SimPricing.billableUnits(schema.endpointId, output, billedInputs(inputs)));
        }, false));
    }

    /** The pictures an input-billing endpoint is charged for: the main image_url, then image_urls (fal reads the first three). */
    private static List<ImageInfo> billedInputs(Map<String, List<Future<Fetched>>> inputs) {
        List<ImageInfo> billed = new ArrayList<>();
        inputs.getOrDefault("image_url", List.of()).forEach(f -> billed.add(f.result().info()));
        inputs.getOrDefault("image_urls", List.of()).stream().limit(SimPricing.MAX_BILLED_INPUTS).forEach(f -> billed.add(f.result().info()));
        return billed;
    }

    /** Fetches every input picture, by field; a URL that cannot be fetched fails the whole request, as on fal. */
    private Map<String, List<Future<Fetched>>> fetchInputs(JsonObject body) {
        Map<String, List<Future<Fetched>>> inputs = new LinkedHashMap<>();
        for (String field : List.of("image_url", "product_image_url", "ref_image_url", "tail_image_url", "end_image_url")) {
            if (body.getValue(field) instanceof String s && !s.isEmpty()) {
                inputs.put(field, List.of(fetchImage(s)));
            }
        }
        if (body.getValue("image_urls") instanceof JsonArray a) {
            inputs.put("image_urls", a.stream().map(u -> fetchImage(String.valueOf(u))).toList());
        }
        return inputs;
    }

    /** The picture an "input"-sized output follows: the main image (not bria's reference), else the last of image_urls. */
    private static ImageInfo sizeSource(Map<String, List<Future<Fetched>>> inputs) {
        for (String field : List.of("image_url", "product_image_url", "image_urls")) {
            List<Future<Fetched>> fetched = inputs.getOrDefault(field, List.of());
            if (!fetched.isEmpty()) {
                return fetched.get(fetched.size() - 1).result().info();
            }
        }
        return null;
    }

    private JsonObject images(SimSchema schema, JsonObject body, ImageInfo sizeSource) {
        int[] size = outputSize(schema, body, sizeSource);
        long seed = body.getValue("seed") instanceof Number n ? n.longValue() : ThreadLocalRandom.current().nextLong(0, Integer.MAX_VALUE);
        int count = body.getInteger("num_images", 1);
        JsonArray images = new JsonArray();
        for (int i = 0; i < count; i++) {
            byte[] png = Png.render(size[0], size[1], seed + i);
            String name = UUID.randomUUID() + ".png";
            files.put(name, new SimFile(png, png.length, "image/png", System.currentTimeMillis()));
            images.add(new JsonObject().put("url", baseUrl + "/files/sim/" + name).put("width", size[0]).put("height", size[1])
                    .put("content_type", "image/png").put("file_size", png.length));
        }
        JsonObject extra = new JsonObject().put("seed", seed).put("timings", new JsonObject().put("inference", settings.latencyMs() / 1000.0))
                .put("has_nsfw_concepts", new JsonArray(Collections.nCopies(count, false)));
        if (body.containsKey("prompt")) {
            extra.put("prompt", body.getString("prompt"));
        }
        return schema.answer(images, extra);
    }

    /** Clips already built, by length, size and audio: a few distinct ones serve every request. */
    private final Map<String, byte[]> clips = new ConcurrentHashMap<>();

    /**
     * A video endpoint's output: a real MP4 of the asked length, at the resolution and aspect ratio the request (or
     * fal's default, or the input picture's shape) gives, with audio when asked (or by fal's default), served at the
     * configured size; billed per second of it (fal-video.md §4).
     */
    private Generated video(SimSchema schema, JsonObject body, ImageInfo input) {
        SimSchema.Video v = schema.video;
        double seconds = v.seconds(body);
        String resolution = v.resolution(body);
        String aspect = v.aspect(body) != null ? v.aspect(body) : aspectOf(input);
        boolean audio = v.audio(body);
        int[] size = SimSchema.videoSize(resolution, aspect);
        long millis = Math.round(seconds * 1000);
        byte[] mp4 = clips.computeIfAbsent(millis + "/" + size[0] + "x" + size[1] + "/" + audio, k -> Mp4.build(millis, size[0], size[1], audio));
        long wanted = settings.videoBytes();
        // padding is a box: at least 8 bytes, so a size just above the clip's own is rounded up to that
        long fileSize = wanted <= mp4.length ? mp4.length : Math.max(wanted, mp4.length + 8L);
        String name = UUID.randomUUID() + ".mp4";
        files.put(name, new SimFile(mp4, fileSize, "video/mp4", System.currentTimeMillis()));
        JsonObject file = new JsonObject().put("url", baseUrl + "/files/sim/" + name).put("content_type", "video/mp4")
                .put("file_name", "output.mp4").put("file_size", fileSize);
        if (v.videoFile()) {
            int frames = Mp4.VIDEO.samples().size();
            file.put("width", size[0]).put("height", size[1]).put("fps", frames / seconds).put("duration", seconds).put("num_frames", frames);
        }
        long seed = body.getValue("seed") instanceof Number n ? n.longValue() : ThreadLocalRandom.current().nextLong(0, Integer.MAX_VALUE);
        JsonObject out = new JsonObject().put("video", file).put("seed", seed);
        if (body.getBoolean("enable_prompt_expansion", true) && body.getValue("prompt") instanceof String prompt) {
            out.put("actual_prompt", prompt + ", cinematic lighting, smooth camera motion");
        }
        if (schema.outputKeys != null) {
            out.fieldNames().removeIf(key -> !schema.outputKeys.contains(key));
        }
        return new Generated(out, SimPricing.videoUnits(schema.endpointId, seconds, resolution, audio));
    }

    /** The shape an image-to-video clip takes from its picture: within a fifth of square is 1:1, else landscape or portrait. */
    private static String aspectOf(ImageInfo input) {
        if (input == null) {
            return "16:9";
        }
        if (Math.abs(input.width() - input.height()) * 5 < Math.max(input.width(), input.height())) {
            return "1:1";
        }
        return input.width() > input.height() ? "16:9" : "9:16";
    }

    private static int[] outputSize(SimSchema schema, JsonObject body, ImageInfo input) {
        Object size = body.getValue("image_size");
        if (size instanceof String preset) {
            return SimSchema.PRESETS.get(preset);
        }
        if (size instanceof JsonObject custom) {
            return new int[] { custom.getInteger("width"), custom.getInteger("height") };
        }
        if (body.getValue("aspect_ratio") instanceof JsonObject ratio) {
            return SimSchema.RATIOS.get(ratio.getString("ratio", "1:1"));
        }
        if ("input".equals(schema.defaultSize) && input != null) {
            return new int[] { input.width(), input.height() };
        }
        return SimSchema.PRESETS.getOrDefault(schema.defaultSize, new int[] { 1024, 768 });
    }

    private Future<Fetched> fetchImage(String url) {
        if (url.startsWith("data:")) {
            int comma = url.indexOf(',');
            try {
                return sniffed(Base64.getDecoder().decode(url.substring(comma + 1)), "The data URI is not a supported image");
            } catch (IllegalArgumentException e) {
                return Future.failedFuture("The data URI is not valid base64");
            }
        }
        return http.getAbs(url).timeout(30_000).send().transform(ar -> {
            if (ar.failed()) {
                return Future.failedFuture("Failed to download the file from " + redact(url) + ": " + ar.cause().getMessage());
            }
            if (ar.result().statusCode() != 200) {
                return Future.failedFuture("Failed to download the file from " + redact(url) + ": HTTP " + ar.result().statusCode());
            }
            Buffer body = ar.result().body();
            return sniffed(body == null ? new byte[0] : body.getBytes(), "The file at " + redact(url) + " is not a supported image");
        });
    }

    private static Future<Fetched> sniffed(byte[] bytes, String notAnImage) {
        return ImageInfo.sniff(bytes).map(info -> Future.succeededFuture(new Fetched(info, bytes)))
                .orElseGet(() -> Future.failedFuture(notAnImage));
    }

    private static String redact(String url) {
        int q = url.indexOf('?');
        return q < 0 ? url : url.substring(0, q) + "?…";
    }


    /**
     * Serves a file from the CDN, streamed: its head, then (an MP4 made larger than its clip) a {@code free} box whose
     * zeros are written a chunk at a time as the client takes them, so a 200 MB file holds no more than a chunk. A file
     * past {@code file_ttl_ms} answers 404 like an expired fal file. Faults on target {@code file} (besides a status,
     * a delay or a drop): {@code cut_after} (bytes, then the connection closes under a Content-Length of the whole
     * file), {@code short_body} (a whole answer of that many bytes, shorter than the {@code file_size} fal gave) and
     * {@code not_mp4} (an HTML page of the file's size, still labelled video/mp4).
     */
    private void serveFile(RoutingContext ctx) {
        SimFile file = files.get(ctx.pathParam("name"));
        long ttl = settings.fileTtlMs();
        if (file == null || (ttl > 0 && System.currentTimeMillis() - file.createdAt() > ttl)) {
            json(ctx, 404, new JsonObject().put("detail", "File not found"));
            return;
        }
        JsonObject fault = ctx.get(FILE_FAULT);
        if (fault == null && file.size() == file.head().length) {
            ctx.response().putHeader("Content-Type", file.contentType()).end(Buffer.buffer(file.head()));
            return;
        }
        boolean html = fault != null && fault.getBoolean("not_mp4", false);
        byte[] head = html ? NOT_MP4 : file.head();
        byte[] pad = html || file.size() == head.length ? new byte[0] : Mp4.freeHeader(file.size() - head.length);
        Buffer filler = html ? SPACES : ZEROS;
        long length = fault != null && fault.containsKey("short_body") ? Math.min(file.size(), fault.getLong("short_body")) : file.size();
        long cut = fault != null && fault.containsKey("cut_after") ? Math.min(length, fault.getLong("cut_after")) : -1;
        HttpServerResponse res = ctx.response().putHeader("Content-Type", file.contentType()).putHeader("Content-Length", String.valueOf(length));
        pump(ctx, res, head, pad, filler, 0, cut >= 0 ? cut : length, cut >= 0);
    }

    private static final String FILE_FAULT = "sim.file-fault";
    private static final int CHUNK = 64 * 1024;
    private static final Buffer ZEROS = Buffer.buffer(new byte[CHUNK]);
    private static final Buffer SPACES = Buffer.buffer(" ".repeat(CHUNK));
    /** What a CDN answers instead of the file, sometimes: a web page. */
    private static final byte[] NOT_MP4 = "<!DOCTYPE html><html><head><title>Access denied</title></head><body>Request blocked.</body></html>\n"
            .getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /** Writes bytes from {@code pos} to {@code end} as the client takes them; then ends the answer, or (cut) drops the connection. */
    private void pump(RoutingContext ctx, HttpServerResponse res, byte[] head, byte[] pad, Buffer filler, long pos, long end, boolean cut) {
        while (pos < end) {
            if (res.closed()) {
                return;
            }
            int n;
            if (pos < head.length) {
                n = (int) Math.min(head.length - pos, end - pos);
                res.write(Buffer.buffer(java.util.Arrays.copyOfRange(head, (int) pos, (int) pos + n)));
            } else if (pos < head.length + pad.length) {
                int at = (int) (pos - head.length);
                n = (int) Math.min(pad.length - at, end - pos);
                res.write(Buffer.buffer(java.util.Arrays.copyOfRange(pad, at, at + n)));
            } else {
                n = (int) Math.min(CHUNK, end - pos);
                res.write(filler.slice(0, n));
            }
            pos += n;
            if (res.writeQueueFull()) {
                long next = pos;
                res.drainHandler(v -> pump(ctx, res, head, pad, filler, next, end, cut));
                return;
            }
        }
        if (cut) {
            // everything written so far goes out, then the connection closes short of the Content-Length it promised
            res.write(Buffer.buffer()).onComplete(v -> ctx.request().connection().close());
        } else {
            res.end();
        }
    }

    private static JsonObject detail(JsonObject... errors) {
        return new JsonObject().put("detail", new JsonArray(List.of((Object[]) errors)));
    }

    private static void json(RoutingContext ctx, int status, JsonObject body) {
        if (ctx.response().ended() || ctx.response().closed()) {
            return;
        }
        ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body.encode());
    }

    @Override
    public void close() {
        try {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception ignored) {
            // shutting down
        }
    }
}
