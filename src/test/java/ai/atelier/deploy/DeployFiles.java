package ai.atelier.deploy;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds files under the project's {@code deploy/} folder, whatever directory the tests run from. */
final class DeployFiles {

    private DeployFiles() {
    }

    /** {@code relative} (e.g. {@code deploy/kubernetes}) in the nearest directory upwards that has a pom.xml and a deploy/. */
    static Path path(String relative) {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("pom.xml")) && Files.isDirectory(dir.resolve("deploy"))) {
                return dir.resolve(relative);
            }
        }
        throw new IllegalStateException("no project directory with deploy/ above " + Path.of("").toAbsolutePath());
    }
}
