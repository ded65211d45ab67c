package ai.atelier.bench;

import java.util.Base64;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import io.vertx.core.AbstractVerticle;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;

/**
 * The least a server can do to answer seed 001's clients: the ruler {@link EngineBenchmark} measures
 * Atelier against. Same routes and JSON as {@code Seed001Resource}, the same fal body Atelier sends,
 * but fal's synchronous endpoint (one call for the whole job), the output downloaded and dropped, and
 * the state in a map: no database, no Redis, no S3, no retries, no durability. Whatever Atelier costs
 * above this is the price of what it does and the ruler does not.
 * <p>
 * {@code java -cp <test classpath> ai.atelier.bench.Ruler <port> <simulator base URL>}
 */
public final class Ruler {

    static final String SUBMITTED = "Task submitted. Use /api/{session_id}/status to check progress.";
    static final String DEFAULT_I2I_PROMPT = "The same image, high quality, sharp details";

    /** One session; written by the event loop that runs it, read by whichever loop answers a status. */
    static final class Session {
        final String id;
        volatile String status = "pending";
        volatile int progress;
        volatile String message = "Task is queued";
        volatile String resultUrl;
        volatile String error;

        Session(String id) {
            this.id = id;
        }

        void fail(String why) {
            error = why;
            message = "Generation failed";
            status = "failed";
        }
    }

    private Ruler() {
    }

