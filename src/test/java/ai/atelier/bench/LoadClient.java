package ai.atelier.bench;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import ai.atelier.simulator.Png;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;

/**
 * Seed 001's clients, many at once: submit, poll the status every 200 ms until the job ends, next job.
 * It shares two cores with the server it measures, so it is built to cost little: one event loop, one
 * keep-alive pool sized to the clients, request bodies built once, answers scanned for the one field
 * needed instead of parsed, per-job figures in primitive arrays. (java.net.http, tried first, used more
 * CPU than the server it measured.) Everything below runs on that one event loop, so nothing is shared
 * between threads until a run's future completes.
 */
final class LoadClient implements AutoCloseable {

    enum Kind {
        T2I, I2I
    }

    static final byte COMPLETED = 1, FAILED = 2, TIMED_OUT = 3, SUBMIT_FAILED = 4;
    static final long POLL_MS = 200;
    private static final String BOUNDARY = "atelier-bench-7f3a9c";

    private final Vertx vertx;
    private final Context loop;
    private final HttpClient http;
    private final int size;
    private final Buffer i2iBody;

    /** Per-job figures of a polling run, indexed by job; nanoTime values. */
    static final class Jobs {
        final int n;
        final long[] submitAt;
        final long[] submitNs;
        final long[] endToEndNs;
        final int[] reads;
        final byte[] outcome;
        final String[] ids;
        int readErrors;

        Jobs(int n) {
            this.n = n;
            submitAt = new long[n];
            submitNs = new long[n];
            endToEndNs = new long[n];
            reads = new int[n];
            outcome = new byte[n];
            ids = new String[n];
        }

        int count(byte what) {
            int c = 0;
            for (byte o : outcome) {
                c += o == what ? 1 : 0;
            }
            return c;
        }

