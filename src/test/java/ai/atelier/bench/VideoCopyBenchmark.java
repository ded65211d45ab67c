package ai.atelier.bench;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import ai.atelier.storage.ObjectStore;
import ai.atelier.storage.VideoCopier;
import ai.atelier.support.Simulator;
import io.netty.buffer.PooledByteBufAllocator;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.smallrye.mutiny.Uni;
import software.amazon.awssdk.services.s3.S3AsyncClient;

/**
 * Many large clips copied at once from fal (the simulator) into S3 by {@link VideoCopier}, in a JVM with the container
 * image's memory options: peak RSS, heap, and direct buffers while the copies run. Not a test (no timing is asserted,
 * the name does not end in Test); it fails only if a copy fails or the JVM is not run with the image's options.
 *
 * <p>The JVM measured holds more than an instance would: the Quarkus application with every bean, and beside it, in
 * the same heap and process, the fal simulator serving the files and the S3 server (S3Proxy, its store on disk,
 * {@code atelier-local.s3-on-disk}) receiving the parts and joining them, plus JUnit and RestAssured. So its figures
 * bound an instance's from above. Run (with the image's options from src/main/docker/Dockerfile.jvm):
 * <pre>
 * MALLOC_ARENA_MAX=2 ./mvnw -Pbench surefire:test -Dtest=VideoCopyBenchmark -Datelier-local.s3-on-disk=true \
 *   -Dtest.jvm-options="-Xmx192m -Xmn32m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=64m -Xss512k" \
 *   [-Dbench.copies=20] [-Dbench.mb=100]
 * </pre>
 * Writes the figures to {@code target/video-copy-benchmark.md}.
 */
@QuarkusTest
public class VideoCopyBenchmark {

    @Inject
    VideoCopier copier;

    @Inject
    S3AsyncClient s3;

    @Inject
    ObjectStore store;

    @Test
    void run() throws Exception {
        int copies = Integer.getInteger("bench.copies", 20);
        long bytes = Long.getLong("bench.mb", 100) * 1024 * 1024;
        List<String> args = ManagementFactory.getRuntimeMXBean().getInputArguments();
        List<String> image = Arrays.asList(EngineBenchmark.imageJvmOptions().split("\\s+"));
        if (!Boolean.getBoolean("bench.any-jvm")) {
            assertThat(args).as("run with -Dtest.jvm-options=\"%s\" (the image's options; -Dbench.any-jvm=true to measure another JVM)",
                    String.join(" ", image)).containsAll(image);
        }
        assertThat(Boolean.getBoolean("atelier-local.s3-on-disk")).as("-Datelier-local.s3-on-disk=true: the S3 server must not keep "
                + copies + " clips in this heap").isTrue();
        Simulator.reset();
        Simulator.settings(0, 20);
        given().baseUri(Simulator.url()).contentType(ContentType.JSON).body(Map.of("video_bytes", bytes)).put("/_sim/settings").then()
                .statusCode(200);

        // warm-up: one copy, so the JIT and the pools have seen the path
        copyAll(List.of(clip()));
        System.gc();
        Sample idle = Sample.now();
        resetPeaks();

        List<JsonPath> files = new ArrayList<>();
        for (int i = 0; i < copies; i++) {
            files.add(clip());
        }
        Peaks peaks = new Peaks();
        Thread sampler = new Thread(peaks, "memory-sampler");
        sampler.setDaemon(true);
        sampler.start();
        long t0 = System.nanoTime();
        List<VideoCopier.Copied> copied = copyAll(files);
        double seconds = (System.nanoTime() - t0) / 1e9;
        peaks.stop.set(true);
        sampler.join();
        long vmHwm = Sample.status("VmHWM");
        System.gc();
        Sample after = Sample.now();

        assertThat(copied).hasSize(copies).allSatisfy(c -> assertThat(c.bytes()).isEqualTo(bytes));
        for (VideoCopier.Copied c : copied) {
            assertThat(s3.headObject(b -> b.bucket(store.bucket()).key(c.key())).join().contentLength()).isEqualTo(bytes);
            s3.deleteObject(b -> b.bucket(store.bucket()).key(c.key())).join();
        }
        long oldGenPeak = ManagementFactory.getMemoryPoolMXBeans().stream().filter(p -> p.getType() == MemoryType.HEAP)
                .filter(p -> p.getName().contains("Tenured") || p.getName().contains("Old")).mapToLong(p -> p.getPeakUsage().getUsed()).sum();
        String report = String.format("""
                ## %d clips of %d MiB copied at once (%s)

                JVM: `%s`, MALLOC_ARENA_MAX=%s. One process holds the application, the fal simulator and the S3 server.

                | | idle (after one copy, GC) | peak while copying | after (GC) |
                |---|---|---|---|
                | RSS | %d MiB | %d MiB (VmHWM %d MiB) | %d MiB |
                | heap used | %d MiB | %d MiB (old generation peak %d MiB) | %d MiB |
                | JDK direct buffers | %d MiB | %d MiB | %d MiB |
                | Netty pooled direct | %d MiB | %d MiB | %d MiB |

                %d × %d MiB = %.1f GiB in %.1f s (%.0f MiB/s through the one process, both ends on this machine).
                """, copies, bytes >> 20, ZonedDateTime.now(), String.join(" ", args.stream().filter(a -> a.startsWith("-X")).toList()),
                System.getenv().getOrDefault("MALLOC_ARENA_MAX", "unset"), mib(idle.rss), mib(peaks.rss.get()), mib(vmHwm * 1024), mib(after.rss),
                mib(idle.heap), mib(peaks.heap.get()), mib(oldGenPeak), mib(after.heap), mib(idle.direct), mib(peaks.direct.get()), mib(after.direct),
                mib(idle.netty), mib(peaks.netty.get()), mib(after.netty), copies, bytes >> 20, copies * bytes / (double) (1L << 30), seconds,
                copies * (bytes >> 20) / seconds);
        System.out.println(report);
        Files.writeString(Path.of("target/video-copy-benchmark.md"), report);
    }

