package ai.atelier.local;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Properties;

import org.eclipse.microprofile.config.spi.ConfigSource;

import io.smallrye.config.ConfigSourceContext;
import io.smallrye.config.ConfigSourceFactory;
import io.smallrye.config.common.MapBackedConfigSource;

/**
 * Starts real PostgreSQL, Redis, an S3-compatible server and the fal simulator for the {@code dev}
 * and {@code test} profiles, on free ports, and hands their addresses to Quarkus as configuration.
 * This is what Dev Services would do if this machine had Docker. It lives in {@code src/dev}: the build
 * moves it, the simulator and this factory's registration out of {@code target/classes} before packaging,
 * so the production artifact neither contains nor registers it (and the embedded servers are optional
 * dependencies, filtered out of the package).
 *
 * <p>Quarkus may ask for configuration several times per JVM (build, run, every dev-mode reload, each
 * test profile), from different class loaders; the servers are started once per JVM and their
 * addresses kept in a system property.
 */
public final class LocalServices implements ConfigSourceFactory {

    static final String STATE = "atelier-local.state";

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
                Map<String, String> config = LocalServers.start(dev);
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

}
