package ai.atelier.bench;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where the machine's CPU went during a measured phase, by part: the server under test, PostgreSQL,
 * Redis, and inside the benchmark's own JVM the S3 server, the fal simulator and the load generator
 * (told apart by thread), read from {@code /proc}. Everything shares the same two cores, so a server
 * that makes its stores work harder slows itself down through them; this shows by how much. A process
 * that ends within the phase is not counted (PostgreSQL's backends live as long as the server's pool).
 */
final class CpuParts {

    static final String SERVER = "server";
    static final String POSTGRES = "PostgreSQL";
    static final String REDIS = "Redis";
    static final String S3 = "S3 server";
    static final String SIMULATOR = "fal simulator";
    static final String LOAD = "load generator";
    static final String BENCH_JIT = "benchmark JVM, JIT";
    static final String BENCH_GC = "benchmark JVM, GC";
    static final String BENCH_REST = "benchmark JVM, rest";
    static final String OTHER = "other processes";
    static final String KERNEL = "kernel, unattributed";
    /** The parts in the order the report shows them. */
    static final List<String> ORDER = List.of(SERVER, POSTGRES, REDIS, S3, SIMULATOR, LOAD, BENCH_JIT, BENCH_GC, BENCH_REST, OTHER, KERNEL);

    private static final long SELF = ProcessHandle.current().pid();

    private final long server;
    private final Set<Long> loadThreads;

    /** @param loadThreads the Linux thread ids of the load generator's event loop ({@link LoadClient#threadIds()}) */
    CpuParts(long server, Set<Long> loadThreads) {
        this.server = server;
        this.loadThreads = loadThreads;
    }

    /** Clock ticks by part now; {@link #KERNEL} holds the machine's busy ticks until {@link #between} subtracts the rest. */
    Map<String, Long> snapshot() throws IOException {
        Map<String, Long> ticks = new LinkedHashMap<>();
        ORDER.forEach(p -> ticks.put(p, 0L));
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), p -> p.getFileName().toString().matches("\\d+"))) {
            for (Path proc : procs) {
                long pid = Long.parseLong(proc.getFileName().toString());
                try {
                    if (pid == SELF) {
                        benchmarkThreads(proc, ticks);
                        continue;
                    }
                    String[] stat = stat(proc.resolve("stat"));
                    String part = pid == server ? SERVER : stat[0].equals("postgres") ? POSTGRES : stat[0].startsWith("redis-server") ? REDIS : OTHER;
                    ticks.merge(part, ticks(stat), Long::sum);
                } catch (IOException | RuntimeException e) {
                    // the process ended while it was read
                }
            }
        }
        ticks.put(KERNEL, EngineBenchmark.machineTicks());
        return ticks;
    }

    /** Seconds by part between two snapshots; the kernel's share is the machine's busy time no process accounts for. */
    static Map<String, Double> between(Map<String, Long> before, Map<String, Long> after, long ticksPerSecond) {
        Map<String, Double> seconds = new LinkedHashMap<>();
        long accounted = 0;
        for (String part : ORDER) {
            if (part.equals(KERNEL)) {
                continue;
            }
            long d = Math.max(0, after.get(part) - before.get(part));
            accounted += d;
            seconds.put(part, d / (double) ticksPerSecond);
        }
        long machine = after.get(KERNEL) - before.get(KERNEL);
        seconds.put(KERNEL, Math.max(0, machine - accounted) / (double) ticksPerSecond);
        return seconds;
    }

    private void benchmarkThreads(Path proc, Map<String, Long> ticks) throws IOException {
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(proc.resolve("task"))) {
            for (Path task : tasks) {
                try {
                    long tid = Long.parseLong(task.getFileName().toString());
                    String[] stat = stat(task.resolve("stat"));
                    String name = stat[0];
                    // S3Proxy serves from Jetty's pool (qtp…); the simulator runs on its own Vert.x instance's event loops,
                    // and paints its pictures on that instance's workers (the load generator's one worker stays idle)
                    String part = loadThreads.contains(tid) ? LOAD
                            : name.startsWith("qtp") || name.startsWith("S3Proxy") ? S3
                                    : name.startsWith("vert.x-eventloo") || name.startsWith("vert.x-worker") ? SIMULATOR
                                            : name.contains("CompilerThre") ? BENCH_JIT
                                                    : name.startsWith("GC Thread") || name.startsWith("G1 ") || name.equals("VM Thread") ? BENCH_GC
                                                            : BENCH_REST;
                    ticks.merge(part, ticks(stat), Long::sum);
                } catch (IOException | RuntimeException e) {
                    // the thread ended while it was read
                }
            }
        }
    }

    /** The command name, then the fields after it (proc(5): field 3 onwards); the name may hold spaces and parentheses. */
    private static String[] stat(Path file) throws IOException {
        String s = Files.readString(file);
        int open = s.indexOf('(');
        int close = s.lastIndexOf(')');
        String[] rest = s.substring(close + 2).trim().split(" ");
        String[] out = new String[rest.length + 1];
        out[0] = s.substring(open + 1, close);
        System.arraycopy(rest, 0, out, 1, rest.length);
        return out;
    }

    /** utime + stime of the process or thread whose stat file this is. */
    static long ticks(Path statFile) throws IOException {
        return ticks(stat(statFile));
    }

    /** utime + stime (fields 14 and 15). */
    private static long ticks(String[] stat) {
        return Long.parseLong(stat[12]) + Long.parseLong(stat[13]);
    }
}
