package ai.atelier.bench;

import java.net.URI;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import io.vertx.core.AbstractVerticle;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
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
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;

/**
 * The least a server can do to answer seed 001's clients: the ruler {@link EngineBenchmark} measures
 * Atelier against. Same routes and JSON as {@code Seed001Resource}, the same fal body Atelier sends,
 * but fal's synchronous endpoint (one call for the whole job), the output downloaded and dropped, and
 * the state in a map: no database, no Redis, no S3, no retries, no durability. Whatever Atelier costs
 * above this is the price of what it does and the ruler does not.
 * <p>
 * With {@code -Druler.pg=postgresql://...} (and {@code ruler.pg-user}, {@code ruler.pg-password},
 * {@code ruler.s3}, {@code ruler.s3-bucket}, {@code ruler.s3-access-key}, {@code ruler.s3-secret-key},
 * {@code ruler.s3-region}) it is the <em>floor</em> instead: the ruler plus the least any server must do
 * to lose neither an accepted job nor its output ({@link Durable}): an upload PUT to S3 and one INSERT
 * before it answers the submit, the output PUT to S3 and one UPDATE at the end. It still calls fal's sync
 * endpoint and answers status from memory, so it is cheaper than any real design (no fal request id
 * kept, no live state a second replica could read): what it costs above the ruler is a lower bound on the
 * price of durability on the benchmark's machine, whoever writes the server.
 * <p>
 * With {@code -Druler.redis=redis://...} as well it is the <em>design floor</em>: the least a server built
 * the way Atelier's engine must be (issue 8) can do, in plain Vert.x: the job's row (accept, record fal's
 * request id, finish: Atelier's three statements), fal's queue API (submit, the status stream to its end,
 * the result), the output in S3 with its URL presigned once, and the live view in Redis (one batched
 * write per step: accepted, at fal, finished) from which every status read is answered, as a second
 * replica would have to. No stages, events, retries, leases, checks or metrics.
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
        Durable durable = System.getProperty("ruler.pg") == null ? null : new Durable(vertx, fal);
        Live live = durable == null || System.getProperty("ruler.redis") == null ? null : new Live(vertx);
        Future<Void> ready = durable == null ? Future.succeededFuture() : durable.createTable();
        // several server instances on one port: Vert.x spreads the accepted connections over the loops
        ready.compose(v -> vertx.deployVerticle(() -> new Server(port, sim, sessions, fal, durable, live), new DeploymentOptions().setInstances(loops)))
                .onSuccess(id -> System.out.println((durable == null ? "ruler" : live == null ? "floor" : "design floor") + " listening on " + port + " ("
                        + loops + " event loops), fal at " + sim))
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
        private final Durable durable;
        private final Live live;
        /** The design floor's status streams: one long-lived connection each, so a client of their own. */
        private io.vertx.core.http.HttpClient streams;

        Server(int port, String sim, Map<String, Session> sessions, WebClient fal, Durable durable, Live live) {
            this.port = port;
            this.sim = sim;
            this.sessions = sessions;
            this.fal = fal;
            this.durable = durable;
            this.live = live;
        }

        @Override
        public void start(io.vertx.core.Promise<Void> started) {
            streams = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true), new PoolOptions().setHttp1MaxSize(10_000));
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
            if (live != null) {
                live.view(id).onFailure(e -> json(req, 503, new JsonObject().put("detail", "Redis: " + e.getMessage()))).onSuccess(view -> {
                    if (view == null) {
                        json(req, 404, new JsonObject().put("detail", "There is no session " + id));
                    } else {
                        req.response().putHeader("Content-Type", "application/json").end(view);
                    }
                });
                return;
            }
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
                submit(req, "fal-ai/flux/schnell", body, null, null);
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
                submit(req, "fal-ai/flux-general/image-to-image", body, image[0], mime);
            });
            req.exceptionHandler(e -> {
                if (!req.response().ended()) {
                    req.response().setStatusCode(400).end();
                }
            });
        }

        /** Answers the client at once (the floor: once the job's row is in), then runs the job: one sync call to fal, one download. */
        private void submit(HttpServerRequest req, String endpoint, JsonObject body, Buffer input, String inputType) {
            Session s = new Session(UUID.randomUUID().toString());
            if (live != null) {
                queued(req, s, endpoint, body, input, inputType);
                return;
            }
            if (durable == null) {
                run(req, s, endpoint, body);
                return;
            }
            durable.accept(s.id, endpoint, body, input, inputType).onFailure(e -> json(req, 503, new JsonObject().put("detail", "not accepted: " + e.getMessage())))
                    .onSuccess(v -> run(req, s, endpoint, body));
        }

        private void run(HttpServerRequest req, Session s, String endpoint, JsonObject body) {
            sessions.put(s.id, s);
            json(req, 200, new JsonObject().put("session_id", s.id).put("status", "pending").put("message", SUBMITTED));
            s.status = "processing";
            s.progress = 10;
            s.message = "Processing (generating)";
            // no request timeout: the call lasts as long as fal's latency, which is what is being measured
            fal.postAbs(sim + "/run/" + endpoint).putHeader("Content-Type", "application/json").sendBuffer(body.toBuffer())
                    .onFailure(e -> fail(s, "fal: " + e.getMessage()))
                    .onSuccess(res -> {
                        String url = res.statusCode() == 200 ? outputUrl(res) : null;
                        if (url == null) {
                            fail(s, "fal answered " + res.statusCode() + ": " + res.bodyAsString());
                            return;
                        }
                        s.progress = 90;
                        s.message = "Processing (downloading)";
                        fal.getAbs(url).send().onFailure(e -> fail(s, "download: " + e.getMessage())).onSuccess(file -> {
                            if (file.statusCode() != 200 || file.body() == null || file.body().length() == 0) {
                                fail(s, "download answered " + file.statusCode());
                                return;
                            }
                            if (durable == null) {
                                // the bytes are dropped: keeping them is the storage the ruler does not have
                                complete(s, url);
                                return;
                            }
                            durable.finish(s.id, file.body(), file.getHeader("Content-Type")).onFailure(e -> fail(s, "store: " + e.getMessage()))
                                    .onSuccess(key -> complete(s, url));
                        });
                    });
        }

        /** The design floor's job: accepted in PostgreSQL and Redis, then fal's queue API, the output in S3, finished in both. */
        private void queued(HttpServerRequest req, Session s, String endpoint, JsonObject body, Buffer input, String inputType) {
            durable.accept(s.id, endpoint, body, input, inputType).compose(v -> live.write(s)).onFailure(
                    e -> json(req, 503, new JsonObject().put("detail", "not accepted: " + e.getMessage()))).onSuccess(v -> {
                        json(req, 200, new JsonObject().put("session_id", s.id).put("status", "pending").put("message", SUBMITTED));
                        String[] owner = endpoint.split("/");
                        String requests = sim + "/queue/" + owner[0] + "/" + owner[1] + "/requests/";
                        // as Atelier does, fal fetches an upload from S3 through a presigned URL rather than receiving it inline
                        JsonObject sent = input == null ? body : body.copy().put("image_url", durable.presign(Durable.inputKey(s.id)));
                        fal.postAbs(sim + "/queue/" + endpoint).putHeader("Content-Type", "application/json").sendBuffer(sent.toBuffer())
                                .compose(res -> res.statusCode() / 100 == 2 ? Future.succeededFuture(res.bodyAsJsonObject().getString("request_id"))
                                        : Future.<String>failedFuture("fal answered " + res.statusCode()))
                                .compose(requestId -> durable.recordRequest(s.id, requestId).map(requestId))
                                .compose(requestId -> {
                                    s.status = "processing";
                                    s.progress = 10;
                                    s.message = "Processing (generating)";
                                    return live.write(s).compose(v2 -> awaitStream(requests + requestId)).map(requestId);
                                })
                                .compose(requestId -> fal.getAbs(requests + requestId).send())
                                .compose(res -> {
                                    String url = res.statusCode() == 200 ? outputUrl(res) : null;
                                    return url == null ? Future.failedFuture("fal's result: " + res.statusCode()) : fal.getAbs(url).send();
                                })
                                .compose(file -> file.statusCode() == 200 && file.body() != null && file.body().length() > 0
                                        ? durable.finish(s.id, file.body(), file.getHeader("Content-Type"))
                                        : Future.failedFuture("download answered " + file.statusCode()))
                                .compose(key -> {
                                    complete(s, durable.presign(key));
                                    return live.write(s);
                                })
                                .onFailure(e -> {
                                    fail(s, e.getMessage());
                                    live.write(s);
                                });
                    });
        }

        /** fal's status stream read to its end (the simulator, as fal, ends it after COMPLETED); its events are not looked at. */
        private Future<Void> awaitStream(String requestUrl) {
            return streams.request(new io.vertx.core.http.RequestOptions().setMethod(HttpMethod.GET)
                    .setAbsoluteURI(requestUrl + "/status/stream?logs=1").putHeader("Accept", "text/event-stream"))
                    .compose(io.vertx.core.http.HttpClientRequest::send)
                    .compose(res -> res.body().compose(b -> b.toString().contains("COMPLETED") ? Future.<Void>succeededFuture()
                            : Future.<Void>failedFuture("the status stream ended without COMPLETED")));
        }

        private static void complete(Session s, String url) {
            s.resultUrl = url;
            s.progress = 100;
            s.message = "Generation completed successfully";
            s.status = "completed";
        }

        private void fail(Session s, String why) {
            if (durable != null) {
                durable.fail(s.id, why);
            }
            s.fail(why);
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

    /**
     * The floor's durability: a job row in PostgreSQL (written before the submit is answered, finished when
     * the output is stored) and the output in S3, over the same clients Atelier uses underneath (Vert.x's
     * PostgreSQL client, the SDK's SigV4 signer, payload unsigned, over Vert.x's HTTP client). Nothing else:
     * no stages, no live state, no events, no retries.
     */
    static final class Durable {
        private final Pool pg;
        private final WebClient http;
        private final String s3;
        private final String bucket;
        private final String region;
        private final AwsV4HttpSigner signer = AwsV4HttpSigner.create();
        private final AwsBasicCredentials credentials;

        Durable(Vertx vertx, WebClient http) {
            PgConnectOptions connect = PgConnectOptions.fromUri(System.getProperty("ruler.pg"))
                    .setUser(System.getProperty("ruler.pg-user")).setPassword(System.getProperty("ruler.pg-password"));
            // Quarkus's default reactive pool size, which Atelier runs with
            this.pg = PgBuilder.pool().with(new io.vertx.sqlclient.PoolOptions().setMaxSize(20)).connectingTo(connect)
                    .using(vertx).build();
            this.http = http;
            this.s3 = System.getProperty("ruler.s3").replaceAll("/$", "");
            this.bucket = System.getProperty("ruler.s3-bucket");
            this.region = System.getProperty("ruler.s3-region", "us-east-1");
            this.credentials = AwsBasicCredentials.create(System.getProperty("ruler.s3-access-key"),
                    System.getProperty("ruler.s3-secret-key"));
        }

        Future<Void> createTable() {
            // a schema of its own: Atelier's migrations own public and refuse to start on a table they did not make
            return pg.query("create schema if not exists bench_floor").execute().compose(v -> pg.query("""
                    create table if not exists bench_floor.jobs (
                        id uuid primary key, endpoint text not null, input jsonb not null, status text not null, fal_request_id text,
                        output_key text, error text, created_at timestamptz not null default now(), finished_at timestamptz)""")
                    .execute()).mapEmpty();
        }

        static String inputKey(String id) {
            return "floor/" + id + "-input";
        }

        /** An uploaded picture PUT to S3 first (the row must not point at nothing), then the row: the job is accepted. */
        Future<Void> accept(String id, String endpoint, JsonObject body, Buffer upload, String uploadType) {
            // the row keeps the request, not the picture inline: that is what the S3 object is for
            JsonObject row = upload == null ? body : body.copy().put("image_url", "s3://" + bucket + "/" + inputKey(id));
            Future<Void> stored = upload == null ? Future.succeededFuture() : put(inputKey(id), upload, uploadType);
            return stored.compose(v -> pg.preparedQuery("insert into bench_floor.jobs (id, endpoint, input, status) values ($1, $2, $3, 'running')")
                    .execute(Tuple.of(UUID.fromString(id), endpoint, row)).mapEmpty());
        }

        /** The output PUT to S3, then the row finished; answers the output's key. */
        Future<String> finish(String id, Buffer bytes, String contentType) {
            String key = "floor/" + id + ".png";
            return put(key, bytes, contentType)
                    .compose(v -> pg.preparedQuery("update bench_floor.jobs set status = 'succeeded', output_key = $2, finished_at = now() where id = $1")
                            .execute(Tuple.of(UUID.fromString(id), key)).map(key));
        }

        Future<Void> recordRequest(String id, String requestId) {
            return pg.preparedQuery("update bench_floor.jobs set fal_request_id = $2 where id = $1 and fal_request_id is null")
                    .execute(Tuple.of(UUID.fromString(id), requestId)).mapEmpty();
        }

        /** A GET URL for the output, signed once (valid a day), as Atelier's views carry. */
        String presign(String key) {
            SdkHttpRequest request = SdkHttpRequest.builder().method(SdkHttpMethod.GET).uri(URI.create(s3 + "/" + bucket + "/" + key)).build();
            return sign(request, java.time.Duration.ofDays(1)).getUri().toString();
        }

        /**
         * SigV4 with Atelier's settings (UrlSigner): payload unsigned, the path signed as sent; in the headers, or in
         * the query string valid for {@code presignedFor} when that is set.
         */
        private SdkHttpRequest sign(SdkHttpRequest request, java.time.Duration presignedFor) {
            return signer.sign(r -> {
                r.identity(credentials).request(request)
                        .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "s3")
                        .putProperty(AwsV4HttpSigner.REGION_NAME, region)
                        .putProperty(AwsV4HttpSigner.PAYLOAD_SIGNING_ENABLED, false)
                        .putProperty(AwsV4HttpSigner.DOUBLE_URL_ENCODE, false)
                        .putProperty(AwsV4HttpSigner.NORMALIZE_PATH, false);
                if (presignedFor != null) {
                    r.putProperty(AwsV4HttpSigner.AUTH_LOCATION, software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner.AuthLocation.QUERY_STRING)
                            .putProperty(AwsV4HttpSigner.EXPIRATION_DURATION, presignedFor);
                }
            }).request();
        }

        private Future<Void> put(String key, Buffer bytes, String contentType) {
            String type = contentType == null ? "image/png" : contentType;
            URI target = URI.create(s3 + "/" + bucket + "/" + key);
            SdkHttpRequest request = SdkHttpRequest.builder()
                    .method(SdkHttpMethod.PUT).uri(target).putHeader("Content-Type", type)
                    .putHeader("Content-Length", String.valueOf(bytes.length())).build();
            SdkHttpRequest signed = sign(request, null);
            var put = http.putAbs(target.toString());
            signed.forEachHeader((name, values) -> {
                if (!name.equalsIgnoreCase("Host") && !name.equalsIgnoreCase("Content-Length")) {
                    values.forEach(v -> put.putHeader(name, v));
                }
            });
            return put.sendBuffer(bytes).compose(res -> res.statusCode() / 100 == 2 ? Future.<Void>succeededFuture()
                    : Future.<Void>failedFuture("S3 answered " + res.statusCode()));
        }

        void fail(String id, String why) {
            pg.preparedQuery("update bench_floor.jobs set status = 'failed', error = $2, finished_at = now() where id = $1")
                    .execute(Tuple.of(UUID.fromString(id), why));
        }
    }

    /**
     * The design floor's live state: each job's seed-001 view in a Redis hash, written in one round trip with
     * its expiry and a publication (what an event stream on another replica would hear), read by status.
     */
    static final class Live {
        private final io.vertx.redis.client.Redis redis;

        Live(Vertx vertx) {
            this.redis = io.vertx.redis.client.Redis.createClient(vertx, new io.vertx.redis.client.RedisOptions()
                    .setConnectionString(System.getProperty("ruler.redis")).setMaxPoolSize(16).setMaxPoolWaiting(100_000));
        }

        private static String key(String id) {
            return "bench-floor:" + id;
        }

        Future<Void> write(Session s) {
            String view = new JsonObject().put("session_id", s.id).put("status", s.status).put("progress", s.progress).put("message", s.message)
                    .put("result_url", s.resultUrl).put("error", s.error).encode();
            return redis.batch(List.of(io.vertx.redis.client.Request.cmd(io.vertx.redis.client.Command.HSET).arg(key(s.id)).arg("view").arg(view),
                    io.vertx.redis.client.Request.cmd(io.vertx.redis.client.Command.PEXPIRE).arg(key(s.id)).arg(3_600_000),
                    io.vertx.redis.client.Request.cmd(io.vertx.redis.client.Command.PUBLISH).arg("bench-floor:events").arg(s.id))).mapEmpty();
        }

        Future<String> view(String id) {
            return redis.send(io.vertx.redis.client.Request.cmd(io.vertx.redis.client.Command.HGET).arg(key(id)).arg("view"))
                    .map(r -> r == null ? null : r.toString());
        }
    }
}