    public static void main(String[] args) {
        int port = Integer.parseInt(args[0]);
        String sim = args[1].endsWith("/") ? args[1].substring(0, args[1].length() - 1) : args[1];
        int loops = Math.max(1, Runtime.getRuntime().availableProcessors());
        // one event loop per core and nothing else: no worker pool is ever used
        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(loops).setWorkerPoolSize(1).setInternalBlockingPoolSize(1));
        Map<String, Session> sessions = new ConcurrentHashMap<>();
        // One client for all loops. Each sync call holds its connection for the whole fal latency, so the pool
        // must allow as many connections as jobs in flight (a burst of 5,000 at 30 s means 5,000 connections);
        // connections are opened only when needed, so a large cap costs nothing.
        int pool = Integer.getInteger("ruler.pool", 10_000);
        WebClient fal = WebClient.wrap(vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true)
                .setConnectTimeout(10_000).setKeepAliveTimeout(60), new PoolOptions().setHttp1MaxSize(pool)));
        // several server instances on one port: Vert.x spreads the accepted connections over the loops
        vertx.deployVerticle(() -> new Server(port, sim, sessions, fal), new DeploymentOptions().setInstances(loops))
                .onSuccess(id -> System.out.println("ruler listening on " + port + " (" + loops + " event loops), fal at " + sim))
                .onFailure(e -> {
                    e.printStackTrace();
                    System.exit(1);
                });
    }

    static final class Server extends AbstractVerticle {
        private final int port;
        private final String sim;
        private final Map<String, Session> sessions;
        private final WebClient fal;

        Server(int port, String sim, Map<String, Session> sessions, WebClient fal) {
            this.port = port;
            this.sim = sim;
            this.sessions = sessions;
            this.fal = fal;
        }

        @Override
        public void start(io.vertx.core.Promise<Void> started) {
            vertx.createHttpServer(new HttpServerOptions().setTcpNoDelay(true).setAcceptBacklog(4096)).requestHandler(this::handle)
                    .listen(port, "127.0.0.1").<Void>mapEmpty().onComplete(started);
        }

        private void handle(HttpServerRequest req) {
            String path = req.path();
            if (req.method() == HttpMethod.GET && path.startsWith("/api/") && path.endsWith("/status")) {
                status(req, path.substring(5, path.length() - 7));
            } else if (req.method() == HttpMethod.POST && path.equals("/api/flux/t2i")) {
                textToImage(req);
            } else if (req.method() == HttpMethod.POST && path.equals("/api/flux/i2i")) {
                imageToImage(req);
            } else {
                json(req, 404, new JsonObject().put("detail", "Not Found"));
            }
        }

        private void status(HttpServerRequest req, String id) {
            Session s = sessions.get(id);
            if (s == null) {
                json(req, 404, new JsonObject().put("detail", "There is no session " + id));
                return;
            }
            // seed 001's Status, every field present (nulls included), snake_case
            json(req, 200, new JsonObject().put("session_id", s.id).put("status", s.status).put("progress", s.progress)
                    .put("message", s.message).put("result_url", s.resultUrl).put("error", s.error));
        }

        private void textToImage(HttpServerRequest req) {
            req.body().onSuccess(buf -> {
                JsonObject in;
                try {
                    in = buf.toJsonObject();
                } catch (RuntimeException e) {
                    json(req, 400, new JsonObject().put("detail", "Send a JSON object with a prompt"));
                    return;
                }
                if (in == null || in.getString("prompt") == null) {
                    json(req, 400, new JsonObject().put("detail", "Send a JSON object with a prompt"));
                    return;
                }
                // exactly what Atelier's flux-schnell sends: the locked sampler settings and the png default
                JsonObject body = new JsonObject().put("prompt", in.getString("prompt"))
                        .put("image_size", new JsonObject().put("width", in.getInteger("width", 512)).put("height", in.getInteger("height", 512)))
                        .put("num_inference_steps", 7).put("guidance_scale", 3.5).put("enable_safety_checker", true).put("output_format", "png");
                if (in.getValue("seed") instanceof Number seed) {
                    body.put("seed", seed.longValue());
                }
                submit(req, "fal-ai/flux/schnell", body);
            }).onFailure(e -> req.response().setStatusCode(400).end());
        }

        private void imageToImage(HttpServerRequest req) {
            req.setExpectMultipart(true);
            Buffer[] image = new Buffer[1];
            String[] type = new String[1];
            req.uploadHandler(upload -> {
                // kept in memory: the ruler stores nothing; other parts are drained and dropped
                Buffer data = Buffer.buffer();
                upload.handler(data::appendBuffer);
                if ("image".equals(upload.name())) {
                    image[0] = data;
                    type[0] = upload.contentType();
                }
            });
            req.endHandler(v -> {
                if (image[0] == null || image[0].length() == 0) {
                    json(req, 422, new JsonObject().put("detail", "Send the picture as the multipart field 'image'"));
                    return;
                }
                MultiMap form = req.formAttributes();
                String prompt = form.get("prompt");
                String mime = type[0] == null || type[0].isBlank() || type[0].equals("application/octet-stream") ? "image/png" : type[0];
                // what Atelier's flux-general-i2i sends, the picture inline instead of a presigned S3 URL
                JsonObject body = new JsonObject().put("prompt", prompt == null || prompt.isBlank() ? DEFAULT_I2I_PROMPT : prompt)
                        .put("image_url", "data:" + mime + ";base64," + Base64.getEncoder().encodeToString(image[0].getBytes()))
                        .put("strength", 0.5).put("num_inference_steps", 7).put("guidance_scale", 3.5).put("enable_safety_checker", true)
                        .put("output_format", "png");
                String seed = form.get("seed");
                if (seed != null && !seed.isBlank()) {
                    try {
                        body.put("seed", Long.parseLong(seed.trim()));
                    } catch (NumberFormatException e) {
                        json(req, 422, new JsonObject().put("detail", "seed is an integer"));
                        return;
                    }
                }
                submit(req, "fal-ai/flux-general/image-to-image", body);
            });
            req.exceptionHandler(e -> {
                if (!req.response().ended()) {
                    req.response().setStatusCode(400).end();
                }
            });
        }

        /** Answers the client at once, then runs the job: one sync call to fal, one download. */
        private void submit(HttpServerRequest req, String endpoint, JsonObject body) {
            Session s = new Session(UUID.randomUUID().toString());
            sessions.put(s.id, s);
            json(req, 200, new JsonObject().put("session_id", s.id).put("status", "pending").put("message", SUBMITTED));
            s.status = "processing";
            s.progress = 10;
            s.message = "Processing (generating)";
            // no request timeout: the call lasts as long as fal's latency, which is what is being measured
            fal.postAbs(sim + "/run/" + endpoint).putHeader("Content-Type", "application/json").sendBuffer(body.toBuffer())
                    .onFailure(e -> s.fail("fal: " + e.getMessage()))
                    .onSuccess(res -> {
                        String url = res.statusCode() == 200 ? outputUrl(res) : null;
                        if (url == null) {
                            s.fail("fal answered " + res.statusCode() + ": " + res.bodyAsString());
                            return;
                        }
                        s.progress = 90;
                        s.message = "Processing (downloading)";
                        fal.getAbs(url).send().onFailure(e -> s.fail("download: " + e.getMessage())).onSuccess(file -> {
                            if (file.statusCode() != 200 || file.body() == null || file.body().length() == 0) {
                                s.fail("download answered " + file.statusCode());
                                return;
                            }
                            // the bytes are dropped: keeping them is the storage the ruler does not have
                            s.resultUrl = url;
                            s.progress = 100;
                            s.message = "Generation completed successfully";
                            s.status = "completed";
                        });
                    });
        }

        private static String outputUrl(HttpResponse<Buffer> res) {
            try {
                JsonObject out = res.bodyAsJsonObject();
                if (out.getValue("images") instanceof io.vertx.core.json.JsonArray images && !images.isEmpty()) {
                    return images.getJsonObject(0).getString("url");
                }
                return out.getJsonObject("image") == null ? null : out.getJsonObject("image").getString("url");
            } catch (RuntimeException e) {
                return null;
            }
        }

        private static void json(HttpServerRequest req, int status, JsonObject body) {
            req.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body.toBuffer());
        }
    }
}
