package ai.atelier.it;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * How fast the packaged application starts and how much memory it holds idle, in JVM mode: the time from the
 * {@code java} command to the first 200 of {@code /q/health/ready} (PostgreSQL reachable, Flyway done), Quarkus's own
 * "started in" figure, and the RSS after it has sat idle. The README's JVM figures come from here; a native binary
 * cannot be built on this machine, so its figures are not measured. Not part of the suite; run after packaging:
 * {@code ./mvnw package -DskipTests && MALLOC_ARENA_MAX=2 ./mvnw -Pbench surefire:test -Dtest=StartupBenchmark}
 * ({@code -Dbench.starts=5}, {@code -Dbench.idle-seconds=30}). The instance runs with the container image's JVM options
 * unless {@code -Dbench.jvm-args="…"} says otherwise; the servers are started once, so every start after the first
 * finds the schema migrated.
 */
class StartupBenchmark {

    private static final Pattern STARTED = Pattern.compile("started in ([0-9.]+)s");

    @Test
    void run() throws Exception {
        int starts = Integer.getInteger("bench.starts", 5);
        int idleSeconds = Integer.getInteger("bench.idle-seconds", 30);
        List<String> jvm = new ArrayList<>(List.of(System.getProperty("bench.jvm-args", ai.atelier.bench.EngineBenchmark.imageJvmOptions())
                .trim().split("\\s+")));
        jvm.removeIf(String::isEmpty);
        List<Double> ready = new ArrayList<>();
        List<Double> quarkus = new ArrayList<>();
        List<Long> rss = new ArrayList<>();
        try (Instances instances = new Instances()) {
            for (int i = 0; i < starts; i++) {
                String name = "startup-" + i;
                Path log = Path.of("target", "it-logs", name + ".log");
                Files.deleteIfExists(log);
                long t0 = System.nanoTime();
                Instances.Instance atelier = instances.start(name, Map.of("quarkus.log.category.\"ai.atelier\".level", "WARN"), jvm,
                        Duration.ofMillis(10));
                ready.add((System.nanoTime() - t0) / 1e9);
                Thread.sleep(idleSeconds * 1000L); // idle: no request but the benchmark's own readiness probes before it
                rss.add(status(atelier.process().pid(), "VmRSS"));
                Matcher m = STARTED.matcher(Files.readString(log));
                quarkus.add(m.find() ? Double.parseDouble(m.group(1)) : Double.NaN);
                atelier.process().destroy();
                atelier.process().waitFor();
            }
        }
        String report = String.format("""
                Atelier start-up in JVM mode (packaged jar, own process%s), %d starts
                  command to ready     median %.2f s (%s)
                  Quarkus "started in" median %.2f s (%s)
                  RSS idle after %d s  median %d MiB (%s)
                """, jvm.isEmpty() ? "" : ", " + String.join(" ", jvm), starts, median(ready), seconds(ready), median(quarkus), seconds(quarkus),
                idleSeconds, (long) median(rss.stream().map(k -> k / 1024.0).toList()), mib(rss));
        System.out.println(report);
        Files.writeString(Path.of("target", "startup-benchmark.txt"), report);
    }

    private static double median(List<? extends Number> values) {
        double[] sorted = values.stream().mapToDouble(Number::doubleValue).sorted().toArray();
        return sorted.length % 2 == 1 ? sorted[sorted.length / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    }

    private static String seconds(List<Double> values) {
        return String.join(", ", values.stream().map(v -> String.format("%.2f", v)).toList());
    }

    private static String mib(List<Long> kib) {
        return String.join(", ", kib.stream().map(k -> String.valueOf(k / 1024)).toList());
    }

    /** A field of /proc/PID/status, in kB. */
    private static long status(long pid, String field) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no " + field + " in /proc/" + pid + "/status: " + Arrays.toString(new String[] { field }));
    }
}
