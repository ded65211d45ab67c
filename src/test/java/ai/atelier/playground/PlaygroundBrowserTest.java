package ai.atelier.playground;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.NoSuchElementException;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.support.ui.FluentWait;
import org.openqa.selenium.support.ui.Select;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import ai.atelier.support.Images;
import ai.atelier.support.Jobs;
import ai.atelier.support.Simulator;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;

/**
 * The playground at /playground, driven in headless Chromium as a person would: controls are found by
 * their accessible names (label text, button text, alt text), every wait is explicit and bounded.
 * Needs Debian's chromium and chromium-driver; without them every test is skipped, never passed.
 */
@QuarkusTest
class PlaygroundBrowserTest {

    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String ADMIN_KEY = "atl_test_admin_key";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TestHTTPResource("/playground/")
    URL playground;

    private ChromeDriverService service;
    private WebDriver driver;
    private Path profile;
    private Path files;
    private String testName;
    private final List<String> violations = new java.util.ArrayList<>();

    /**
     * Checked before each test, not once for the class: an assumption that fails in {@code @BeforeAll} aborts the
     * class before any test starts, and surefire then reports {@code Tests run: 0}, which reads like a pass. Failing
     * here, every test is reported as skipped, with the reason.
     */
    private static void needsChromium() {
        assumeTrue(Files.isExecutable(CHROMIUM),
                "Chromium is not installed at " + CHROMIUM + " (apt-get install chromium chromium-driver): playground browser test skipped");
        assumeTrue(Files.isExecutable(CHROMEDRIVER),
                "chromedriver is not installed at " + CHROMEDRIVER + " (apt-get install chromium-driver): playground browser test skipped");
        // the driver is named, so Selenium Manager never looks for (or downloads) one
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
    }

