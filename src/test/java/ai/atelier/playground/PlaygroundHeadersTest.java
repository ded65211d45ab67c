package ai.atelier.playground;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;

/**
 * What the playground's answers tell a browser (without a browser: PlaygroundBrowserTest runs the page under
 * these headers): a strict Content-Security-Policy, no framing, no referrer, and caching that lets a new
 * deployment's page reach users at once, cheaply.
 */
@QuarkusTest
class PlaygroundHeadersTest {

    private static final Path FILES = Path.of("src/main/resources/META-INF/resources/playground");

    /** The page and every file it loads. */
    private static List<String> pages() throws IOException {
        try (Stream<Path> files = Files.walk(FILES)) {
            List<String> assets = files.filter(Files::isRegularFile).map(f -> "/playground/" + FILES.relativize(f).toString().replace('\\', '/'))
                    .filter(p -> !p.endsWith("/index.html")).sorted().toList();
            assertThat(assets).contains("/playground/js/app.js", "/playground/playground.css");
            return Stream.concat(Stream.of("/playground/"), assets.stream()).toList();
        }
    }

    @Test
    void everyAnswerCarriesAStrictPolicyNoFramingAndNoReferrer() throws IOException {
        for (String page : pages()) {
            Response r = given().get(page);
            assertThat(r.statusCode()).as(page).isEqualTo(200);
            String csp = r.header("Content-Security-Policy");
            assertThat(csp).as("Content-Security-Policy of %s", page).isNotNull()
                    .contains("default-src 'none'", "script-src 'self';", "style-src 'self';", "connect-src 'self'", "frame-ancestors 'none'",
                            "base-uri 'none'", "object-src 'none'")
                    .doesNotContain("unsafe-inline").doesNotContain("unsafe-eval").doesNotContain("*");
            assertThat(r.header("X-Frame-Options")).as(page).isEqualTo("DENY");
            assertThat(r.header("Referrer-Policy")).as(page).isEqualTo("no-referrer");
        }
    }

    @Test
    void aNewDeploymentsPageReachesUsersAndAnUnchangedOneCostsA304() throws IOException {
        for (String page : pages()) {
            Response r = given().get(page);
            assertThat(r.header("Cache-Control")).as("Cache-Control of %s", page).isEqualTo("no-cache");
            String lastModified = r.header("Last-Modified");
            assertThat(lastModified).as("Last-Modified of %s: the validator no-cache asks with", page).isNotBlank();
            // the browser's revalidation: nothing sent again, the same headers
            Response again = given().header("If-Modified-Since", lastModified).get(page);
            assertThat(again.statusCode()).as("revalidating %s", page).isEqualTo(304);
            assertThat(again.asByteArray()).isEmpty();
            assertThat(again.header("Cache-Control")).isEqualTo("no-cache");
            assertThat(again.header("Content-Security-Policy")).isEqualTo(r.header("Content-Security-Policy"));
            // and a copy older than the file is sent again
            given().header("If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT").get(page).then().statusCode(200);
        }
        // the bare address leads to the page, under the same policy
        Response redirect = given().redirects().follow(false).get("/playground");
        assertThat(redirect.statusCode()).isEqualTo(302);
        assertThat(redirect.header("Content-Security-Policy")).isNotNull();
    }

    /** What the policy forbids, the page's own files do not do: its scripts and styles are files, never inline. */
    @Test
    void thePagesOwnFilesNeedNothingThePolicyForbids() throws IOException {
        String html = Files.readString(FILES.resolve("index.html"));
        Matcher scripts = Pattern.compile("<script\\b([^>]*)>(.*?)</script>", Pattern.DOTALL).matcher(html);
        int count = 0;
        while (scripts.find()) {
            count++;
            assertThat(scripts.group(1)).as("a script of index.html loads a file").contains("src=\"/playground/");
            assertThat(scripts.group(2)).as("a script of index.html has no inline code").isBlank();
        }
        assertThat(count).isPositive();
        assertThat(html).as("index.html").doesNotContainPattern("\\son[a-z]+\\s*=").doesNotContainPattern("\\sstyle\\s*=")
                .doesNotContain("<style").doesNotContainPattern("href=\"(?:https?:)?//").doesNotContainPattern("src=\"(?:https?:)?//");
        try (Stream<Path> js = Files.walk(FILES.resolve("js"))) {
            for (Path file : js.filter(f -> f.toString().endsWith(".js")).toList()) {
                assertThat(Files.readString(file)).as("%s", file.getFileName())
                        .doesNotContainPattern("\\.(?:inner|outer)HTML\\s*=").doesNotContain("insertAdjacentHTML(").doesNotContain("document.write(")
                        .doesNotContainPattern("\\beval\\(").doesNotContain("new Function").doesNotContainPattern("setAttribute\\(\\s*'style'")
                        .doesNotContainPattern("import\\(\\s*['\"]https?:");
            }
        }
    }
}