    private JsonPath clip() {
        String id = given().baseUri(Simulator.url()).contentType(ContentType.JSON)
                .body(Map.of("prompt", "a red bicycle", "duration", "8s", "generate_audio", true)).post("/queue/fal-ai/veo3.1/fast").then()
                .statusCode(200).extract().path("request_id");
        String base = "/queue/fal-ai/veo3.1/requests/" + id;
        await().atMost(Duration.ofSeconds(10)).until(() -> given().baseUri(Simulator.url()).get(base + "/status").statusCode() == 200);
        return given().baseUri(Simulator.url()).get(base).then().statusCode(200).extract().jsonPath().setRootPath("video");
    }

    private List<VideoCopier.Copied> copyAll(List<JsonPath> files) {
        List<Uni<VideoCopier.Copied>> all = files.stream().map(f -> copier.copy(f.getString("url"), f.getLong("file_size"),
                "bench/video-copy/" + UUID.randomUUID() + ".mp4")).toList();
        return Uni.join().all(all).andFailFast().await().atMost(Duration.ofMinutes(15));
    }

    private static void resetPeaks() {
        ManagementFactory.getMemoryPoolMXBeans().forEach(MemoryPoolMXBean::resetPeakUsage);
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5"); // resets VmHWM to the current RSS (Linux)
        } catch (IOException e) {
            System.out.println("VmHWM could not be reset: it counts from the start of the JVM");
        }
    }

    private static long mib(long bytes) {
        return bytes >> 20;
    }

    /** One reading of the process's memory. */
    record Sample(long rss, long heap, long direct, long netty) {

        static Sample now() {
            return new Sample(status("VmRSS") * 1024, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed(), directBuffers(),
                    PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory());
        }

        static long directBuffers() {
            return ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream().filter(b -> b.getName().equals("direct"))
                    .mapToLong(BufferPoolMXBean::getMemoryUsed).sum();
        }

        /** A line of /proc/self/status in kB. */
        static long status(String field) {
            try {
                return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith(field + ":"))
                        .mapToLong(l -> Long.parseLong(l.replaceAll("\\D", ""))).findFirst().orElse(-1);
            } catch (IOException e) {
                return -1;
            }
        }
    }

    /** The largest readings while the copies run, every 50 ms. */
    static final class Peaks implements Runnable {
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicLong rss = new AtomicLong();
        final AtomicLong heap = new AtomicLong();
        final AtomicLong direct = new AtomicLong();
        final AtomicLong netty = new AtomicLong();

        @Override
        public void run() {
            while (!stop.get()) {
                Sample s = Sample.now();
                rss.accumulateAndGet(s.rss(), Math::max);
                heap.accumulateAndGet(s.heap(), Math::max);
                direct.accumulateAndGet(s.direct(), Math::max);
                netty.accumulateAndGet(s.netty(), Math::max);
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }
}
