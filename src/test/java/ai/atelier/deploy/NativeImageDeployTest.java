package ai.atelier.deploy;

import static ai.atelier.deploy.KubernetesManifestsTest.container;
import static ai.atelier.deploy.KubernetesManifestsTest.list;
import static ai.atelier.deploy.KubernetesManifestsTest.podSpec;
import static ai.atelier.deploy.KubernetesManifestsTest.str;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import ai.atelier.deploy.KubernetesManifestsTest.Doc;

/**
 * deploy/kubernetes runs either image: the native overlay ({@code deploy/kubernetes/native/}) changes the image and
 * nothing else, and both Dockerfiles' final stages run as the pod's {@code runAsUser}. Each rule also fails on a broken
 * copy, so none passes vacuously.
 */
@SuppressWarnings("unchecked")
class NativeImageDeployTest {

    static final Path OVERLAY = DeployFiles.path("deploy/kubernetes/native/kustomization.yaml");
    static final Map<String, Path> DOCKERFILES = Map.of(
            "jvm", DeployFiles.path("src/main/docker/Dockerfile.jvm"),
            "native", DeployFiles.path("src/main/docker/Dockerfile.native"));
    /** What a kustomization may hold when it only swaps the image. */
    static final Set<String> OVERLAY_KEYS = Set.of("apiVersion", "kind", "resources", "images");

    @Test
    void nativeOverlayChangesOnlyTheImage() {
        checkOverlay(overlay(), KubernetesManifestsTest.load());
    }

    @Test
    void bothImagesRunAsThePodsUser() {
        checkUsers(imageUsers(), KubernetesManifestsTest.load());
    }

    @TestFactory
    Stream<DynamicTest> everyRuleCatchesABrokenFile() {
        return Stream.of(
                brokenOverlay("an image name the Deployment does not use",
                        o -> images(o).get(0).put("name", "atelier-native")),
                brokenOverlay("the JVM tag kept", o -> images(o).get(0).put("newTag", "jvm")),
                brokenOverlay("a patch besides the image", o -> o.put("patches", List.of(Map.of("path", "more-memory.yaml")))),
                brokenOverlay("another base", o -> o.put("resources", List.of("../../other"))),
                brokenOverlay("no image at all", o -> o.remove("images")),
                brokenUsers("the native image as uid 1001", users -> users.put("native", "1001")),
                brokenUsers("the JVM image without a USER", users -> users.put("jvm", null)));
    }

    static DynamicTest brokenOverlay(String what, Consumer<Map<String, Object>> breakIt) {
        return broken(what, (overlay, users) -> breakIt.accept(overlay));
    }

    static DynamicTest brokenUsers(String what, Consumer<Map<String, String>> breakIt) {
        return broken(what, (overlay, users) -> breakIt.accept(users));
    }

    static DynamicTest broken(String what, BiConsumer<Map<String, Object>, Map<String, String>> breakIt) {
        return DynamicTest.dynamicTest(what, () -> {
            List<Doc> base = KubernetesManifestsTest.load();
            Map<String, Object> overlay = overlay();
            Map<String, String> users = imageUsers();
            checkOverlay(overlay, base);
            checkUsers(users, base);
            breakIt.accept(overlay, users);
            assertThatThrownBy(() -> {
                checkOverlay(overlay, base);
                checkUsers(users, base);
            }).as("the checks after: " + what).isInstanceOf(AssertionError.class);
        });
    }

    // ---- rules ---------------------------------------------------------------------------------------

    static void checkOverlay(Map<String, Object> overlay, List<Doc> base) {
        assertThat(overlay.get("kind")).as("kind of %s", OVERLAY).isEqualTo("Kustomization");
        assertThat(OVERLAY_KEYS).as("keys of %s: it swaps the image and nothing else", OVERLAY).containsAll(overlay.keySet());
        assertThat(list(overlay, "resources")).as("resources of %s: the JVM manifests", OVERLAY).containsExactly("..");
        String deployed = str(container(base), "image");
        assertThat(deployed).as("image of the Deployment").contains(":");
        String name = deployed.substring(0, deployed.lastIndexOf(':'));
        List<Map<String, Object>> images = images(overlay);
        assertThat(images).as("images of %s", OVERLAY).hasSize(1);
        assertThat(str(images.get(0), "name")).as("the image %s replaces (the Deployment's %s)", OVERLAY, deployed).isEqualTo(name);
        assertThat(str(images.get(0), "newTag")).as("the tag Dockerfile.native's build command gives").isEqualTo("native");
    }

    static void checkUsers(Map<String, String> users, List<Doc> base) {
        Object runAsUser = KubernetesManifestsTest.at(podSpec(base), "securityContext", "runAsUser");
        assertThat(runAsUser).as("runAsUser of the pod").isNotNull();
        users.forEach((image, user) -> assertThat(user).as("USER of the %s image's final stage", image)
                .isEqualTo(String.valueOf(runAsUser)));
    }

    // ---- reading the files ---------------------------------------------------------------------------

    static Map<String, Object> overlay() {
        try (Reader reader = Files.newBufferedReader(OVERLAY, UTF_8)) {
            return new Yaml(new SafeConstructor(new LoaderOptions())).load(reader);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Map<String, Object>> images(Map<String, Object> overlay) {
        return (List<Map<String, Object>>) (List<?>) list(overlay, "images");
    }

    /** The last USER instruction after the last FROM of each Dockerfile (the stage that becomes the image). */
    static Map<String, String> imageUsers() {
        Map<String, String> users = new LinkedHashMap<>();
        DOCKERFILES.forEach((image, file) -> {
            List<String> finalStage = new ArrayList<>();
            try {
                for (String line : Files.readAllLines(file, UTF_8)) {
                    if (line.startsWith("FROM ")) {
                        finalStage.clear();
                    }
                    finalStage.add(line);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            users.put(image, finalStage.stream().filter(l -> l.startsWith("USER ")).map(l -> l.substring(5).trim())
                    .reduce((first, last) -> last).orElse(null));
        });
        return users;
    }
}
