package ai.atelier.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import ai.atelier.local.LocalServers;

/**
 * Atelier against a ruler and two floors, in the same run, as ratios. The ruler ({@link Ruler}) answers
 * seed 001's routes with the least work a server can do (fal's sync endpoint, state in a map); the floor
 * adds the least a server must do to keep its jobs (a row, the files in S3), the design floor the least a
 * server built as Atelier's engine is specified can do (fal's queue API, live state in Redis); Atelier is
 * the packaged jar with its shipped defaults. All are their own processes, started fresh for each
 * scenario, one after the other, against the same simulator settings and the same load generator
 * ({@link LoadClient}), so what differs is the server. Absolute figures depend on the machine (two
 * cores shared by the simulator, the load, PostgreSQL, Redis and S3); the ratios are the result.
 * <p>
 * Not part of the suite (the name does not end in Test). After {@code ./mvnw package -DskipTests}:
 * {@code ./mvnw -Pbench surefire:test -Dtest=EngineBenchmark [-Dbench.scenarios=t2i-200,burst-5000] [-Dbench.t2i-200.jobs=500]}.
 * Writes the table to {@code target/engine-benchmark.md}.
 */
public class EngineBenchmark {

    /** The container image's JVM options, read from its Dockerfile: Atelier runs as shipped, and the two cannot drift. */
    static final String IMAGE_JVM = imageJvmOptions();
    static final String RULER = "ruler";
    /** The ruler plus the least a server must do to lose nothing: see {@link Ruler}. */
    static final String FLOOR = "floor";
    /** The least a server built as issue 8 asks (fal's queue API, live state in Redis) can do: see {@link Ruler}. */
    static final String DESIGN_FLOOR = "design-floor";
    static final String ATELIER = "Atelier";

    /** The -X options of {@code JAVA_OPTS_APPEND} in src/main/docker/Dockerfile.jvm (the -D ones are the image's own business). */
    public static String imageJvmOptions() {
        try {
            String dockerfile = java.nio.file.Files.readString(java.nio.file.Path.of("src/main/docker/Dockerfile.jvm"));
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^ENV JAVA_OPTS_APPEND=\"([^\"]*)\"").matcher(dockerfile);
            if (!m.find()) {
                throw new IllegalStateException("no JAVA_OPTS_APPEND in src/main/docker/Dockerfile.jvm");
            }
            return java.util.Arrays.stream(m.group(1).trim().split("\\s+")).filter(o -> o.startsWith("-X")).collect(java.util.stream.Collectors.joining(" "));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    enum Mode {
        T2I, I2I, BURST, BATCH
    }

    record Scenario(String name, Mode mode, int jobs, int clients, long latencyMs) {
        String describe() {
            return switch (mode) {
                case BURST -> String.format("`%s`: %,d text-to-image submits, %d at a time, no polling, fal latency %,d ms", name, jobs, clients, latencyMs);
                case T2I -> String.format("`%s`: %,d text-to-image jobs, %d in flight, fal latency %,d ms", name, jobs, clients, latencyMs);
                case I2I -> String.format("`%s`: %,d multipart image-to-image jobs, %d in flight, fal latency %,d ms", name, jobs, clients, latencyMs);
                case BATCH -> String.format("`%s` (Atelier only: the floors have no batches): one batch of %,d text-to-image items, and %,d interactive "
                        + "text-to-image jobs with %d in flight run twice, alone and beside the batch; fal latency %,d ms", name, jobs,
                        Integer.getInteger("bench." + name + ".interactive", 1_000), clients, latencyMs);
            };
        }
    }

    /** One server's figures for one scenario; a null is a figure that does not apply (or could not be read). */
    record Result(String server, int jobs, int completed, int failed, int timedOut, Double jobsPerSecond, Double submitsPerSecond,
            double submitP50Ms, double submitP95Ms, Double overheadP50Ms, Double overheadP95Ms, Double atFalAfterLastSubmitS,
            Double atFalAfterFirstSubmitS, double cpuSeconds, double machineCpuSeconds, long peakRssKb, Double readsPerJob,
            Double pgStatementsPerJob, boolean pgAvailable, Double cpuMicrosPerRead, int readErrors, Map<String, Double> cpuByPart) {

        double cpuMsPerJob() {
            return cpuSeconds * 1000 / jobs;
        }
    }

    /** A batch beside interactive work: how fast it was accepted, and what it did to the interactive jobs' latency. */
    record BatchResult(int items, double acceptSeconds, int acceptStatus, double batchSeconds, int succeeded, int failed, Result alone, Result beside,
            int itemsEndedWhenBesideEnded, double cpuSeconds, Double pgStatementsPerItem, int lowPriorityAtFal, int falSubmits) {
    }

    private final Map<Scenario, BatchResult> batches = new LinkedHashMap<>();
    private Map<String, String> services;
    private String sim;
    private List<String> jvm;
    private Map<String, String> atelierExtra;
    private long ticksPerSecond;
    private final List<Process> started = new ArrayList<>();

    @Test
    void run() throws Exception {
        int size = Integer.getInteger("bench.size", 256);
        int warmup = Integer.getInteger("bench.warmup", 300);
        long warmupLatency = Long.getLong("bench.warmup-latency-ms", 1000);
        int reads = Integer.getInteger("bench.status-reads", 20_000);
        int readClients = Integer.getInteger("bench.status-read-clients", 64);
        long jobTimeoutMs = TimeUnit.SECONDS.toMillis(Long.getLong("bench.job-timeout-s", 120));
        jvm = split(System.getProperty("bench.jvm-args", IMAGE_JVM));
        atelierExtra = pairs(System.getProperty("bench.atelier-props", ""));
        List<String> servers = split(System.getProperty("bench.servers", String.join(",", RULER, FLOOR, DESIGN_FLOOR, ATELIER)).replace(',', ' '));
        List<Scenario> scenarios = scenarios();
        ticksPerSecond = clockTicks();

        services = localServers();
        sim = Objects.requireNonNull(services.get("atelier-local.simulator-url"), "the benchmark needs the fal simulator (unset FAL_KEY)");
        Files.createDirectories(Path.of("target", "bench-logs"));

        Map<Scenario, List<Result>> results = new LinkedHashMap<>();
        try {
            for (Scenario s : scenarios) {
                if (s.mode() == Mode.BATCH) {
                    BatchResult b = measureBatch(s, size, warmup, warmupLatency, jobTimeoutMs);
                    System.out.println(s.name() + " " + b);
                    batches.put(s, b);
                    continue;
                }
                List<Result> pair = new ArrayList<>();
                for (String server : servers) {
                    Result r = measure(s, serverName(server), size, warmup, warmupLatency, reads, readClients, jobTimeoutMs);
                    System.out.println(s.name() + " " + r);
                    pair.add(r);
                }
                results.put(s, pair);
            }
        } finally {
            started.forEach(Process::destroyForcibly);
        }
        String report = report(results, size, warmup, warmupLatency, reads, readClients, jobTimeoutMs);
        System.out.println(report);
        Files.writeString(Path.of("target", "engine-benchmark.md"), report);
        results.values().stream().flatMap(List::stream)
                .forEach(r -> assertThat(r.completed()).as(r.server() + " completed jobs").isPositive());
        batches.values().forEach(b -> assertThat(b.succeeded()).as("batch items succeeded").isPositive());
    }

    private static String serverName(String asked) {
        return java.util.stream.Stream.of(RULER, FLOOR, DESIGN_FLOOR, ATELIER).filter(asked::equalsIgnoreCase).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("bench.servers: " + asked + " is not one of ruler, floor, design-floor, Atelier"));
    }