    @BeforeEach
    void openBrowser(TestInfo info) throws IOException {
        needsChromium();
        Simulator.reset();
        Simulator.settings(50, 150);
        testName = info.getTestMethod().map(java.lang.reflect.Method::getName).orElse("test");
        profile = Files.createTempDirectory("atelier-chromium-");
        files = Files.createTempDirectory("atelier-uploads-");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile, "--window-size=1280,1400",
                "--lang=en-US");
        // the browser's console is read after every test: a Content-Security-Policy violation fails it
        options.setCapability("goog:loggingPrefs", Map.of("browser", "ALL"));
        // one chromedriver per browser: quitting a browser stops its service
        service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        driver = new ChromeDriver(service, options);
        driver.manage().timeouts().pageLoadTimeout(WAIT).scriptTimeout(WAIT);
    }

    @AfterEach
    void closeBrowser() throws IOException {
        List<String> violations = List.of();
        try {
            if (driver != null) {
                violations = List.copyOf(cspViolations());
                driver.quit();
            }
        } finally {
            if (service != null && service.isRunning()) {
                service.stop();
            }
            deleteTree(profile);
            deleteTree(files);
        }
        assertThat(violations).as("Content-Security-Policy violations in the browser's console").isEmpty();
    }

    // ---- the tests -------------------------------------------------------------------------------

    @Test
    void thePageRunsUnderItsContentSecurityPolicyAndInlineScriptIsRefused() {
        open();
        chooseModel("flux-schnell");
        // the server's policy is in force and the page itself broke none of it while loading and building its form
        assertThat(given().get("/playground/").then().extract().header("Content-Security-Policy")).contains("script-src 'self'");
        assertThat(cspViolations()).isEmpty();
        // what an injected script would do: refused, reported in the console, never run
        js("const s = document.createElement('script'); s.textContent = 'window.injected = true'; document.head.append(s);");
        await(d -> !cspViolations().isEmpty());
        assertThat(cspViolations()).anySatisfy(m -> assertThat(m).contains("inline script").contains("script-src 'self'").contains("blocked"));
        assertThat(js("return window.injected === undefined")).isEqualTo(true);
        violations.clear(); // seen and expected: the check after the test is for the page's own
    }

    @Test
    void textToImageJobShowsThePicture() {
        open();
        chooseModel("flux-schnell");
        String prompt = "a red bicycle leaning on a white wall";
        control("Prompt").sendKeys(prompt);
        new Select(control("Image size")).selectByValue("square");
        button("Generate").click();

        WebElement picture = loadedImage("Generated from the prompt “" + prompt + "”");
        await(d -> jobStatus().equals("Succeeded"));
        screenshot("text-to-image");

        // the picture shown is the job's output, as Atelier stored it
        String id = shownJobId();
        JsonPath job = given().get("/v1/jobs/" + id).then().statusCode(200).extract().jsonPath();
        assertThat(job.getString("status")).isEqualTo("succeeded");
        assertThat(job.getString("prompt")).isEqualTo(prompt);
        assertThat(job.getString("params.image_size")).isEqualTo("square");
        // (presigned anew on every read: the same object, another signature)
        assertThat(picture.getDomAttribute("src")).contains("/outputs/0.png");
        assertThat(picture.getDomAttribute("src").split("\\?")[0]).isEqualTo(job.getString("outputs[0].url").split("\\?")[0]);
        assertThat(naturalSize(picture)).containsExactly(512, 512);
        assertThat(linkNamed("Download")).isNotNull();
        // per-stage timings and the summary are shown once the job ends
        assertThat(driver.findElement(By.xpath("//table[caption[normalize-space()='Stages']]")).getText()).contains("infer");

        // the same page at 375 px: nothing wider than the screen
        driver.manage().window().setSize(new Dimension(375, 1400));
        await(d -> ((Number) js("return window.innerWidth")).intValue() <= 400);
        assertThat(((Number) js("return document.documentElement.scrollWidth - window.innerWidth")).intValue()).isLessThanOrEqualTo(0);
        screenshot("text-to-image-375px");
    }


    /** Dollars as the playground writes them (dom.js usd()). */
    private static String usd(double n) {
        if (n == 0) {
            return "$0.00";
        }
        return "$" + (n < 0.01 ? new java.math.BigDecimal(n).round(new java.math.MathContext(2)).toPlainString()
                : String.format(java.util.Locale.ROOT, n < 1 ? "%.4f" : "%.2f", n));
    }

    @Test
    void aVideoModelsClipPlaysInTheVideoElement() {
        open();
        chooseModel("veo-3.1-fast");
        // the price per second beside the form is the service's own quote of the shortest clip, divided by its seconds
        double quoted = given().contentType("application/json")
                .body(Map.of("model", "veo-3.1-fast", "prompt", "a price check", "params", Map.of("duration", "4s"), "dry_run", true))
                .post("/v1/jobs").then().statusCode(200).extract().jsonPath().getDouble("expected_cost_usd");
        assertThat(quoted).isPositive();
        await(d -> d.findElement(By.id("model-price")).isDisplayed());
        assertThat(driver.findElement(By.id("model-price")).getText())
                .startsWith("About " + usd(quoted / 4) + " per second of video (" + usd(quoted) + " for 4s");
        String prompt = "a paper boat drifts down a rainy street";
        control("Prompt").sendKeys(prompt);
        new Select(control("Duration")).selectByValue("4s");
        button("Generate").click();

        WebElement[] found = { null };
        await(d -> {
            found[0] = d.findElements(By.cssSelector("video[controls]")).stream().findFirst().orElse(null);
            return found[0] != null;
        });
        WebElement video = found[0];
        await(d -> jobStatus().equals("Succeeded"));
        JsonPath job = given().get("/v1/jobs/" + shownJobId()).then().statusCode(200).extract().jsonPath();
        assertThat(job.getString("status")).isEqualTo("succeeded");
        assertThat(job.getString("params.duration")).isEqualTo("4s");
        // the element plays the job's stored clip, by a presigned URL that answers an MP4
        String src = video.getDomAttribute("src");
        assertThat(src).contains("/outputs/0.mp4").contains("X-Amz-Signature=");
        assertThat(src.split("\\?")[0]).isEqualTo(job.getString("outputs[0].url").split("\\?")[0]);
        assertThat(given().urlEncodingEnabled(false).get(src).then().statusCode(200).extract().contentType()).isEqualTo("video/mp4");

        // played for real: muted (headless Chromium refuses unmuted autoplay), the frames decode and time advances
        js("const v = arguments[0]; v.muted = true; v.play().catch(e => { window.playFailure = String(e); });", video);
        await(d -> js("return window.playFailure || (arguments[0].error && arguments[0].error.message) || null", video) != null
                || ((Number) js("return arguments[0].currentTime", video)).doubleValue() > 0.5);
        assertThat(js("return window.playFailure || null")).as("play() refused").isNull();
        assertThat(js("return arguments[0].error && (arguments[0].error.code + ' ' + arguments[0].error.message)", video)).as("media error").isNull();
        assertThat(((Number) js("return arguments[0].readyState", video)).intValue()).isGreaterThanOrEqualTo(2); // HAVE_CURRENT_DATA
        assertThat(((Number) js("return arguments[0].duration", video)).doubleValue()).isCloseTo(4.0, org.assertj.core.api.Assertions.within(0.1));
        assertThat(((Number) js("return arguments[0].videoWidth", video)).intValue()).isPositive(); // a frame was decoded
        assertThat(((Number) js("return arguments[0].currentTime", video)).doubleValue()).isGreaterThan(0.5);
        screenshot("video");
    }

    @Test
    void imageToImageFromAnUploadedFile() throws Exception {
        byte[] png = Images.png(300, 400);
        Path face = Files.write(files.resolve("face.png"), png);
        open();
        chooseModel("flux-general-i2i");
        String prompt = "A woman model, for fashion, studio light";
        control("Prompt").sendKeys(prompt);
        control("Choose image files").sendKeys(face.toString());
        await(d -> !d.findElements(By.xpath("//img[@alt='Image: face.png']")).isEmpty());
        screenshot("image-to-image-form");
        button("Generate").click();

        WebElement picture = loadedImage("Generated from the prompt “" + prompt + "”");
        screenshot("image-to-image-done");
        // the simulator follows the input's size: the upload reached fal
        assertThat(naturalSize(picture)).containsExactly(300, 400);
        Map<String, Object> sent = Simulator.submissions("fal-ai/flux-general/image-to-image").get(0);
        assertThat(sent).containsEntry("prompt", prompt).containsEntry("strength", 0.5f);

        // copy-as-curl is a multipart upload of the same file; run from the file's folder it makes the same job
        String curl = curlText();
        assertThat(curl).contains("-F 'image=@\"face.png\";type=image/png'").contains("--form-string 'model=flux-general-i2i'")
                .doesNotContain("Authorization");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/curl")), "curl is not installed: the copied command is not run");
        JsonPath again = runCurl(curl, null, files);
        JsonPath second = Jobs.awaitTerminal(again.getString("id"));
        JsonPath first = given().get("/v1/jobs/" + shownJobId()).then().extract().jsonPath();
        assertThat(second.getString("status")).isEqualTo("succeeded");
        assertThat(second.getLong("inputs[0].bytes")).isEqualTo(first.getLong("inputs[0].bytes")).isEqualTo(png.length);
        List<Map<String, Object>> both = Simulator.submissions("fal-ai/flux-general/image-to-image");
        assertThat(both).hasSize(2);
        assertThat(withoutImageUrl(both.get(1))).isEqualTo(withoutImageUrl(both.get(0)));
    }

    @Test
    void aParameterOutOfRangeIsShownAtItsField() {
        open();
        chooseModel("flux-schnell");
        control("Prompt").sendKeys("a red bicycle");
        WebElement images = control("Number of images");
        images.sendKeys("9");
        button("Generate").click();

        await(d -> "true".equals(control("Number of images").getDomAttribute("aria-invalid")));
        WebElement field = control("Number of images");
        String described = describedText(field);
        assertThat(described).contains("Invalid parameter").contains("must be from 1 to 4, got 9");
        // at the field, not at the top of the form, and the field has the focus
        assertThat(driver.findElements(By.cssSelector("form [role=alert]")).stream().filter(WebElement::isDisplayed).toList()).isEmpty();
        assertThat(driver.switchTo().activeElement()).isEqualTo(field);
        assertThat(Simulator.requests().stream().filter(r -> String.valueOf(r.get("path")).startsWith("/queue/")).toList()).isEmpty();
        screenshot("field-error");
    }

    @Test
    void aSlowJobCanBeCancelled() {
        Simulator.settings(100, 8000);
        open();
        chooseModel("flux-schnell");
        control("Prompt").sendKeys("a slow lighthouse at dusk");
        button("Generate").click();

        await(d -> jobStatus().startsWith("Running"));
        screenshot("running");
        button("Cancel").click();
        await(d -> jobStatus().equals("Cancelled"));
        screenshot("cancelled");
        JsonPath job = given().get("/v1/jobs/" + shownJobId()).then().statusCode(200).extract().jsonPath();
        assertThat(job.getString("status")).isEqualTo("cancelled");
        assertThat(driver.findElements(By.xpath("//button[normalize-space()='Cancel']")).stream().filter(WebElement::isDisplayed).toList())
                .isEmpty();
    }

    @Test
    void copyAsCurlIsTheRequestThePageMade() throws Exception {
        String key = tenantKey();
        open();
        control("API key").sendKeys(key);
        chooseModel("flux-schnell");
        String prompt = "a bicycle's bell, \"chrome\", on a $5 note";
        control("Prompt").sendKeys(prompt);
        new Select(control("Image size")).selectByValue("landscape_4_3");
        control("Seed").sendKeys("42");
        button("Generate").click();
        await(d -> jobStatus().equals("Succeeded"));
        String id = shownJobId();
        String curl = curlText();
        screenshot("copy-as-curl");

        // the key never appears: the shell fills it in
        assertThat(curl).doesNotContain(key).contains("-H \"Authorization: Bearer $ATELIER_KEY\"")
                .startsWith("curl -sS -X POST '" + origin() + "/v1/jobs'");
        // its body is what Atelier received for the page's job
        JsonPath job = given().header("Authorization", "Bearer " + key).get("/v1/jobs/" + id).then().statusCode(200).extract().jsonPath();
        Map<String, Object> body = JSON.readValue(dataRaw(curl), new TypeReference<Map<String, Object>>() {
        });
        assertThat(body).containsOnlyKeys("model", "prompt", "params");
        assertThat(body.get("model")).isEqualTo(job.getString("model"));
        assertThat(body.get("prompt")).isEqualTo(job.getString("prompt")).isEqualTo(prompt);
        assertThat(body.get("params")).isEqualTo(job.getMap("params"));

        // run as it is: the same tenant, and fal gets exactly the same payload
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/curl")), "curl is not installed: the copied command is not run");
        JsonPath copied = runCurl(curl, key, files);
        String second = copied.getString("id");
        assertThat(second).isNotEqualTo(id);
        await(d -> List.of("succeeded", "failed", "cancelled").contains(
                given().header("Authorization", "Bearer " + key).get("/v1/jobs/" + second).then().statusCode(200).extract().path("status")));
        List<Map<String, Object>> sent = Simulator.submissions("fal-ai/flux/schnell");
        assertThat(sent).hasSize(2);
        assertThat(sent.get(1)).isEqualTo(sent.get(0));
        assertThat(sent.get(0)).containsEntry("prompt", prompt).containsEntry("seed", 42).containsEntry("image_size", "landscape_4_3");
    }

    @Test
    void aJobIsReopenedFromHistory() {
        String done = "history, finished " + UUID.randomUUID().toString().substring(0, 8);
        String doneId = submit(Map.of("model", "flux-schnell", "prompt", done, "params", Map.of("image_size", "square")));
        Jobs.awaitTerminal(doneId);
        Simulator.settings(100, 8000);
        String running = "history, running " + UUID.randomUUID().toString().substring(0, 8);
        String runningId = submit(Map.of("model", "flux-schnell", "prompt", running, "params", Map.of("image_size", "square")));

        open();
        historyEntry(done).click();
        loadedImage("Generated from the prompt “" + done + "”");
        await(d -> jobStatus().equals("Succeeded") && shownJobId().equals(doneId));
        screenshot("history-reopened");

        // a job that still runs: its events are followed until it ends
        historyEntry(running).click();
        await(d -> shownJobId().equals(runningId) && jobStatus().startsWith("Running"));
        screenshot("history-running");
        await(d -> jobStatus().equals("Succeeded"));
        loadedImage("Generated from the prompt “" + running + "”");
        assertThat(given().get("/v1/jobs/" + runningId).then().extract().<String>path("status")).isEqualTo("succeeded");
    }

    // ---- the page, by accessible names ------------------------------------------------------------

    /**
     * The console's Content-Security-Policy messages of this test so far (Chrome's log is emptied by each read,
     * so they are kept here).
     */
    private List<String> cspViolations() {
        driver.manage().logs().get(LogType.BROWSER).getAll().stream().map(LogEntry::getMessage)
                .filter(m -> m.contains("Content Security Policy")).forEach(violations::add);
        return violations;
    }

    private void open() {
        driver.get(playground.toString());
        await(d -> control("Model").isEnabled() && !new Select(control("Model")).getOptions().isEmpty());
    }

    private void chooseModel(String id) {
        new Select(control("Model")).selectByValue(id);
        await(d -> d.findElements(By.xpath("//p[@id='model-description']")).stream().anyMatch(p -> !p.getText().isBlank()));
    }

    /** The visible form control (input, select, textarea) whose accessible name is exactly this. */
    private WebElement control(String name) {
        return named(By.cssSelector("input, select, textarea"), name, false);
    }

    private WebElement button(String name) {
        return named(By.cssSelector("button, [role=button], input[type=submit]"), name, true);
    }

    private WebElement linkNamed(String prefix) {
        return driver.findElements(By.cssSelector("a[href]")).stream().filter(a -> a.getAccessibleName().startsWith(prefix)).findFirst()
                .orElse(null);
    }

    private WebElement named(By candidates, String name, boolean mustBeVisible) {
        for (WebElement e : driver.findElements(candidates)) {
            if (name.equals(e.getAccessibleName().trim()) && (!mustBeVisible || e.isDisplayed())) {
                return e;
            }
        }
        throw new NoSuchElementException("Nothing named '" + name + "' among " + candidates);
    }

    /** A history entry: a button whose accessible name holds the job's prompt. */
    private WebElement historyEntry(String prompt) {
        WebElement[] found = { null };
        await(d -> {
            found[0] = d.findElements(By.xpath("//ol[@aria-label='Jobs, newest first']//button")).stream()
                    .filter(b -> b.getAccessibleName().contains(prompt)).findFirst().orElse(null);
            return found[0] != null;
        });
        return found[0];
    }

    /** The live region's text: "Queued", "Running · generating", "Succeeded", … */
    private String jobStatus() {
        return driver.findElements(By.cssSelector("[role=status]")).stream().filter(e -> "Job status".equals(e.getAccessibleName()))
                .map(WebElement::getText).findFirst().orElse("");
    }

    private String shownJobId() {
        String text = driver.findElements(By.xpath("//p[starts-with(normalize-space(), 'Job ')]/code")).stream().map(WebElement::getText)
                .filter(t -> !t.isBlank()).findFirst().orElse("");
        return text.trim();
    }

    /** An image with this alt text (its accessible name), once the browser has decoded it. */
    private WebElement loadedImage(String alt) {
        WebElement[] found = { null };
        await(d -> {
            for (WebElement img : d.findElements(By.tagName("img"))) {
                if (alt.equals(img.getDomAttribute("alt")) && Boolean.TRUE.equals(js("return arguments[0].complete && arguments[0].naturalWidth > 0", img))) {
                    found[0] = img;
                    return true;
                }
            }
            return false;
        });
        return found[0];
    }

    private List<Integer> naturalSize(WebElement img) {
        @SuppressWarnings("unchecked")
        List<Number> size = (List<Number>) js("return [arguments[0].naturalWidth, arguments[0].naturalHeight]", img);
        return size.stream().map(Number::intValue).toList();
    }

    /** The text of the elements a control's aria-describedby names (its hint and its error). */
    private String describedText(WebElement control) {
        StringBuilder text = new StringBuilder();
        for (String id : String.valueOf(control.getDomAttribute("aria-describedby")).split("\\s+")) {
            driver.findElements(By.id(id)).forEach(e -> text.append(e.getText()).append('\n'));
        }
        return text.toString();
    }

    private String curlText() {
        WebElement area = control("curl command");
        assertThat(area.getDomProperty("readOnly")).isEqualTo("true");
        return area.getDomProperty("value");
    }

    private String origin() {
        return playground.getProtocol() + "://" + playground.getAuthority();
    }

    private Object js(String script, Object... args) {
        return ((JavascriptExecutor) driver).executeScript(script, args);
    }

    private void await(Function<WebDriver, Boolean> condition) {
        new FluentWait<>(driver).withTimeout(WAIT).pollingEvery(Duration.ofMillis(100))
                .ignoring(NoSuchElementException.class).ignoring(StaleElementReferenceException.class)
                .until(condition);
    }

    /** target/playground-STATE.png: the whole page (through the DevTools protocol), else the window. */
    @SuppressWarnings("unchecked")
    private void screenshot(String state) {
        try {
            Path dir = Files.createDirectories(Path.of("target"));
            byte[] png;
            try {
                ChromeDriver chrome = (ChromeDriver) driver;
                js("window.scrollTo(0, 0)");
                Map<String, Object> size = (Map<String, Object>) chrome.executeCdpCommand("Page.getLayoutMetrics", Map.of()).get("cssContentSize");
                Map<String, Object> clip = Map.of("x", 0, "y", 0, "width", size.get("width"), "height", size.get("height"), "scale", 1);
                String data = (String) chrome.executeCdpCommand("Page.captureScreenshot",
                        Map.of("format", "png", "captureBeyondViewport", true, "clip", clip)).get("data");
                png = java.util.Base64.getDecoder().decode(data);
            } catch (RuntimeException noDevTools) {
                png = ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES);
            }
            Files.write(dir.resolve("playground-" + state + ".png"), png);
        } catch (IOException e) {
            throw new IllegalStateException("screenshot " + state + " not written", e);
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------

    private static String submit(Map<String, Object> body) {
        return given().contentType(ContentType.JSON).body(body).post("/v1/jobs").then().statusCode(202).extract().path("id");
    }

    /** A new tenant and an API key for it. */
    private static String tenantKey() {
        String tenant = given().header("Authorization", "Bearer " + ADMIN_KEY).contentType(ContentType.JSON)
                .body(Map.of("name", "playground-" + UUID.randomUUID().toString().substring(0, 8))).post("/v1/admin/tenants")
                .then().statusCode(201).extract().path("id");
        return given().header("Authorization", "Bearer " + ADMIN_KEY).contentType(ContentType.JSON)
                .body(Map.of("name", "playground", "scopes", List.of("jobs:read", "jobs:write"))).post("/v1/admin/tenants/" + tenant + "/keys")
                .then().statusCode(201).extract().path("key");
    }

    /** The body of a copied JSON request: the shell word after --data-raw, unquoted. */
    static String dataRaw(String curl) {
        int at = curl.indexOf("--data-raw '");
        assertThat(at).as("a JSON body in %s", curl).isNotNegative();
        String quoted = curl.substring(at + "--data-raw ".length()).strip();
        assertThat(quoted).endsWith("'");
        return quoted.substring(1, quoted.length() - 1).replace("'\\''", "'");
    }

    /** Runs a copied command with bash, the key (if any) in ATELIER_KEY, and answers its JSON. */
    private static JsonPath runCurl(String curl, String key, Path dir) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", curl).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().remove("ATELIER_KEY");
        if (key != null) {
            pb.environment().put("ATELIER_KEY", key);
        }
        Process p = pb.start();
        boolean ended = p.waitFor(30, TimeUnit.SECONDS);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!ended) {
            p.destroyForcibly();
        }
        assertThat(ended).as("curl ended").isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        JsonPath json = new JsonPath(out);
        assertThat(json.getString("id")).as(out).isNotBlank();
        return json;
    }

    private static Map<String, Object> withoutImageUrl(Map<String, Object> body) {
        Map<String, Object> copy = new LinkedHashMap<>(body);
        copy.remove("image_url");
        return copy;
    }

    private static void deleteTree(Path root) throws IOException {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