        /** Session ids of the jobs that completed. */
        List<String> completedIds() {
            List<String> out = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if (outcome[i] == COMPLETED) {
                    out.add(ids[i]);
                }
            }
            return out;
        }
    }

    /** A burst of submits: when each began and how long it took. */
    record Burst(long firstStart, long lastEnd, long[] submitNs, String[] ids, int failed) {
    }

    /** A tenant's key, sent as a real client sends it (null for the ruler, which checks none). */
    private final String authorization;

    LoadClient(String baseUrl, int connections, int size, String key) {
        this.authorization = key == null ? null : "Bearer " + key;
        URI uri = URI.create(baseUrl);
        this.size = size;
        // one event loop does all the work; the pools Vert.x would otherwise start stay minimal
        this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1).setInternalBlockingPoolSize(1));
        this.loop = vertx.getOrCreateContext();
        this.http = vertx.createHttpClient(new HttpClientOptions().setDefaultHost(uri.getHost()).setDefaultPort(uri.getPort())
                .setKeepAlive(true).setKeepAliveTimeout(120).setTcpNoDelay(true).setConnectTimeout(10_000),
                new PoolOptions().setHttp1MaxSize(connections).setMaxWaitQueueSize(-1));
        this.i2iBody = multipart(Png.render(size, size, 42), "bench i2i");
    }

    /** The Linux thread id of the event loop doing this client's work, for {@link CpuParts}. */
    java.util.Set<Long> threadIds() throws Exception {
        CompletableFuture<Long> tid = new CompletableFuture<>();
        loop.runOnContext(v -> {
            try {
                // /proc/thread-self links to PID/task/TID of the thread that reads it
                tid.complete(Long.parseLong(java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/thread-self")).getFileName().toString()));
            } catch (Exception e) {
                tid.completeExceptionally(e);
            }
        });
        return java.util.Set.of(tid.get(10, TimeUnit.SECONDS));
    }

    /** {@code n} jobs with {@code clients} in flight, each polled every 200 ms (the first read at {@link #firstPollMs}) until it ends or {@code timeoutMs} passes. */
    Jobs run(Kind kind, int n, int clients, long timeoutMs, String prefix) throws Exception {
        Jobs jobs = new Jobs(n);
        CompletableFuture<Jobs> done = new CompletableFuture<>();
        long timeoutNs = TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        String contentType = kind == Kind.T2I ? "application/json" : "multipart/form-data; boundary=" + BOUNDARY;
        String path = kind == Kind.T2I ? "/api/flux/t2i" : "/api/flux/i2i";
        int[] next = { 0 };
        int[] ended = { 0 };
        Runnable[] start = new Runnable[1];
        JobEnd end = (i, outcome) -> {
            jobs.outcome[i] = outcome;
            if (++ended[0] == n) {
                done.complete(jobs);
            } else {
                start[0].run();
            }
        };
        start[0] = () -> {
            if (next[0] >= n) {
                return;
            }
            int i = next[0]++;
            Buffer body = kind == Kind.T2I ? t2iBody(prefix, i) : i2iBody;
            jobs.submitAt[i] = System.nanoTime();
            send(HttpMethod.POST, path, contentType, body, (status, answer) -> {
                jobs.submitNs[i] = System.nanoTime() - jobs.submitAt[i];
                String id = status == 200 ? stringField(answer, "session_id") : null;
                if (id == null) {
                    end.ended(i, SUBMIT_FAILED);
                    return;
                }
                jobs.ids[i] = id;
                poll(jobs, i, "/api/" + id + "/status", firstPollMs(i), timeoutNs, end);
            });
        };
        loop.runOnContext(v -> {
            for (int c = 0; c < Math.min(clients, n); c++) {
                start[0].run();
            }
        });
        return done.get(timeoutMs + TimeUnit.MINUTES.toMillis(30), TimeUnit.MILLISECONDS);
    }

    /**
     * When job {@code i}'s first status read goes, after its submit was answered: spread evenly over one
     * polling step (a golden-ratio sequence, the same in every run). With every client's first read at
     * exactly 200 ms, fal's fixed latency (a whole number of steps) put the ruler's completion just before
     * a read, and any server needing a few milliseconds more after fal finished missed it and waited a
     * whole step: a 200 ms penalty for 15 ms of work. Real clients' polls have no such phase; spread, each
     * server pays about half a step on average, as the report says.
     */
    static long firstPollMs(int i) {
        double phase = (i * 0.6180339887498949) % 1.0;
        return 1 + (long) (phase * (POLL_MS - 1));
    }

    private void poll(Jobs jobs, int i, String statusPath, long delayMs, long timeoutNs, JobEnd end) {
        vertx.setTimer(delayMs, t -> send(HttpMethod.GET, statusPath, null, null, (status, answer) -> {
            long now = System.nanoTime();
            jobs.reads[i]++;
            String word = status == 200 ? stringField(answer, "status") : null;
            if (status != 200) {
                jobs.readErrors++;
            }
            if ("completed".equals(word) || "failed".equals(word)) {
                jobs.endToEndNs[i] = now - jobs.submitAt[i];
                end.ended(i, "completed".equals(word) ? COMPLETED : FAILED);
            } else if (now - jobs.submitAt[i] > timeoutNs) {
                end.ended(i, TIMED_OUT);
            } else {
                poll(jobs, i, statusPath, POLL_MS, timeoutNs, end);
            }
        }));
    }

    /** {@code n} text-to-image submits with {@code clients} in flight, no polling: the accept path's rate. */
    Burst burst(int n, int clients, String prefix) throws Exception {
        long[] submitNs = new long[n];
        String[] ids = new String[n];
        long[] first = { Long.MAX_VALUE };
        long[] last = { 0 };
        int[] failed = { 0 };
        int[] next = { 0 };
        int[] ended = { 0 };
        CompletableFuture<Void> done = new CompletableFuture<>();
        Runnable[] start = new Runnable[1];
        start[0] = () -> {
            if (next[0] >= n) {
                return;
            }
            int i = next[0]++;
            long t0 = System.nanoTime();
            first[0] = Math.min(first[0], t0);
            send(HttpMethod.POST, "/api/flux/t2i", "application/json", t2iBody(prefix, i), (status, answer) -> {
                long t1 = System.nanoTime();
                submitNs[i] = t1 - t0;
                last[0] = Math.max(last[0], t1);
                ids[i] = status == 200 ? stringField(answer, "session_id") : null;
                if (ids[i] == null) {
                    failed[0]++;
                }
                if (++ended[0] == n) {
                    done.complete(null);
                } else {
                    start[0].run();
                }
            });
        };
        loop.runOnContext(v -> {
            for (int c = 0; c < Math.min(clients, n); c++) {
                start[0].run();
            }
        });
        done.get(30, TimeUnit.MINUTES);
        return new Burst(first[0], last[0], submitNs, ids, failed[0]);
    }

    /** Reads the status of every session once, {@code clients} at a time; answers how many have ended. */
    int sweep(List<String> ids, int clients) throws Exception {
        int[] finished = { 0 };
        reads(ids, ids.size(), clients, answer -> {
            String word = stringField(answer, "status");
            if ("completed".equals(word) || "failed".equals(word)) {
                finished[0]++;
            }
        });
        return finished[0];
    }

    /** {@code total} status reads cycling over {@code ids}, {@code clients} in flight; answers the reads that were not 200. */
    int reads(List<String> ids, int total, int clients) throws Exception {
        return reads(ids, total, clients, null);
    }

    private int reads(List<String> ids, int total, int clients, java.util.function.Consumer<Buffer> onAnswer) throws Exception {
        if (ids.isEmpty() || total <= 0) {
            return 0;
        }
        String[] paths = ids.stream().map(id -> "/api/" + id + "/status").toArray(String[]::new);
        int[] next = { 0 };
        int[] ended = { 0 };
        int[] errors = { 0 };
        CompletableFuture<Void> done = new CompletableFuture<>();
        Runnable[] start = new Runnable[1];
        start[0] = () -> {
            if (next[0] >= total) {
                return;
            }
            String path = paths[next[0]++ % paths.length];
            send(HttpMethod.GET, path, null, null, (status, answer) -> {
                if (status != 200) {
                    errors[0]++;
                } else if (onAnswer != null) {
                    onAnswer.accept(answer);
                }
                if (++ended[0] == total) {
                    done.complete(null);
                } else {
                    start[0].run();
                }
            });
        };
        loop.runOnContext(v -> {
            for (int c = 0; c < Math.min(clients, total); c++) {
                start[0].run();
            }
        });
        done.get(30, TimeUnit.MINUTES);
        return errors[0];
    }

    @FunctionalInterface
    private interface JobEnd {
        void ended(int job, byte outcome);
    }

    @FunctionalInterface
    private interface Answer {
        /** {@code status} is 0 when the request failed before an answer (the body is then null). */
        void answered(int status, Buffer body);
    }

    /** One request over the pool; a transport failure answers status 0 rather than failing the run. */
    private void send(HttpMethod method, String path, String contentType, Buffer body, Answer answer) {
        http.request(method, path).onComplete(ar -> {
            if (ar.failed()) {
                answer.answered(0, null);
                return;
            }
            var req = ar.result().idleTimeout(120_000);
            if (contentType != null) {
                req.putHeader("Content-Type", contentType);
            }
            if (authorization != null) {
                req.putHeader("Authorization", authorization);
            }
            (body == null ? req.send() : req.send(body)).onComplete(res -> {
                if (res.failed()) {
                    answer.answered(0, null);
                    return;
                }
                HttpClientResponse r = res.result();
                r.body().onComplete(b -> answer.answered(b.succeeded() ? r.statusCode() : 0, b.succeeded() ? b.result() : null));
            });
        });
    }

    private Buffer t2iBody(String prefix, int i) {
        return Buffer.buffer("{\"prompt\":\"" + prefix + " " + i + "\",\"width\":" + size + ",\"height\":" + size + "}");
    }

    /**
     * The multipart body seed 001's i2i client sends, built once: Vert.x writes a duplicate of the buffer
     * on every send, so all requests share it.
     */
    private static Buffer multipart(byte[] png, String prompt) {
        String head = "--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\n" + prompt + "\r\n--" + BOUNDARY
                + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"input.png\"\r\nContent-Type: image/png\r\n\r\n";
        return Buffer.buffer(head.getBytes(StandardCharsets.US_ASCII)).appendBytes(png)
                .appendString("\r\n--" + BOUNDARY + "--\r\n", "US-ASCII");
    }

    /**
     * The string value of a top-level-looking {@code "name": "value"} in a JSON answer, found by scanning the bytes:
     * the answers here are small, flat and machine-written, and parsing each of tens of thousands fully would
     * cost the load generator more than the field is worth. Null when absent or not a string.
     */
    static String stringField(Buffer json, String name) {
        if (json == null) {
            return null;
        }
        byte[] key = ("\"" + name + "\"").getBytes(StandardCharsets.US_ASCII);
        int len = json.length();
        outer:
        for (int i = 0; i + key.length <= len; i++) {
            for (int k = 0; k < key.length; k++) {
                if (json.getByte(i + k) != key[k]) {
                    continue outer;
                }
            }
            int p = i + key.length;
            while (p < len && isSpace(json.getByte(p))) {
                p++;
            }
            if (p >= len || json.getByte(p) != ':') {
                continue; // the name appeared as a value, not a key
            }
            p++;
            while (p < len && isSpace(json.getByte(p))) {
                p++;
            }
            if (p >= len || json.getByte(p) != '"') {
                return null;
            }
            int from = ++p;
            while (p < len && json.getByte(p) != '"') {
                p++;
            }
            return json.getString(from, p, "UTF-8");
        }
        return null;
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || b == '\n' || b == '\r' || b == '\t';
    }

    @Override
    public void close() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
}