    /** One fresh server process through warm-up, the measured phase and the status-read measurement. */
    private Result measure(Scenario s, String server, int size, int warmup, long warmupLatency, int reads, int readClients, long jobTimeoutMs)
            throws Exception {
        boolean atelier = server.equals(ATELIER);
        boolean stores = !server.equals(RULER); // keeps its jobs in PostgreSQL: its statements are counted
        clearJournal();
        simSettings(Math.min(s.latencyMs(), warmupLatency));
        Server proc = atelier ? startAtelier("bench-" + s.name()) : startRuler(server + "-" + s.name(), server);
        long pid = proc.process().pid();
        LoadClient.Kind kind = s.mode() == Mode.I2I ? LoadClient.Kind.I2I : LoadClient.Kind.T2I;
        try (LoadClient client = new LoadClient(proc.url(), Math.max(s.clients(), readClients), size, proc.key())) {
            if (warmup > 0) {
                // the JIT and the connection pools on both sides, so the measured phase is the steady state
                LoadClient.Jobs warm = client.run(kind, warmup, Math.min(s.clients(), warmup), jobTimeoutMs, "warm");
                if (warm.count(LoadClient.COMPLETED) < warmup) {
                    System.out.printf("WARNING %s %s warm-up: only %d of %d completed%n", s.name(), server, warm.count(LoadClient.COMPLETED), warmup);
                }
            }
            simSettings(s.latencyMs());
            if (stores) {
                settle();
            }
            clearJournal(); // a burst counts fal's submits from here
            CpuParts parts = new CpuParts(pid, client.threadIds());
            Map<String, Long> parts0 = parts.snapshot();
            long cpu0 = cpuTicks(pid);
            long machine0 = machineTicks();
            Long pg0 = stores ? pgCalls() : null;
            Map<String, Long> redis0 = redisCalls();
            Result partial;
            List<String> finished;
            if (s.mode() == Mode.BURST) {
                LoadClient.Burst b = client.burst(s.jobs(), s.clients(), "burst");
                String falPath = atelier || server.equals(DESIGN_FLOOR) ? "/queue/fal-ai/flux/schnell" : "/run/fal-ai/flux/schnell";
                int expected = s.jobs() - b.failed();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.getLong("bench.burst-wait-s", 600));
                int atFal;
                while ((atFal = falCount(falPath)) < expected && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                long allAtFal = System.nanoTime();
                long cpu1 = cpuTicks(pid);
                long machine1 = machineTicks();
                Map<String, Double> byPart = CpuParts.between(parts0, parts.snapshot(), ticksPerSecond);
                Long pg1 = stores ? pgCalls() : null;
                if (atFal < expected) {
                    System.out.printf("WARNING %s %s: only %d of %d submits reached fal%n", s.name(), server, atFal, expected);
                }
                long[] sorted = b.submitNs().clone();
                Arrays.sort(sorted);
                partial = new Result(server, s.jobs(), atFal, b.failed(), expected - atFal, null,
                        s.jobs() / seconds(b.lastEnd() - b.firstStart()), ms(pct(sorted, 50)), ms(pct(sorted, 95)), null, null,
                        Math.max(0, seconds(allAtFal - b.lastEnd())), seconds(allAtFal - b.firstStart()), (cpu1 - cpu0) / (double) ticksPerSecond,
                        (machine1 - machine0) / (double) ticksPerSecond, 0, null, perJob(pg0, pg1, s.jobs()), pg1 != null, null, 0, byPart);
                // the burst's jobs run on at fal; they finish before the reads (and before the next process, which
                // would otherwise share the simulator with them, or take over Atelier's leases)
                finished = Arrays.stream(b.ids()).filter(Objects::nonNull).toList();
                drain(client, finished, b.lastEnd(), s.latencyMs());
            } else {
                LoadClient.Jobs jobs = client.run(kind, s.jobs(), s.clients(), jobTimeoutMs, "bench");
                long cpu1 = cpuTicks(pid);
                long machine1 = machineTicks();
                Map<String, Double> byPart = CpuParts.between(parts0, parts.snapshot(), ticksPerSecond);
                Long pg1 = stores ? pgCalls() : null;
                if (stores) {
                    topStatements(s.name() + "-" + server);
                }
                redisReport(s.name() + "-" + server, redis0, redisCalls(), s.jobs());
                partial = pollingResult(server, s, jobs, cpu1 - cpu0, machine1 - machine0, perJob(pg0, pg1, s.jobs()), pg1 != null, byPart);
                finished = jobs.completedIds();
            }
            long hwm = procStatus(pid, "VmHWM");
            if (atelier) {
                awaitIdle(s);
            } else if (stores) {
                // the floor did what it is there to cost: every job the client saw completed has its row finished
                long stored = floorSucceeded();
                if (stored < partial.completed()) {
                    throw new IllegalStateException("the floor reported " + partial.completed() + " jobs completed but finished " + stored + " rows");
                }
            }
            // the price of one status read of a finished job, on an otherwise idle server
            Double perRead = null;
            int readErrors = 0;
            if (reads > 0 && !finished.isEmpty()) {
                long r0 = cpuTicks(pid);
                readErrors = client.reads(finished, reads, readClients);
                long r1 = cpuTicks(pid);
                perRead = (r1 - r0) * 1e6 / ticksPerSecond / reads;
                if (readErrors > 0) {
                    System.out.printf("WARNING %s %s: %d of %d status reads were not 200%n", s.name(), server, readErrors, reads);
                }
            }
            if (!proc.process().isAlive()) {
                throw new IllegalStateException(server + " died during " + s.name() + ": see " + proc.log());
            }
            return new Result(partial.server(), partial.jobs(), partial.completed(), partial.failed(), partial.timedOut(), partial.jobsPerSecond(),
                    partial.submitsPerSecond(), partial.submitP50Ms(), partial.submitP95Ms(), partial.overheadP50Ms(), partial.overheadP95Ms(),
                    partial.atFalAfterLastSubmitS(), partial.atFalAfterFirstSubmitS(), partial.cpuSeconds(), partial.machineCpuSeconds(), hwm,
                    partial.readsPerJob(), partial.pgStatementsPerJob(), partial.pgAvailable(), perRead, readErrors, partial.cpuByPart());
        } finally {
            stop(proc.process());
        }
    }

