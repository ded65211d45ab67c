package ai.atelier.it;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import ai.atelier.local.LocalServers;

/**
 * Real Atelier processes (the packaged jar, prod profile) sharing one set of servers started in this
 * JVM: what a deployment with several replicas looks like, and what can be killed for real.
 */
final class Instances implements AutoCloseable {

    /** The operator's key the instances take. */
    static final String ADMIN_KEY = "atl_it_admin_key";

    final Map<String, String> services;
    private final List<Process> started = new ArrayList<>();

    Instances() throws Exception {
        this.services = LocalServers.start(false);
    }

    String simulator() {
        return services.get("atelier-local.simulator-url");
    }

    /** One Atelier instance: answers its base URL once ready (on its management port, as the kubelet asks). */
    Instance start(String name, Map<String, String> extra) throws Exception {
        return start(name, extra, List.of());
    }

    Instance start(String name, Map<String, String> extra, List<String> jvmOptions) throws Exception {
        return start(name, extra, jvmOptions, Duration.ofMillis(200));
    }

    /** As above, asking for readiness every {@code poll} (a start-time measurement wants a fine one). */
    Instance start(String name, Map<String, String> extra, List<String> jvmOptions, Duration poll) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        if (extra.containsKey("quarkus.http.port")) {
            port = Integer.parseInt(extra.get("quarkus.http.port"));
        }
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(jvmOptions);
        services.forEach((k, v) -> {
            if (!k.startsWith("atelier-local")) {
                cmd.add("-D" + k + "=" + v);
            }
        });
        if (!extra.containsKey("quarkus.http.port")) {
            cmd.add("-Dquarkus.http.port=" + port);
        }
        // health and metrics: each instance's management interface on a port of its own (9000 would be taken by the first)
        int managementPort;
        try (ServerSocket s = new ServerSocket(0)) {
            managementPort = s.getLocalPort();
        }
        cmd.add("-Dquarkus.management.port=" + managementPort);
        // its temp files (Vert.x's file cache) beside the tests' own: a killed instance leaves nothing in the system's
        cmd.add("-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"));
        cmd.add("-Datelier.jobs.instance-id=" + name);
        cmd.add("-Datelier.jobs.lease=3s");
        cmd.add("-Datelier.jobs.claim-interval=100ms");
        cmd.add("-Datelier.fal.poll-interval=100ms");
        // the durability tests call without keys (the anonymous tenant); the auth tests use keys from the admin key
        cmd.add("-Datelier.auth.anonymous-tenant=default");
        cmd.add("-Datelier.admin-key=" + ADMIN_KEY);
        extra.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        cmd.add("-jar");
        cmd.add(Path.of("target", "quarkus-app", "quarkus-run.jar").toAbsolutePath().toString());
        Path log = Files.createDirectories(Path.of("target", "it-logs")).resolve(name + ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        started.add(p);
        String url = "http://localhost:" + port;
        String management = "http://localhost:" + managementPort;
        await().atMost(Duration.ofSeconds(60)).pollInterval(poll).until(() -> {
            if (!p.isAlive()) {
                throw new IllegalStateException(name + " exited: see " + log);
            }
            try {
                return given().baseUri(management).get("/q/health/ready").statusCode() == 200;
            } catch (Exception notYet) {
                return false;
            }
        });
        return new Instance(name, url, management, p);
    }

    /** {@code url}: the API; {@code management}: {@code /q/health} and {@code /q/metrics}. */
    record Instance(String name, String url, String management, Process process) {
    }

    long count(String where) throws Exception {
        try (Connection c = db(); ResultSet rs = c.createStatement().executeQuery("select count(*) from jobs where " + where)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    List<Map<String, Object>> rows(String sql) throws Exception {
        List<Map<String, Object>> out = new ArrayList<>();
        try (Connection c = db(); ResultSet rs = c.createStatement().executeQuery(sql)) {
            while (rs.next()) {
                Map<String, Object> row = new java.util.LinkedHashMap<>();
                for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                    row.put(rs.getMetaData().getColumnName(i), rs.getObject(i));
                }
                out.add(row);
            }
        }
        return out;
    }

    private Connection db() throws Exception {
        return DriverManager.getConnection(services.get("quarkus.datasource.jdbc.url"), services.get("quarkus.datasource.username"),
                services.get("quarkus.datasource.password"));
    }

    @Override
    public void close() {
        for (Process p : started) {
            p.destroyForcibly();
        }
    }
}
