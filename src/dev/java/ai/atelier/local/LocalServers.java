package ai.atelier.local;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;
import org.gaul.s3proxy.nio2blob.TransientNio2BlobStore;
import org.jboss.logging.Logger;

import ai.atelier.simulator.FalSimulator;
import redis.embedded.RedisServer;

/**
 * Starts the embedded servers. Kept apart from {@link LocalServices} because it names classes of the
 * optional dependencies, which the packaged application does not contain: loading this class in
 * production would fail, so only the dev and test profiles ever touch it.
 */
public final class LocalServers {

    private static final Logger LOG = Logger.getLogger(LocalServers.class);
    private static final String ACCESS_KEY = "atelier-local";
    private static final String SECRET_KEY = "atelier-local-secret";

    private LocalServers() {
    }

    public static Map<String, String> start(boolean dev) throws Exception {
        Path root = dev ? Path.of(System.getProperty("atelier-local.dir", ".atelier")).toAbsolutePath()
                : Files.createTempDirectory("atelier-test-");
        Files.createDirectories(root);
        long t0 = System.nanoTime();
        Map<String, String> config = new LinkedHashMap<>();

        // stopped in one hook, in order (hooks run concurrently), then a test's folder goes: nothing left in /tmp
        java.util.Deque<Runnable> stops = new java.util.ArrayDeque<>();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stops.forEach(LocalServers::quietly);
            if (!dev) {
                deleteTree(root);
            }
        }, "atelier-local-services-stop"));
        // the binaries outlive a run: dev mode keeps them beside its state in .atelier/, the tests in the temp folder
        // (target/tmp under Maven, see pom.xml), each reused by every later start
        Path binaries = dev ? root : Path.of(System.getProperty("java.io.tmpdir"), "atelier-postgres");
        EmbeddedPostgres pg = EmbeddedPostgres.start(binaries, root.resolve("postgres"), freePort(), dev);
        stops.push(pg::close);
        config.put("quarkus.datasource.reactive.url", "postgresql://127.0.0.1:" + pg.port() + "/atelier");
        config.put("quarkus.datasource.jdbc.url", "jdbc:postgresql://127.0.0.1:" + pg.port() + "/atelier");
        config.put("quarkus.datasource.username", pg.appUser);
        config.put("quarkus.datasource.password", pg.appUser);
        // tests read (and count) beside the application as the superuser, so their own statements are not the app's
        config.put("atelier-local.db-admin-user", "postgres");

        int redisPort = freePort();
        Path redisDir = Files.createDirectories(root.resolve("redis"));
        RedisServer redis = RedisServer.builder().port(redisPort).setting("bind 127.0.0.1")
                .setting("dir " + redisDir).setting(dev ? "save 60 1" : "save \"\"").setting("appendonly no").build();
        redis.start();
        stops.push(redis::stop);
        config.put("quarkus.redis.hosts", "redis://127.0.0.1:" + redisPort);

        // tests keep files in memory; a benchmark that copies gigabytes keeps them on disk (atelier-local.s3-on-disk=true)
        boolean onDisk = dev || Boolean.getBoolean("atelier-local.s3-on-disk");
        BlobStore store = onDisk ? new FilesystemNio2BlobStore(Files.createDirectories(root.resolve("s3")).toString())
                : new TransientNio2BlobStore();
        // dev keeps its S3 port across restarts, so presigned URLs handed out before a restart still work
        S3Proxy[] s3 = { startS3(store, dev ? remembered(root.resolve("s3.port")) : 0) };
        int s3Port = s3[0].getPort();
        if (dev) {
            Files.writeString(root.resolve("s3.port"), Integer.toString(s3Port));
        }
        stops.push(() -> stopS3(s3[0]));
        String bucket = System.getenv().getOrDefault("ATELIER_S3_BUCKET", "atelier");
        if (!store.containerExists(bucket)) {
            store.createContainer(bucket);
        }
        config.put("quarkus.s3.endpoint-override", "http://localhost:" + s3Port);
        config.put("quarkus.s3.path-style-access", "true");
        config.put("quarkus.s3.aws.region", "us-east-1");
        config.put("quarkus.s3.aws.credentials.type", "static");
        config.put("quarkus.s3.aws.credentials.static-provider.access-key-id", ACCESS_KEY);
        config.put("quarkus.s3.aws.credentials.static-provider.secret-access-key", SECRET_KEY);
        config.put("atelier.s3.bucket", bucket);

        String falKey = System.getenv("FAL_KEY");
        if (falKey == null || falKey.isBlank()) {
            FalSimulator sim = FalSimulator.start(0);
            stops.push(sim::close);
            config.put("atelier.fal.queue-url", sim.baseUrl() + "/queue");
            config.put("atelier.fal.run-url", sim.baseUrl() + "/run");
            config.put("atelier.fal.rest-url", sim.baseUrl() + "/rest");
            config.put("atelier.fal.api-url", sim.baseUrl() + "/platform");
            config.put("atelier.fal.jwks-url", sim.baseUrl() + "/rest/.well-known/jwks.json");
            config.put("atelier-local.simulator-url", sim.baseUrl());
            // outage tests stop and start the servers under a running application, over the simulator's test API
            sim.localControl("s3-stop", () -> stopS3(s3[0]));
            sim.localControl("s3-start", () -> s3[0] = startS3(store, s3Port));
            sim.localControl("redis-stop", redis::stop);
            sim.localControl("redis-start", redis::start);
        }
        if (dev) {
            // where the servers are, for a newcomer's curl calls (the README points here)
            Files.writeString(root.resolve("services.properties"), "# written by quarkus:dev at every start\n"
                    + "postgresql=" + config.get("quarkus.datasource.reactive.url") + "\nredis=" + config.get("quarkus.redis.hosts")
                    + "\ns3=http://localhost:" + s3Port + "\nfal-simulator=" + config.getOrDefault("atelier-local.simulator-url", "") + "\n");
        }
        LOG.infof("Local services up in %d ms (state in %s): PostgreSQL :%d, Redis :%d, S3 :%d, fal %s",
                (System.nanoTime() - t0) / 1_000_000, root, pg.port(), redisPort, s3Port,
                config.getOrDefault("atelier-local.simulator-url", "fal.ai (FAL_KEY set)"));
        return config;
    }

    /** The port this file remembers, when it is free again; else any free port (0). */
    private static int remembered(Path file) {
        try {
            int port = Integer.parseInt(Files.readString(file).strip());
            try (java.net.ServerSocket probe = new java.net.ServerSocket(port, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
                return port;
            }
        } catch (Exception noneOrTaken) {
            return 0;
        }
    }

    private static void quietly(Runnable stop) {
        try {
            stop.run();
        } catch (RuntimeException e) {
            LOG.debugf("stopping a local server: %s", e.getMessage());
        }
    }

    private static void deleteTree(Path root) {
        try (var paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (Exception e) {
            LOG.debugf("could not delete %s: %s", root, e.getMessage());
        }
    }

    private static S3Proxy startS3(BlobStore store, int port) {
        try {
            S3Proxy s3 = S3Proxy.builder().blobStore(store).endpoint(URI.create("http://127.0.0.1:" + port))
                    .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY).build();
            s3.start();
            while (!"STARTED".equals(s3.getState())) {
                Thread.sleep(10);
            }
            return s3;
        } catch (Exception e) {
            throw new IllegalStateException("S3 server did not start", e);
        }
    }

    private static void stopS3(S3Proxy s3) {
        try {
            s3.stop();
        } catch (Exception ignored) {
            // stopped already, or the JVM is going away
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        }
    }
}