    private Result pollingResult(String server, Scenario s, LoadClient.Jobs jobs, long cpuTicks, long machineTicks, Double pgPerJob,
            boolean pgAvailable, Map<String, Double> cpuByPart) {
        int completed = jobs.count(LoadClient.COMPLETED);
        long first = Long.MAX_VALUE;
        long last = Long.MIN_VALUE;
        long[] overhead = new long[completed];
        long reads = 0;
        int k = 0;
        long latencyNs = TimeUnit.MILLISECONDS.toNanos(s.latencyMs());
        for (int i = 0; i < jobs.n; i++) {
            reads += jobs.reads[i];
            first = Math.min(first, jobs.submitAt[i]);
            if (jobs.outcome[i] == LoadClient.COMPLETED) {
                last = Math.max(last, jobs.submitAt[i] + jobs.endToEndNs[i]);
                overhead[k++] = jobs.endToEndNs[i] - latencyNs;
            }
        }
        Arrays.sort(overhead);
        long[] submit = jobs.submitNs.clone();
        Arrays.sort(submit);
        if (jobs.readErrors > 0) {
            System.out.printf("WARNING %s %s: %d status reads were not 200%n", s.name(), server, jobs.readErrors);
        }
        return new Result(server, s.jobs(), completed, jobs.count(LoadClient.FAILED) + jobs.count(LoadClient.SUBMIT_FAILED),
                jobs.count(LoadClient.TIMED_OUT), completed == 0 ? null : completed / seconds(last - first), null, ms(pct(submit, 50)),
                ms(pct(submit, 95)), completed == 0 ? null : ms(pct(overhead, 50)), completed == 0 ? null : ms(pct(overhead, 95)), null, null,
                cpuTicks / (double) ticksPerSecond, machineTicks / (double) ticksPerSecond, 0, reads / (double) jobs.n, pgPerJob, pgAvailable,
                null, 0, cpuByPart);
    }

    /** Waits out fal's latency, then sweeps the sessions' statuses until all have ended. Not measured. */
    private void drain(LoadClient client, List<String> ids, long lastSubmit, long latencyMs) throws Exception {
        long wait = TimeUnit.NANOSECONDS.toMillis(lastSubmit + TimeUnit.MILLISECONDS.toNanos(latencyMs) - System.nanoTime());
        if (wait > 0) {
            Thread.sleep(wait);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.getLong("bench.drain-s", 300));
        int ended;
        while ((ended = client.sweep(ids, 64)) < ids.size() && System.nanoTime() < deadline) {
            Thread.sleep(2000);
        }
        if (ended < ids.size()) {
            System.out.printf("WARNING: %d of %d burst jobs had not ended after the drain%n", ids.size() - ended, ids.size());
        }
    }

