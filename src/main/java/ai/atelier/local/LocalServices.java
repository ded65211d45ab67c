package ai.atelier.local;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Properties;

import org.eclipse.microprofile.config.spi.ConfigSource;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;
import org.gaul.s3proxy.nio2blob.TransientNio2BlobStore;
import org.jboss.logging.Logger;

import ai.atelier.simulator.FalSimulator;
import io.smallrye.config.ConfigSourceContext;
import io.smallrye.config.ConfigSourceFactory;
import io.smallrye.config.common.MapBackedConfigSource;
import redis.embedded.RedisServer;

/**
 * Starts real PostgreSQL, Redis, an S3-compatible server and the fal simulator for the {@code dev}
 * and {@code test} profiles, on free ports, and hands their addresses to Quarkus as configuration.
 * This is what Dev Services would do if this machine had Docker. The {@code prod} profile never
 * reaches it, and the packaged application does not even contain the embedded servers
 * (they are optional dependencies, filtered out of the package).
 *
 * <p>Quarkus may ask for configuration several times per JVM (build, run, every dev-mode reload, each
 * test profile), from different class loaders; the servers are started once per JVM and their
 * addresses kept in a system property.
 */
public final class LocalServices implements ConfigSourceFactory {

    static final String STATE = "atelier-local.state";
    private static final Logger LOG = Logger.getLogger(LocalServices.class);
    private static final String ACCESS_KEY = "atelier-local";
    private static final String SECRET_KEY = "atelier-local-secret";

    @Override
    public Iterable<ConfigSource> getConfigSources(ConfigSourceContext context) {
        List<String> profiles = context.getProfiles();
        boolean dev = profiles.contains("dev");
        boolean test = profiles.contains("test");
        if (!(dev || test) || "false".equalsIgnoreCase(System.getenv("ATELIER_LOCAL_SERVICES"))
                || "false".equalsIgnoreCase(System.getProperty("atelier-local.enabled"))) {
            return List.of();
        }
        return List.of(new MapBackedConfigSource("atelier-local-services", startOnce(dev), 275) {
        });
    }

    @Override
    public OptionalInt getPriority() {
        return OptionalInt.of(275);
    }

    private static synchronized Map<String, String> startOnce(boolean dev) {
        String state = System.getProperty(STATE);
        if (state == null) {
            try {
                Map<String, String> config = start(dev);
                StringWriter out = new StringWriter();
                Properties props = new Properties();
                props.putAll(config);
                props.store(out, null);
                System.setProperty(STATE, out.toString());
                return config;
            } catch (Exception e) {
                throw new IllegalStateException("Could not start the local services: " + e.getMessage(), e);
            }
        }
        try {
            Properties props = new Properties();
            props.load(new StringReader(state));
            Map<String, String> config = new LinkedHashMap<>();
            props.forEach((k, v) -> config.put((String) k, (String) v));
            return config;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Map<String, String> start(boolean dev) throws Exception {
        Path root = dev ? Path.of(System.getProperty("atelier-local.dir", ".atelier")).toAbsolutePath()
                : Files.createTempDirectory("atelier-test-");
        Files.createDirectories(root);
        long t0 = System.nanoTime();
        Map<String, String> config = new LinkedHashMap<>();

        EmbeddedPostgres pg = EmbeddedPostgres.start(root.resolve("postgres"), freePort(), dev);
        Runtime.getRuntime().addShutdownHook(new Thread(pg::close, "atelier-postgres-stop"));
        config.put("quarkus.datasource.reactive.url", "postgresql://127.0.0.1:" + pg.port() + "/atelier");
        config.put("quarkus.datasource.jdbc.url", "jdbc:postgresql://127.0.0.1:" + pg.port() + "/atelier");
        config.put("quarkus.datasource.username", "postgres");
        config.put("quarkus.datasource.password", "postgres");

        int redisPort = freePort();
        Path redisDir = Files.createDirectories(root.resolve("redis"));
        RedisServer redis = RedisServer.builder().port(redisPort).setting("bind 127.0.0.1")
                .setting("dir " + redisDir).setting(dev ? "save 60 1" : "save \"\"").setting("appendonly no").build();
        redis.start();
        Runtime.getRuntime().addShutdownHook(new Thread(redis::stop, "atelier-redis-stop"));
        config.put("quarkus.redis.hosts", "redis://127.0.0.1:" + redisPort);

        BlobStore store = dev ? new FilesystemNio2BlobStore(Files.createDirectories(root.resolve("s3")).toString())
                : new TransientNio2BlobStore();
        S3Proxy s3 = S3Proxy.builder().blobStore(store).endpoint(URI.create("http://127.0.0.1:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY).build();
        s3.start();
        while (!"STARTED".equals(s3.getState())) {
            Thread.sleep(10);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                s3.stop();
            } catch (Exception ignored) {
                // the JVM is going away
            }
        }, "atelier-s3-stop"));
        String bucket = System.getenv().getOrDefault("ATELIER_S3_BUCKET", "atelier");
        if (!store.containerExists(bucket)) {
            store.createContainer(bucket);
        }
        config.put("quarkus.s3.endpoint-override", "http://localhost:" + s3.getPort());
        config.put("quarkus.s3.path-style-access", "true");
        config.put("quarkus.s3.aws.region", "us-east-1");
        config.put("quarkus.s3.aws.credentials.type", "static");
        config.put("quarkus.s3.aws.credentials.static-provider.access-key-id", ACCESS_KEY);
        config.put("quarkus.s3.aws.credentials.static-provider.secret-access-key", SECRET_KEY);
        config.put("atelier.s3.bucket", bucket);

        String falKey = System.getenv("FAL_KEY");
        if (falKey == null || falKey.isBlank()) {
            FalSimulator sim = FalSimulator.start(0);
            Runtime.getRuntime().addShutdownHook(new Thread(sim::close, "atelier-fal-simulator-stop"));
            config.put("atelier.fal.queue-url", sim.baseUrl() + "/queue");
            config.put("atelier.fal.run-url", sim.baseUrl() + "/run");
            config.put("atelier.fal.rest-url", sim.baseUrl() + "/rest");
            config.put("atelier-local.simulator-url", sim.baseUrl());
        }
        LOG.infof("Local services up in %d ms (state in %s): PostgreSQL :%d, Redis :%d, S3 :%d, fal %s",
                (System.nanoTime() - t0) / 1_000_000, root, pg.port(), redisPort, s3.getPort(),
                config.getOrDefault("atelier-local.simulator-url", "fal.ai (FAL_KEY set)"));
        return config;
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        }
    }
}
