package ai.atelier.contract;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import ai.atelier.support.Jobs;
import ai.atelier.support.Simulator;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * Every {@code curl} example in the README, run as written, through bash and curl, in README order, against a
 * server with the {@code quarkus:dev} profile's own settings, so the first hour of a new user cannot rot.
 *
 * <p>What the test changes in a command, and only this: the address ({@code localhost:8080} is the test's port) and
 * the placeholders a reader fills in from an earlier answer ({@code <id>}, {@code ten_…}, {@code <key id>} …), taken
 * from that earlier answer. Status codes are read through a {@code .curlrc} ({@code write-out}), so the commands
 * themselves stay untouched. Every command must answer 2xx, and every job the examples start must end as the
 * README says (none failed).
 */
@QuarkusTest
@TestProfile(ReadmeExamplesTest.DevSettings.class)
class ReadmeExamplesTest {

    /** The application's {@code %dev.atelier.*} settings (admin key, anonymous tenant, allowed hosts, webhook secret), as in quarkus:dev. */
    public static class DevSettings implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Properties properties = new Properties();
            try (InputStream in = Files.newInputStream(Path.of("src/main/resources/application.properties"))) {
                properties.load(in);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            Map<String, String> dev = new LinkedHashMap<>();
            // only Atelier's own settings: the servers' ports and folders stay the test's
            properties.stringPropertyNames().stream().filter(k -> k.startsWith("%dev.atelier."))
                    .forEach(k -> dev.put(k.substring("%dev.".length()), properties.getProperty(k)));
            return dev;
        }
    }

    private static final Pattern STATUS = Pattern.compile("\n?@@status (\\d{3})\n");
    private static final Pattern PLACEHOLDER = Pattern.compile("<[a-z_ ]+>|\\w+_…");
    private static final Pattern ASSIGNMENT = Pattern.compile("^[A-Z][A-Z0-9_]*=\\S.*");
    private static final Set<String> TERMINAL = Set.of("succeeded", "failed", "cancelled");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TestHTTPResource("/")
    URL base;

    /** One command of a README code block (continuation lines and multi-line quoted bodies joined). */
    record Example(int line, String text) {
    }

    @Test
    void everyCurlExampleInTheReadmeWorksAsWritten() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        List<Example> examples = commands(readme);
        long curlLines = readme.lines().filter(l -> l.startsWith("curl ")).count();
        assertThat(examples.stream().filter(e -> e.text().startsWith("curl ")).count())
                .as("every line of the README that starts with curl is one example run here").isEqualTo(curlLines).isGreaterThan(30);

        Path work = Files.createTempDirectory("atelier-test-readme-");
        try {
            run(examples, work);
        } finally {
            Simulator.reset();
            try (Stream<Path> files = Files.walk(work)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @SuppressWarnings("unchecked")
    private void run(List<Example> examples, Path work) throws Exception {
        Simulator.reset();
        // fal takes a second, so the README's cancel meets a job that is still running, as a reader's would
        Simulator.settings(0, 1000);
        Path home = Files.createDirectories(work.resolve("home"));
        Files.writeString(home.resolve(".curlrc"), "write-out = \"\\n@@status %{http_code}\\n\"\nmax-time = 60\n");
        // what quarkus:dev writes at every start, which the README reads the simulator's address from
        Files.createDirectories(work.resolve(".atelier"));
        Files.writeString(work.resolve(".atelier/services.properties"), "fal-simulator=" + Simulator.url() + "\n");

        Map<String, String> values = new LinkedHashMap<>();
        Map<String, String> env = new LinkedHashMap<>();
        StringBuilder assignments = new StringBuilder();
        Set<String> jobs = new LinkedHashSet<>();
        String cancelled = null;
        String address = "localhost:" + base.getPort();
        for (Example example : examples) {
            if (ASSIGNMENT.matcher(example.text()).matches() && !example.text().contains(" ./")) {
                assignments.append(example.text()).append('\n');
                continue;
            }
            if (!example.text().startsWith("curl ")) {
                continue; // ./mvnw, kubectl and friends are not HTTP examples
            }
            String command = example.text().replace("localhost:8080", address);
            for (var value : values.entrySet()) {
                command = command.replace(value.getKey(), value.getValue());
            }
            Matcher unknown = PLACEHOLDER.matcher(command.replaceAll("#.*", ""));
            assertThat(unknown.find()).as("README line %d uses a placeholder this test cannot fill: %s", example.line(), command).isFalse();
            if (command.contains("/webhooks")) {
                awaitDeliveries(values.get("<id>"));
            }
            if (command.contains("/cancel")) {
                cancelled = values.get("<id>");
            }

            String output = bash(assignments + command, work, home, env);
            List<Integer> statuses = new ArrayList<>();
            Matcher status = STATUS.matcher(output);
            while (status.find()) {
                statuses.add(Integer.parseInt(status.group(1)));
            }
            assertThat(statuses).as("README line %d: %s%n%s", example.line(), command, output).isNotEmpty()
                    .allSatisfy(s -> assertThat(s).isBetween(200, 299));
            learn(command, body(output), values, env, jobs);
        }

        for (String sample : List.of("product.png", "face.png", "background.png")) {
            assertThat(work.resolve("samples").resolve(sample)).as("the README downloads its samples first, into samples/")
                    .hasSameBinaryContentAs(Path.of("src/main/resources/META-INF/resources/samples", sample));
        }
        // and nothing else: the checkout's top folder (here the work folder) gets no file of the examples' (samples/ is git-ignored)
        try (Stream<Path> top = Files.list(work)) {
            assertThat(top.map(p -> p.getFileName().toString())).as("what the examples left in the folder they ran in")
                    .containsExactlyInAnyOrder("home", ".atelier", "samples");
        }
        // the webhook example's deliveries reached the simulator's inbox, signed (the first, then the redelivery)
        assertThat(Simulator.requests()).filteredOn(r -> "/_sim/inbox/shop".equals(r.get("path")))
                .hasSizeGreaterThanOrEqualTo(2)
                .allSatisfy(r -> assertThat(((Map<String, Object>) r.get("headers")).keySet()).contains("webhook-id", "webhook-timestamp", "webhook-signature"));
        assertThat(jobs).as("jobs the examples started").hasSizeGreaterThanOrEqualTo(8);
        assertThat(cancelled).isNotNull();
        for (String id : jobs) {
            String ended = Jobs.awaitTerminal(id).getString("status");
            assertThat(ended).as("job %s from the README", id).isEqualTo(id.equals(cancelled) ? "cancelled" : "succeeded");
        }
    }

    /** What a reader copies from an answer into the next command. */
    private static void learn(String command, JsonNode body, Map<String, String> values, Map<String, String> env, Set<String> jobs) {
        if (body == null) {
            return;
        }
        if (body.isArray() && command.contains("/webhooks") && !body.isEmpty()) {
            values.put("<delivery>", body.get(0).path("id").asText());
            return;
        }
        if (!body.isObject()) {
            return;
        }
        String id = body.path("id").asText(null);
        if (body.hasNonNull("session_id")) {
            values.put("<session_id>", body.get("session_id").asText());
        }
        if (body.hasNonNull("job_id")) {
            values.put("<job_id>", body.get("job_id").asText());
        }
        if (id != null && id.startsWith("ten_")) {
            values.put("ten_…", id);
        }
        if (body.path("key").asText("").startsWith("atl_")) {
            env.put("KEY", body.get("key").asText()); // the README's $KEY: the key a reader keeps
            if (!command.contains("/rotate")) {
                values.put("<key id>", id);
            }
        }
        if (command.contains("/v1/batches ") && id != null && body.has("request_counts")) {
            values.put("<batch_id>", id);
        }
        boolean submit = command.contains("/v1/jobs ") || command.contains("/v1/product-shoots ");
        if (submit && id != null && body.has("status")) {
            values.put("<id>", id);
            jobs.add(id);
        }
    }

    private void awaitDeliveries(String job) {
        assertThat(job).isNotNull();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> TERMINAL.contains(
                given().get("/v1/jobs/" + job).then().statusCode(200).extract().<String>path("status"))
                && !given().get("/v1/jobs/" + job + "/webhooks").then().statusCode(200).extract().jsonPath().getList("$").isEmpty());
    }

    /** The answer's body as JSON (after the headers when curl printed them), or null when it is not JSON. */
    private static JsonNode body(String output) {
        String text = STATUS.split(output, 2)[0];
        if (text.startsWith("HTTP/")) {
            int end = text.indexOf("\r\n\r\n");
            text = end < 0 ? "" : text.substring(end + 4);
        }
        try {
            return text.isBlank() ? null : JSON.readTree(text);
        } catch (IOException notJson) {
            return null; // an event stream, a file download
        }
    }

    private static String bash(String script, Path work, Path home, Map<String, String> env) throws Exception {
        ProcessBuilder builder = new ProcessBuilder("bash", "-c", script).directory(work.toFile()).redirectErrorStream(true);
        builder.environment().putAll(env);
        builder.environment().put("HOME", home.toString());
        builder.environment().put("NO_PROXY", "localhost,127.0.0.1");
        builder.environment().put("no_proxy", "localhost,127.0.0.1");
        Process process = builder.start();
        byte[] out = process.getInputStream().readAllBytes();
        assertThat(process.waitFor(90, TimeUnit.SECONDS)).isTrue();
        String output = new String(out, StandardCharsets.UTF_8);
        assertThat(process.exitValue()).as("%s%n%s", script, output).isZero();
        return output;
    }

    /**
     * The README's bash blocks as commands: comment lines dropped, a line ending in a backslash or inside an open
     * quote joined with the next (a JSON body spread over lines is one command).
     */
    static List<Example> commands(String readme) {
        List<Example> commands = new ArrayList<>();
        String[] lines = readme.split("\n", -1);
        boolean inBlock = false;
        StringBuilder current = null;
        int start = 0;
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (!inBlock) {
                inBlock = line.equals("```bash");
                continue;
            }
            if (line.equals("```")) {
                assertThat(current).as("README line %d: a command is left open at the end of its block", start).isNull();
                inBlock = false;
                continue;
            }
            if (current == null) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                current = new StringBuilder();
                start = i + 1;
            } else {
                current.append('\n');
            }
            current.append(line);
            String text = current.toString();
            if (!openQuote(text) && !text.endsWith("\\")) {
                commands.add(new Example(start, text));
                current = null;
            }
        }
        return commands;
    }

    /** Whether the text leaves a shell quote open (single quotes take everything literally; a comment ends the line). */
    private static boolean openQuote(String text) {
        char quote = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (quote == 0) {
                if (c == '#' && (i == 0 || Character.isWhitespace(text.charAt(i - 1)))) {
                    int eol = text.indexOf('\n', i);
                    if (eol < 0) {
                        return false;
                    }
                    i = eol;
                } else if (c == '\'' || c == '"') {
                    quote = c;
                } else if (c == '\\') {
                    i++;
                }
            } else if (c == quote) {
                quote = 0;
            } else if (quote == '"' && c == '\\') {
                i++;
            }
        }
        return quote != 0;
    }
}