    /**
     * A catalogue-sized batch beside interactive work, on one fresh Atelier: the same interactive load runs
     * alone, then again right after the batch was accepted, while its items run. What the batch costs the
     * interactive jobs is the difference in their overhead; the batch's acceptance is timed from the client.
     */
    private BatchResult measureBatch(Scenario s, int size, int warmup, long warmupLatency, long jobTimeoutMs) throws Exception {
        int interactive = Integer.getInteger("bench." + s.name() + ".interactive", 1_000);
        Scenario load = new Scenario(s.name(), Mode.T2I, interactive, s.clients(), s.latencyMs());
        clearJournal();
        simSettings(Math.min(s.latencyMs(), warmupLatency));
        Server proc = startAtelier("bench-" + s.name());
        long pid = proc.process().pid();
        try (LoadClient client = new LoadClient(proc.url(), s.clients() + 8, size, proc.key())) {
            if (warmup > 0) {
                client.run(LoadClient.Kind.T2I, warmup, Math.min(s.clients(), warmup), jobTimeoutMs, "warm");
            }
            simSettings(s.latencyMs());
            Result alone = timedRun(client, load, pid, "alone");
            clearJournal();
            StringBuilder body = new StringBuilder(s.jobs() * 100).append("{\"metadata\":{\"bench\":\"").append(s.name()).append("\"},\"requests\":[");
            for (int i = 0; i < s.jobs(); i++) {
                body.append(i == 0 ? "" : ",").append("{\"custom_id\":\"item-").append(i).append("\",\"model\":\"flux-schnell\",\"prompt\":\"bench batch ")
                        .append(i).append("\",\"params\":{\"image_size\":{\"width\":").append(size).append(",\"height\":").append(size).append("}}}");
            }
            body.append("]}");
            long cpu0 = cpuTicks(pid);
            Long pg0 = pgCalls();
            long t0 = System.nanoTime();
            Answer accepted = authed("POST", proc.url() + "/v1/batches", body.toString(), proc.key());
            long acceptNs = System.nanoTime() - t0;
            if (accepted.status() != 201 && accepted.status() != 200 && accepted.status() != 202) {
                throw new IllegalStateException("the batch was refused: " + accepted.status() + " " + accepted.body());
            }
            String id = field(accepted.body(), "id");
            Result beside = timedRun(client, load, pid, "beside");
            int endedWhenBesideEnded = ended(batch(proc, id));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.getLong("bench.batch-wait-s", 1_800));
            String view = batch(proc, id);
            while (!field(view, "status").equals("completed") && System.nanoTime() < deadline) {
                Thread.sleep(1_000);
                view = batch(proc, id);
            }
            long batchNs = System.nanoTime() - t0;
            long cpu1 = cpuTicks(pid);
            Long pg1 = pgCalls();
            Matcher counts = Pattern.compile("\"succeeded\"\\s*:\\s*(\\d+).*?\"failed\"\\s*:\\s*(\\d+)|\"failed\"\\s*:\\s*(\\d+).*?\"succeeded\"\\s*:\\s*(\\d+)",
                    Pattern.DOTALL).matcher(view);
            int succeeded = 0;
            int failed = 0;
            if (counts.find()) {
                succeeded = Integer.parseInt(counts.group(1) != null ? counts.group(1) : counts.group(4));
                failed = Integer.parseInt(counts.group(2) != null ? counts.group(2) : counts.group(3));
            }
            int low = countMatching(sim + "/_sim/requests?method=POST&path=/queue/fal-ai/flux/schnell", "\"x-fal-queue-priority\"\\s*:\\s*\"low\"");
            topStatements(s.name() + "-" + ATELIER);
            // the interactive jobs of both runs are in the CPU figure too; it is reported per batch item all the same, as the whole cost of the phase
            return new BatchResult(s.jobs(), seconds(acceptNs), accepted.status(), seconds(batchNs), succeeded, failed, alone, beside,
                    endedWhenBesideEnded, (cpu1 - cpu0) / (double) ticksPerSecond, perJob(pg0, pg1, s.jobs() + interactive), low,
                    falCount("/queue/fal-ai/flux/schnell"));
        } finally {
            stop(proc.process());
        }
    }

    /** One interactive polling run with its own CPU and statement counts. */
    private Result timedRun(LoadClient client, Scenario load, long pid, String prefix) throws Exception {
        long cpu0 = cpuTicks(pid);
        long machine0 = machineTicks();
        Long pg0 = pgCalls();
        LoadClient.Jobs jobs = client.run(LoadClient.Kind.T2I, load.jobs(), load.clients(), TimeUnit.SECONDS.toMillis(600), prefix);
        long cpu1 = cpuTicks(pid);
        return pollingResult(ATELIER, load, jobs, cpu1 - cpu0, machineTicks() - machine0, perJob(pg0, pgCalls(), load.jobs()), pg0 != null, Map.of());
    }

    private static String batch(Server proc, String id) throws IOException {
        return expect(authed("GET", proc.url() + "/v1/batches/" + id, null, proc.key()), 200).body();
    }

    /** Items of a batch view that have ended (succeeded, failed or cancelled). */
    private static int ended(String view) {
        int n = 0;
        for (String f : List.of("succeeded", "failed", "cancelled")) {
            Matcher m = Pattern.compile("\"" + f + "\"\\s*:\\s*(\\d+)").matcher(view);
            n += m.find() ? Integer.parseInt(m.group(1)) : 0;
        }
        return n;
    }

    private static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*\"([^\"]*)\"").matcher(json);
        if (!m.find()) {
            throw new IllegalStateException("no " + name + " in " + json.substring(0, Math.min(300, json.length())));
        }
        return m.group(1);
    }

    private int countMatching(String url, String regex) throws IOException {
        Matcher m = Pattern.compile(regex).matcher(expect(http("GET", url, null), 200).body());
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    /** A tenant's call: the harness's {@link #http} with the tenant's key. */
    private static Answer authed(String method, String url, String body, String key) throws IOException {
        HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
        c.setRequestMethod(method);
        c.setConnectTimeout(5000);
        c.setReadTimeout(120_000);
        c.setRequestProperty("Authorization", "Bearer " + key);
        if (body != null) {
            c.setDoOutput(true);
            c.setRequestProperty("Content-Type", "application/json");
            try (OutputStream out = c.getOutputStream()) {
                out.write(body.getBytes(StandardCharsets.UTF_8));
            }
        }
        int status = c.getResponseCode();
        try (InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream()) {
            return new Answer(status, in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    /** Atelier's jobs all ended, so the next instance does not take over this one's leftovers once its leases expire. */
    private void awaitIdle(Scenario s) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(s.latencyMs() + 120_000);
        long active;
        while ((active = activeJobs()) > 0 && System.nanoTime() < deadline) {
            Thread.sleep(500);
        }
        if (active > 0) {
            System.out.printf("WARNING %s: %d Atelier jobs still queued or running; the next runs may see them%n", s.name(), active);
        }
    }

    /**
     * The embedded servers. Quarkus's JUnit support reads the test profile's configuration when the launcher
     * starts, which makes {@code LocalServices} start a set and leave its addresses in a system property; that
     * set is used rather than a second one idling beside it on the same two cores.
     */
    private static Map<String, String> localServers() throws Exception {
        String state = System.getProperty("atelier-local.state");
        if (state == null) {
            return LocalServers.start(false);
        }
        java.util.Properties props = new java.util.Properties();
        props.load(new java.io.StringReader(state));
        Map<String, String> config = new LinkedHashMap<>();
        props.forEach((k, v) -> config.put((String) k, (String) v));
        return config;
    }

    // ---- the servers ---------------------------------------------------------------------------

    record Server(String url, Process process, Path log, String key) {
        Server(String url, Process process, Path log) {
            this(url, process, log, null);
        }

        Server withKey(String key) {
            return new Server(url, process, log, key);
        }
    }

    private static final String ADMIN_KEY = "atl_bench_admin_key";

    /** A tenant and a jobs key through the admin API, as an operator would give a customer (no limits set). */
    private static String tenantKey(Server s) throws IOException {
        String tenant = post(s.url() + "/v1/admin/tenants", "{\"name\": \"bench-" + System.nanoTime() + "\"}");
        String id = tenant.replaceAll("(?s).*\"id\"\\s*:\\s*\"([^\"]+)\".*", "$1");
        String key = post(s.url() + "/v1/admin/tenants/" + id + "/keys", "{\"name\": \"load\", \"scopes\": [\"jobs:write\", \"jobs:read\"]}");
        return key.replaceAll("(?s).*\"key\"\\s*:\\s*\"([^\"]+)\".*", "$1");
    }

    private static String post(String url, String json) throws IOException {
        HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
        c.setRequestMethod("POST");
        c.setDoOutput(true);
        c.setRequestProperty("Content-Type", "application/json");
        c.setRequestProperty("Authorization", "Bearer " + ADMIN_KEY);
        try (OutputStream out = c.getOutputStream()) {
            out.write(json.getBytes(StandardCharsets.UTF_8));
        }
        if (c.getResponseCode() != 201) {
            throw new IOException(url + " answered " + c.getResponseCode());
        }
        try (InputStream in = c.getInputStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private Server startRuler(String name, String server) throws Exception {
        int port = freePort();
        List<String> cmd = new ArrayList<>(List.of(javaBin()));
        cmd.addAll(jvm);
        if (!server.equals(RULER)) {
            // each floor starts on an empty table: what it finished is then what this run asked of it
            try (Connection c = db()) {
                c.createStatement().execute("drop schema if exists bench_floor cascade");
            }
            // the same database, role and bucket Atelier uses
            cmd.add("-Druler.pg=" + services.get("quarkus.datasource.reactive.url"));
            cmd.add("-Druler.pg-user=" + services.get("quarkus.datasource.username"));
            cmd.add("-Druler.pg-password=" + services.get("quarkus.datasource.password"));
            cmd.add("-Druler.s3=" + services.get("quarkus.s3.endpoint-override"));
            cmd.add("-Druler.s3-bucket=" + services.get("atelier.s3.bucket"));
            cmd.add("-Druler.s3-region=" + services.get("quarkus.s3.aws.region"));
            cmd.add("-Druler.s3-access-key=" + services.get("quarkus.s3.aws.credentials.static-provider.access-key-id"));
            cmd.add("-Druler.s3-secret-key=" + services.get("quarkus.s3.aws.credentials.static-provider.secret-access-key"));
            if (server.equals(DESIGN_FLOOR)) {
                cmd.add("-Druler.redis=" + services.get("quarkus.redis.hosts"));
            }
        }
        // the test classpath as the build set it: surefire writes the real one into java.class.path
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Ruler.class.getName(), String.valueOf(port), sim));
        Server s = launch(name, cmd, port);
        awaitReady(s, s.url() + "/api/ready/status", false);
        return s;
    }

    /** The packaged jar, prod profile, as Instances starts it but with the shipped defaults: only what it needs to find the services. */
    private Server startAtelier(String name) throws Exception {
        int port = freePort();
        List<String> cmd = new ArrayList<>(List.of(javaBin()));
        cmd.addAll(jvm);
        services.forEach((k, v) -> {
            if (!k.startsWith("atelier-local")) {
                cmd.add("-D" + k + "=" + v);
            }
        });
        cmd.add("-Dquarkus.http.port=" + port);
        // health and metrics are on the management interface: a free port, not the shipped 9000
        int managementPort = freePort();
        cmd.add("-Dquarkus.management.port=" + managementPort);
        cmd.add("-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"));
        cmd.add("-Datelier.jobs.instance-id=" + name);
        cmd.add("-Datelier.admin-key=" + ADMIN_KEY);
        cmd.add("-Dquarkus.log.category.\"ai.atelier\".level=WARN");
        atelierExtra.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        cmd.add("-jar");
        cmd.add(Path.of("target", "quarkus-app", "quarkus-run.jar").toAbsolutePath().toString());
        Server s = launch(name, cmd, port);
        awaitReady(s, "http://localhost:" + managementPort + "/q/health/ready", true);
        return s.withKey(tenantKey(s));
    }

    private Server launch(String name, List<String> cmd, int port) throws IOException {
        Path log = Path.of("target", "bench-logs", name + ".log").toAbsolutePath();
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.to(log.toFile()));
        // the container image sets it; glibc's per-thread arenas would otherwise dominate RSS
        String arenas = System.getProperty("bench.malloc-arena-max", "2");
        if (!arenas.isBlank()) {
            pb.environment().put("MALLOC_ARENA_MAX", arenas);
        }
        Process p = pb.start();
        started.add(p);
        return new Server("http://localhost:" + port, p, log);
    }

    private static void awaitReady(Server s, String url, boolean need200) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (System.nanoTime() < deadline) {
            if (!s.process().isAlive()) {
                throw new IllegalStateException("the server exited: see " + s.log());
            }
            try {
                int status = http("GET", url, null).status();
                if (!need200 || status == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("the server was not ready after 90 s: see " + s.log());
    }

    private static void stop(Process p) throws InterruptedException {
        p.destroy();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    // ---- the simulator and the database ---------------------------------------------------------

    private void simSettings(long latencyMs) throws IOException {
        expect(http("PUT", sim + "/_sim/settings", "{\"queue_ms\":0,\"latency_ms\":" + latencyMs + "}"), 200);
        String pricing = System.getProperty("bench.sim-pricing", "");
        if (!pricing.isBlank()) {
            // an experiment's prices (PUT /_sim/pricing's body), e.g. a free model to see what a job's spend costs
            expect(http("PUT", sim + "/_sim/pricing", pricing), 200);
        }
    }

    private void clearJournal() throws IOException {
        expect(http("DELETE", sim + "/_sim/requests", null), 204);
    }

    private int falCount(String path) throws IOException {
        Answer a = expect(http("GET", sim + "/_sim/requests?method=POST&count=true&path=" + path, null), 200);
        Matcher m = Pattern.compile("\"count\"\\s*:\\s*(\\d+)").matcher(a.body());
        if (!m.find()) {
            throw new IllegalStateException("no count in " + a.body());
        }
        return Integer.parseInt(m.group(1));
    }

    /** The statements that took PostgreSQL the most time so far, into target/bench-logs/NAME-statements.txt. */
    private void topStatements(String name) {
        String sql = "select calls, round(total_exec_time::numeric, 1), round(mean_exec_time::numeric, 3), rows,"
                + " left(regexp_replace(query, '\\s+', ' ', 'g'), 300) from pg_stat_statements"
                + " where dbid = (select oid from pg_database where datname = current_database()) order by total_exec_time desc limit 20";
        try (Connection c = db(); ResultSet rs = c.createStatement().executeQuery(sql)) {
            StringBuilder out = new StringBuilder("calls | total ms | mean ms | rows | query\n");
            while (rs.next()) {
                out.append(rs.getLong(1)).append(" | ").append(rs.getBigDecimal(2)).append(" | ").append(rs.getBigDecimal(3)).append(" | ")
                        .append(rs.getLong(4)).append(" | ").append(rs.getString(5)).append('\n');
            }
            Files.writeString(Path.of("target", "bench-logs", name + "-statements.txt"), out);
        } catch (SQLException | IOException e) {
            System.out.println("no statement report: " + e.getMessage());
        }
    }

    /** Calls per Redis command so far (INFO commandstats), empty when Redis cannot be asked. */
    private Map<String, Long> redisCalls() {
        Map<String, Long> calls = new java.util.TreeMap<>();
        String[] hostPort = URI.create(services.get("quarkus.redis.hosts")).getAuthority().split(":");
        try (java.net.Socket socket = new java.net.Socket(hostPort[0], Integer.parseInt(hostPort[1]))) {
            socket.getOutputStream().write("INFO commandstats\r\n".getBytes(StandardCharsets.US_ASCII));
            var in = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
            int length = Integer.parseInt(in.readLine().substring(1)); // a bulk string: $<bytes>
            char[] body = new char[length];
            for (int read = 0; read < length;) {
                read += in.read(body, read, length - read);
            }
            Matcher m = Pattern.compile("cmdstat_([^:]+):calls=(\\d+)").matcher(new String(body));
            while (m.find()) {
                calls.put(m.group(1), Long.parseLong(m.group(2)));
            }
        } catch (IOException | RuntimeException e) {
            System.out.println("no Redis command counts: " + e.getMessage());
        }
        return calls;
    }

    /** Redis commands per job over the measured phase, into target/bench-logs/NAME-redis.txt: what each server asks of Redis. */
    private static void redisReport(String name, Map<String, Long> before, Map<String, Long> after, int jobs) {
        StringBuilder out = new StringBuilder("command | calls per job\n");
        after.forEach((command, calls) -> {
            long n = calls - before.getOrDefault(command, 0L);
            if (n > 0) {
                out.append(command).append(" | ").append(String.format(Locale.ROOT, "%.2f", n / (double) jobs)).append('\n');
            }
        });
        try {
            Files.writeString(Path.of("target", "bench-logs", name + "-redis.txt"), out);
        } catch (IOException e) {
            System.out.println("no Redis report: " + e.getMessage());
        }
    }

    /**
     * The database as every server finds it before its measured phase: vacuumed, analysed and checkpointed. The servers
     * run one after the other on one database, so without this each paid for the dead rows and the dirty pages of the
     * ones before it (autovacuum and a checkpoint's full-page writes landing in its phase or not): the same Atelier
     * build measured 3.3 and 5.0 ms per job at t2i-1000, with PostgreSQL's share moving from 1.7 to 2.5 ms.
     */
    private void settle() {
        // as the superuser: CHECKPOINT is not the app's to run
        try (Connection c = db(services.get("atelier-local.db-admin-user"), ""); var st = c.createStatement()) {
            st.execute("vacuum (analyze)");
            st.execute("checkpoint");
        } catch (SQLException e) {
            System.out.println("WARNING: the database was not settled before the measured phase: " + e.getMessage());
        }
    }

    /** Statements the app's database ran, all of them; null when pg_stat_statements is not there. */
    private Long pgCalls() {
        try (Connection c = db(); ResultSet rs = c.createStatement().executeQuery(
                "select coalesce(sum(calls), 0) from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())")) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            return null;
        }
    }

    private long floorSucceeded() throws SQLException {
        try (Connection c = db(); ResultSet rs = c.createStatement()
                .executeQuery("select count(*) from bench_floor.jobs where status = 'succeeded' and output_key is not null")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private long activeJobs() throws SQLException {
        try (Connection c = db(); ResultSet rs = c.createStatement().executeQuery("select count(*) from jobs where status in ('queued','running')")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private Connection db() throws SQLException {
        return db(services.get("quarkus.datasource.username"), services.get("quarkus.datasource.password"));
    }

    private Connection db(String user, String password) throws SQLException {
        return DriverManager.getConnection(services.get("quarkus.datasource.jdbc.url"), user, password);
    }

    record Answer(int status, String body) {
    }

    /** The harness's own few calls (settings, counts, readiness): plain JDK, kept off the load generator's loop. */
    private static Answer http(String method, String url, String body) throws IOException {
        HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
        c.setRequestMethod(method);
        c.setConnectTimeout(5000);
        c.setReadTimeout(30_000);
        if (body != null) {
            c.setDoOutput(true);
            c.setRequestProperty("Content-Type", "application/json");
            try (OutputStream out = c.getOutputStream()) {
                out.write(body.getBytes(StandardCharsets.UTF_8));
            }
        }
        int status = c.getResponseCode();
        try (InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream()) {
            return new Answer(status, in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    private static Answer expect(Answer a, int status) {
        if (a.status() != status) {
            throw new IllegalStateException("simulator answered " + a.status() + ": " + a.body());
        }
        return a;
    }

    // ---- /proc --------------------------------------------------------------------------------

    /** utime + stime of the whole process (all its threads), in clock ticks. */
    static long cpuTicks(long pid) throws IOException {
        return CpuParts.ticks(Path.of("/proc/" + pid + "/stat"));
    }

    /** Busy time of all CPUs (user, nice, system, irq, softirq, steal), in clock ticks. */
    static long machineTicks() throws IOException {
        String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
        long busy = 0;
        for (int i : new int[] { 1, 2, 3, 6, 7, 8 }) {
            busy += Long.parseLong(f[i]);
        }
        return busy;
    }

    /** A field of /proc/PID/status in kB (VmHWM, VmRSS). */
    static long procStatus(long pid, String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    private static long clockTicks() {
        try {
            Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
            return p.waitFor() == 0 ? Long.parseLong(out) : 100;
        } catch (Exception e) {
            return 100; // Linux's USER_HZ nearly everywhere
        }
    }

    // ---- scenarios and the report ------------------------------------------------------------

    static List<Scenario> scenarios() {
        List<Scenario> all = List.of(scenario("t2i-200", Mode.T2I, 2_000, 200, 1_000), scenario("i2i-100", Mode.I2I, 500, 100, 1_000),
                scenario("burst-5000", Mode.BURST, 5_000, 64, 30_000), scenario("t2i-1000", Mode.T2I, 10_000, 1_000, 1_000),
                scenario("batch-10000", Mode.BATCH, 10_000, 50, 1_000));
        String chosen = System.getProperty("bench.scenarios", "").trim();
        if (chosen.isEmpty() || chosen.equals("all")) {
            return all;
        }
        List<Scenario> out = new ArrayList<>();
        for (String name : split(chosen.replace(',', ' '))) {
            out.add(all.stream().filter(s -> s.name().equals(name)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("unknown scenario " + name + "; known: t2i-200, i2i-100, burst-5000, t2i-1000, batch-10000")));
        }
        return out;
    }

    /** A scenario whose sizes can be overridden: -Dbench.NAME.jobs, -Dbench.NAME.clients, -Dbench.NAME.latency-ms. */
    private static Scenario scenario(String name, Mode mode, int jobs, int clients, long latencyMs) {
        return new Scenario(name, mode, Integer.getInteger("bench." + name + ".jobs", jobs), Integer.getInteger("bench." + name + ".clients", clients),
                Long.getLong("bench." + name + ".latency-ms", latencyMs));
    }

    private String report(Map<Scenario, List<Result>> results, int size, int warmup, long warmupLatency, int reads, int readClients,
            long jobTimeoutMs) {
        StringBuilder md = new StringBuilder();
        md.append("# Atelier against the ruler and the floors\n\n");
        md.append("- date: ").append(ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)).append('\n');
        md.append("- machine: ").append(Runtime.getRuntime().availableProcessors()).append(" cores, ").append(System.getProperty("java.vm.name"))
                .append(' ').append(System.getProperty("java.version")).append(", clock ticks ").append(ticksPerSecond).append("/s\n");
        md.append("- JVM options of both servers: `").append(String.join(" ", jvm)).append("`, MALLOC_ARENA_MAX=")
                .append(System.getProperty("bench.malloc-arena-max", "2")).append('\n');
        md.append("- the benchmark's own JVM (simulator, S3 server, load generator): `")
                .append(String.join(" ", java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                        .filter(o -> o.startsWith("-X")).toList()))
                .append("`\n");
        md.append("- Atelier: the packaged jar, prod profile, shipped defaults but for its own log lines (`ai.atelier` at WARN: a job's INFO lines would fill the log file here)")
                .append(atelierExtra.isEmpty() ? "" : "; plus `" + atelierExtra + "`").append('\n');
        md.append("- ruler: `ai.atelier.bench.Ruler` (Vert.x, fal's sync endpoint, state in memory)\n");
        md.append("- floor: the ruler plus the least a server must do to lose neither an accepted job nor its output: an upload PUT to S3 "
                + "and the job's row INSERTed before the submit is answered, the output PUT to S3 and the row UPDATEd at the end (still "
                + "fal's sync endpoint, status from memory: a lower bound for any durable design)\n");
        md.append("- design-floor: the least a server built as issue 8 asks can do, in plain Vert.x: the floor's row and S3 work, with the "
                + "fal request id recorded (Atelier's 3 statements), fal's queue API (submit, status stream to its end, result), the output "
                + "URL presigned once, the live view in Redis (one batched HSET + PEXPIRE + PUBLISH per step: accepted, at fal, finished) "
                + "and every status read one Redis HGET\n");
        md.append(String.format("- load: seed 001's routes, %dx%d pictures, status polled every %d ms (each job's first read at its own offset within the first step), per-job timeout %d s; warm-up %d jobs "
                + "(fal latency %d ms) on each fresh process, then the database vacuumed, analysed and checkpointed (no server pays for the "
                + "dead rows and dirty pages of the one before it); status reads: %,d of finished jobs, %d in flight%n", size, size, LoadClient.POLL_MS,
                jobTimeoutMs / 1000, warmup, warmupLatency, reads, readClients));
        for (Scenario s : results.keySet()) {
            md.append("- ").append(s.describe()).append('\n');
        }
        for (Scenario s : batches.keySet()) {
            md.append("- ").append(s.describe()).append('\n');
        }
        if (!results.isEmpty()) {
            tables(md, results);
        }
        if (!batches.isEmpty()) {
            md.append("\n**A batch beside interactive work** (Atelier only): the interactive load alone, then again right after the batch "
                    + "was accepted, while its items run; fal's submits of the batch counted with `x-fal-queue-priority: low`.\n\n"
                    + "| scenario | batch items | accepted in | batch done in (items/s) | succeeded / failed | interactive alone: jobs/s, overhead p50 / p95 ms "
                    + "| interactive beside the batch: jobs/s, overhead p50 / p95 ms | batch items ended when that run ended | fal submits low / all "
                    + "| server CPU ms per job (batch + interactive) | PG statements per job |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
            for (Map.Entry<Scenario, BatchResult> e : batches.entrySet()) {
                BatchResult b = e.getValue();
                int interactive = b.alone().jobs();
                md.append(String.format(Locale.ROOT, "| %s | %,d | %.2f s (HTTP %d) | %.0f s (%.0f) | %,d / %d | %s, %s | %s, %s | %,d | %,d / %,d | %.2f | %s |%n",
                        e.getKey().name(), b.items(), b.acceptSeconds(), b.acceptStatus(), b.batchSeconds(), b.items() / b.batchSeconds(), b.succeeded(),
                        b.failed(), num(b.alone().jobsPerSecond(), "%.0f"), overheads(b.alone()), num(b.beside().jobsPerSecond(), "%.0f"),
                        overheads(b.beside()), b.itemsEndedWhenBesideEnded(), b.lowPriorityAtFal(), b.falSubmits(),
                        b.cpuSeconds() * 1000 / (b.items() + interactive), num(b.pgStatementsPerItem(), "%.1f")));
            }
        }
        md.append("""

                overhead: the client's end-to-end time (submit sent → the status read that saw `completed`) minus fal's latency; it \
                includes the 200 ms polling step (about 100 ms on average), the same for every server (the first read of each job at its own offset, spread over the step), so differences are the servers'. \
                jobs/s: completed jobs ÷ (first submit → last completion). CPU: utime + stime of the server process over the measured \
                phase (for a burst: until fal had every submit), per job submitted; machine CPU is all cores' busy time over the same \
                phase (simulator, load generator, PostgreSQL, Redis and S3 included, and anything else running). Peak RSS: VmHWM, warm-up \
                included. PG statements: `calls` in pg_stat_statements for the app's database over the measured phase. \
                Where the CPU went: utime + stime from /proc over the same phase, per process (PostgreSQL: all its processes) and, \
                in the benchmark's own JVM, per thread (S3Proxy's Jetty pool, the simulator's Vert.x threads, the load generator's \
                event loop, JIT and GC); kernel is the machine's busy time no process accounts for. A burst counts \
                fal's received submits (`POST /queue/...` for Atelier and the design floor, `POST /run/...` for the ruler and the floor) every 100 ms.
                """);
        return md.toString();
    }

    /** The servers' table with its ratios, and where the machine's CPU went. */
    private static void tables(StringBuilder md, Map<Scenario, List<Result>> results) {
        md.append("\n| scenario | server | jobs/s | submits/s | submit p50 / p95 ms | overhead p50 / p95 ms | all at fal after last submit "
                + "| done / failed / timed out | server CPU s | CPU ms/job | machine CPU s | peak RSS MiB | status reads/job | PG statements/job "
                + "| CPU µs/status read |\n");
        md.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Map.Entry<Scenario, List<Result>> e : results.entrySet()) {
            Map<String, Result> byServer = new LinkedHashMap<>();
            for (Result r : e.getValue()) {
                md.append(String.format("| %s | %s | %s | %s | %.0f / %.0f | %s | %s | %,d / %d / %d | %.1f | %.2f | %.1f | %d | %s | %s | %s |%n",
                        e.getKey().name(), r.server(), num(r.jobsPerSecond(), "%.0f"), num(r.submitsPerSecond(), "%.0f"), r.submitP50Ms(),
                        r.submitP95Ms(), r.overheadP50Ms() == null ? "—" : String.format("%.0f / %.0f", r.overheadP50Ms(), r.overheadP95Ms()),
                        r.atFalAfterLastSubmitS() == null ? "—"
                                : String.format("%.1f s (%.1f s after the first)", r.atFalAfterLastSubmitS(), r.atFalAfterFirstSubmitS()),
                        r.completed(), r.failed(), r.timedOut(), r.cpuSeconds(), r.cpuMsPerJob(), r.machineCpuSeconds(), r.peakRssKb() / 1024,
                        num(r.readsPerJob(), "%.1f"), !r.server().equals(RULER) ? (r.pgAvailable() ? num(r.pgStatementsPerJob(), "%.1f") : "n/a") : "—",
                        num(r.cpuMicrosPerRead(), "%.0f")));
                byServer.put(r.server(), r);
            }
            Result ruler = byServer.get(RULER);
            for (String server : List.of(FLOOR, DESIGN_FLOOR, ATELIER)) {
                if (ruler != null && byServer.containsKey(server)) {
                    md.append(ratioRow(e.getKey(), server + " ÷ ruler", byServer.get(server), ruler));
                }
            }
            if (byServer.containsKey(DESIGN_FLOOR) && byServer.containsKey(ATELIER)) {
                md.append(ratioRow(e.getKey(), "Atelier ÷ design-floor", byServer.get(ATELIER), byServer.get(DESIGN_FLOOR)));
            }
        }
        md.append("\n**Where the machine's CPU went**, ms per job over the measured phase (all processes share the same cores):\n\n| scenario | server | ");
        md.append(String.join(" | ", CpuParts.ORDER.stream().map(p -> p.equals(CpuParts.SERVER) ? "the server" : p).toList())).append(" | total |\n|---|---|");
        md.append("---|".repeat(CpuParts.ORDER.size() + 1)).append('\n');
        for (Map.Entry<Scenario, List<Result>> e : results.entrySet()) {
            for (Result r : e.getValue()) {
                md.append("| ").append(e.getKey().name()).append(" | ").append(r.server()).append(" |");
                double total = 0;
                for (String part : CpuParts.ORDER) {
                    double ms = r.cpuByPart().getOrDefault(part, 0.0) * 1000 / r.jobs();
                    total += ms;
                    md.append(String.format(Locale.ROOT, " %.2f |", ms));
                }
                md.append(String.format(Locale.ROOT, " %.2f |%n", total));
            }
        }
    }

    /** {@code a} against {@code b}: throughput and costs as ratios, latencies as differences. */
    private static String ratioRow(Scenario s, String label, Result a, Result b) {
        return String.format("| %s | **%s** | %s | %s | %s | %s | %s | | %s | %s | %s | %s | | | %s |%n", s.name(), label,
                ratio(a.jobsPerSecond(), b.jobsPerSecond()), ratio(a.submitsPerSecond(), b.submitsPerSecond()),
                String.format("%+.0f / %+.0f ms", a.submitP50Ms() - b.submitP50Ms(), a.submitP95Ms() - b.submitP95Ms()),
                a.overheadP50Ms() == null || b.overheadP50Ms() == null ? "—"
                        : String.format("%+.0f / %+.0f ms", a.overheadP50Ms() - b.overheadP50Ms(), a.overheadP95Ms() - b.overheadP95Ms()),
                a.atFalAfterLastSubmitS() == null || b.atFalAfterLastSubmitS() == null ? "—"
                        : String.format("%+.1f s", a.atFalAfterLastSubmitS() - b.atFalAfterLastSubmitS()),
                ratio(a.cpuSeconds(), b.cpuSeconds()), ratio(a.cpuMsPerJob(), b.cpuMsPerJob()), ratio(a.machineCpuSeconds(), b.machineCpuSeconds()),
                ratio((double) a.peakRssKb(), (double) b.peakRssKb()), ratio(a.cpuMicrosPerRead(), b.cpuMicrosPerRead()));
    }

    private static String overheads(Result r) {
        return r.overheadP50Ms() == null ? "—" : String.format(Locale.ROOT, "%.0f / %.0f", r.overheadP50Ms(), r.overheadP95Ms());
    }

    private static String num(Double v, String format) {
        return v == null ? "—" : String.format(Locale.ROOT, format, v);
    }

    private static String ratio(Double a, Double b) {
        return a == null || b == null || b == 0 ? "—" : String.format(Locale.ROOT, "×%.2f", a / b);
    }

    // ---- small helpers ------------------------------------------------------------------------

    private static Double perJob(Long before, Long after, int jobs) {
        return before == null || after == null ? null : (after - before) / (double) jobs;
    }

    /** Nearest-rank percentile of a sorted array. */
    static long pct(long[] sorted, int p) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }

    private static List<String> split(String s) {
        List<String> out = new ArrayList<>(Arrays.asList(s.trim().split("\\s+")));
        out.removeIf(String::isEmpty);
        return out;
    }

    /** "k=v,k=v" into an ordered map; the value is everything after the first '='. */
    private static Map<String, String> pairs(String s) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String pair : s.split(",")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                out.put(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
            }
        }
        return out;
    }

    private static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
