package ai.atelier.simulator;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.nullValue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import ai.atelier.ingest.VideoInfo;

import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/** The simulator keeps fal's contract (fal-api.md): the tests of Atelier are only as good as this. */
class FalSimulatorTest {

    static FalSimulator sim;

    @BeforeAll
    static void start() {
        sim = FalSimulator.start(0);
    }

    @AfterAll
    static void stop() {
        sim.close();
    }

    @BeforeEach
    void reset() {
        api().post("/_sim/reset").then().statusCode(204);
    }

    static RequestSpecification api() {
        return given().baseUri(sim.baseUrl());
    }

    static String submit(Map<String, Object> body) {
        return api().contentType(ContentType.JSON).body(body).post("/queue/fal-ai/flux/schnell").then().statusCode(200)
                .header("x-fal-request-id", org.hamcrest.Matchers.notNullValue())
                .body("status", equalTo("IN_QUEUE")).extract().path("request_id");
    }

    @Test
    void queuedThenInProgressWithLogsThenCompletedWithARealPng() {
        api().contentType(ContentType.JSON).body(Map.of("queue_ms", 300, "latency_ms", 600, "queue_positions", 3)).put("/_sim/settings");
        String id = submit(Map.of("prompt", "p", "image_size", Map.of("width", 300, "height", 260), "seed", 9));
        String status = "/queue/fal-ai/flux/requests/" + id + "/status";
        api().get(status).then().statusCode(202).body("status", equalTo("IN_QUEUE")).body("queue_position", org.hamcrest.Matchers.lessThan(3));
        await().atMost(Duration.ofSeconds(5)).until(() -> "IN_PROGRESS".equals(api().get(status + "?logs=1").then().extract().path("status")));
        await().atMost(Duration.ofSeconds(5)).until(() -> api().get(status + "?logs=1").statusCode() == 200);
        JsonPath done = api().get(status + "?logs=1").then().body("status", equalTo("COMPLETED")).extract().jsonPath();
        assertThat(done.getList("logs.message")).contains("Loading model weights");
        assertThat(done.getDouble("metrics.inference_time")).isPositive();
        JsonPath result = api().get("/queue/fal-ai/flux/requests/" + id).then().statusCode(200).extract().jsonPath();
        assertThat(result.getInt("images[0].width")).isEqualTo(300);
        assertThat(result.getLong("seed")).isEqualTo(9);
        byte[] png = given().get(result.getString("images[0].url")).then().statusCode(200).extract().asByteArray();
        assertThat(png).isEqualTo(Png.render(300, 260, 9));
    }

    @Test
    void statusResultAndCancelLiveOnOwnerAppOnly() {
        String id = submit(Map.of("prompt", "p"));
        api().get("/queue/fal-ai/flux/schnell/requests/" + id + "/status").then().statusCode(404);
        api().get("/queue/fal-ai/other/requests/" + id + "/status").then().statusCode(404);
        api().get("/queue/fal-ai/flux/requests/" + id + "/status").then().statusCode(org.hamcrest.Matchers.anyOf(equalTo(200), equalTo(202)));
    }

    @Test
    void rejectsFieldsTheModelDoesNotAcceptWithFalsDetailList() {
        api().contentType(ContentType.JSON).body(Map.of("queue_ms", 0, "latency_ms", 10)).put("/_sim/settings");
        String id = api().contentType(ContentType.JSON).body(Map.of("prompt", "p", "image_url", "https://x/y.png", "image_strength", 0.5,
                "num_inference_steps", 99)).post("/queue/fal-ai/flux-general/image-to-image").then().statusCode(200).extract().path("request_id");
        await().atMost(Duration.ofSeconds(5)).until(() -> api().get("/queue/fal-ai/flux-general/requests/" + id + "/status").statusCode() == 200);
        api().get("/queue/fal-ai/flux-general/requests/" + id + "/status").then().body("status", equalTo("COMPLETED"));
        api().get("/queue/fal-ai/flux-general/requests/" + id).then().statusCode(422)
                .body("detail.type", hasItem("extra_forbidden")).body("detail.loc", hasItem(List.of("body", "image_strength")))
                .body("detail.find { it.type == 'less_than_equal' }.loc", equalTo(List.of("body", "num_inference_steps")));
        // the sync endpoint answers the same validation at once
        api().contentType(ContentType.JSON).body(Map.of("num_inference_steps", "seven")).post("/run/fal-ai/flux/schnell").then().statusCode(422)
                .body("detail.type", hasItem("missing")).body("detail.type", hasItem("int_type"));
    }

    @Test
    void cancelAnswersLikeFal() {
        api().contentType(ContentType.JSON).body(Map.of("queue_ms", 2000, "latency_ms", 2000)).put("/_sim/settings");
        String queued = submit(Map.of("prompt", "p"));
        api().put("/queue/fal-ai/flux/requests/" + queued + "/cancel").then().statusCode(200).body("status", equalTo("OK"));
        api().put("/queue/fal-ai/flux/requests/" + queued + "/cancel").then().statusCode(400).body("status", equalTo("ALREADY_COMPLETED"));
        api().get("/queue/fal-ai/flux/requests/" + queued).then().statusCode(499);
        api().put("/queue/fal-ai/flux/requests/nope/cancel").then().statusCode(404).body("status", equalTo("NOT_FOUND"));
    }

    @Test
    void scriptedFaultsAnswerWithRetryAfterAndErrorType() {
        api().contentType(ContentType.JSON).body(Map.of("target", "submit", "status", 503, "error_type", "runner_scheduling_failure",
                "retry_after", 2)).post("/_sim/faults").then().statusCode(204);
        api().contentType(ContentType.JSON).body(Map.of("prompt", "p")).post("/queue/fal-ai/flux/schnell").then().statusCode(503)
                .header("Retry-After", "2").header("X-Fal-Error-Type", "runner_scheduling_failure")
                .body("error_type", equalTo("runner_scheduling_failure"));
        submit(Map.of("prompt", "p")); // the fault was for one call only
        List<Map<String, Object>> journal = api().get("/_sim/requests").then().extract().jsonPath().getList("requests");
        assertThat(journal).hasSize(2);
    }

    @Test
    void neverRecordsTheKey() {
        api().header("Authorization", "Key secret-id:secret-value").contentType(ContentType.JSON).body(Map.of("prompt", "p"))
                .post("/queue/fal-ai/flux/schnell").then().statusCode(200);
        String journal = api().get("/_sim/requests").then().extract().asString();
        assertThat(journal).contains("Key ***").doesNotContain("secret-value");
    }

    // ---- LLM (openrouter/router) ----------------------------------------------------------------

    static final String ROUTER = "openrouter/router";
    static final String VISION = "openrouter/router/vision";

    static void fastRuns() {
        api().contentType(ContentType.JSON).body(Map.of("queue_ms", 0, "latency_ms", 20)).put("/_sim/settings").then().statusCode(200);
    }

    static String dataUrl(byte[] png) {
        return "data:image/png;base64," + Base64.getEncoder().encodeToString(png);
    }

    /** The router's answer, parsed by Vert.x so numbers keep their exact value (RestAssured reads floats). */
    static JsonObject ask(String endpoint, Map<String, Object> body) {
        return new JsonObject(api().contentType(ContentType.JSON).body(body).post("/run/" + endpoint).then().statusCode(200)
                .extract().asString());
    }

    static Map<String, Object> categorise(byte[] png) {
        return Map.of("prompt", "Categorize this product and answer in JSON.", "model", "google/gemini-2.5-flash",
                "image_urls", List.of(dataUrl(png)));
    }

    static void script(Map<String, Object> spec) {
        api().contentType(ContentType.JSON).body(spec).post("/_sim/llm").then().statusCode(204);
    }

    @Test
    void routerAnswersSyncWithUsageFromPromptAndAnswerLength() {
        fastRuns();
        JsonObject answer = ask(ROUTER, Map.of("prompt", "Hello there", "system_prompt", "Be brief.", "model", "google/gemini-2.5-flash"));
        assertThat(answer.getString("output")).isEqualTo("Echo (google/gemini-2.5-flash): Hello there");
        assertThat(answer.getBoolean("partial")).isFalse();
        assertThat(answer.containsKey("reasoning")).isTrue();
        assertThat(answer.getValue("error")).isNull();
        JsonObject usage = answer.getJsonObject("usage");
        // prompt: ceil((9 + 11) / 4) = 5; answer: ceil(43 / 4) = 11; 5 * 0.30 + 11 * 2.50 per million
        assertThat(usage.getLong("prompt_tokens")).isEqualTo(5);
        assertThat(usage.getLong("completion_tokens")).isEqualTo(11);
        assertThat(usage.getLong("total_tokens")).isEqualTo(16);
        assertThat(usage.getDouble("cost")).isEqualTo(0.000029);
    }

    @Test
    void routerAnswersThroughTheQueueWithTheDefaultPrice() {
        fastRuns();
        String id = api().contentType(ContentType.JSON).body(Map.of("prompt", "abc", "model", "some/other")).post("/queue/" + ROUTER)
                .then().statusCode(200).extract().path("request_id");
        String base = "/queue/openrouter/router/requests/" + id;
        await().atMost(Duration.ofSeconds(5)).until(() -> api().get(base + "/status").statusCode() == 200);
        JsonObject answer = new JsonObject(api().get(base).then().statusCode(200).extract().asString());
        assertThat(answer.getString("output")).isEqualTo("Echo (some/other): abc");
        // prompt: ceil(3 / 4) = 1; answer: ceil(22 / 4) = 6; 1 * 1.00 + 6 * 4.00 per million
        assertThat(answer.getJsonObject("usage").getDouble("cost")).isEqualTo(0.000025);
    }

    @Test
    void routerRejectsUnknownFieldsAndTemperatureAboveTwo() {
        api().contentType(ContentType.JSON).body(Map.of("prompt", "p", "model", "m", "temperature", 3, "top_p", 0.9))
                .post("/run/" + ROUTER).then().statusCode(422)
                .body("detail.find { it.type == 'extra_forbidden' }.loc", equalTo(List.of("body", "top_p")))
                .body("detail.find { it.type == 'less_than_equal' }.loc", equalTo(List.of("body", "temperature")));
        api().contentType(ContentType.JSON).body(Map.of("prompt", "p", "model", "m")).post("/run/" + VISION).then().statusCode(422)
                .body("detail[0].loc", equalTo(List.of("body", "image_urls"))).body("detail[0].type", equalTo("missing"));
    }

    @Test
    void visionCategoriesFollowTheFirstImagesBytes() {
        fastRuns();
        byte[] png = Png.render(300, 300, 7);
        Map<String, Object> body = new LinkedHashMap<>(categorise(png));
        body.put("image_urls", List.of(dataUrl(png), dataUrl(Png.render(64, 64, 8))));
        JsonObject answer = ask(VISION, body);
        JsonObject categories = new JsonObject(answer.getString("output"));
        assertThat(categories).isEqualTo(SimLlm.categoriesFor(png));
        assertThat(new ArrayList<>(categories.fieldNames())).containsExactly("main_product_type", "subcategory", "target_audience",
                "price_range", "use_case", "style_design", "season_occasion", "industrial_type", "vibe");
        int promptChars = "Categorize this product and answer in JSON.".length();
        assertThat(answer.getJsonObject("usage").getLong("prompt_tokens")).isEqualTo((promptChars + 3) / 4 + 2 * 258);
    }

    @Test
    void routerWritesTheBackgroundPromptFromStyleAndSubcategory() {
        fastRuns();
        String prompt = "Write one sentence that starts with \"Change only the background to\".\n"
                + "The style type is: Minimalist studio with soft light.\nProduct:\n- main_product_type: Footwear\n- subcategory: Sneakers\n";
        String expected = "Change only the background to minimalist studio with soft light, suited to this Sneakers. "
                + "Keep the Sneakers exactly as it is in the original image: same shape, colours and details.";
        assertThat(ask(ROUTER, Map.of("prompt", prompt, "model", "openai/gpt-5-mini")).getString("output")).isEqualTo(expected);
        assertThat(SimLlm.backgroundPromptFor(prompt)).isEqualTo(expected);
        assertThat(SimLlm.backgroundPromptFor("Change only the background to something.")).isEqualTo("Change only the background to "
                + "a clean studio, suited to this product. Keep the product exactly as it is in the original image: same shape, colours and details.");
    }

    @Test
    void scriptedUntidyAnswersApplyToTheNextTimesAnswersOfTheirEndpoint() {
        fastRuns();
        byte[] png = Png.render(300, 300, 7);
        JsonObject categories = SimLlm.categoriesFor(png);
        script(Map.of("mode", "prose", "times", 2, "endpoint", VISION));
        assertThat(ask(ROUTER, Map.of("prompt", "hi", "model", "m")).getString("output")).isEqualTo("Echo (m): hi");
        for (int i = 0; i < 2; i++) {
            assertThat(ask(VISION, categorise(png)).getString("output")).isEqualTo("Sure! Here is my analysis of the product.\n\n"
                    + categories.encodePrettily() + "\n\nLet me know if you need anything else.");
        }
        assertThat(ask(VISION, categorise(png)).getString("output")).isEqualTo(categories.encode());

        script(Map.of("mode", "fenced"));
        assertThat(ask(VISION, categorise(png)).getString("output")).isEqualTo("```json\n" + categories.encodePrettily() + "\n```");
        script(Map.of("mode", "missing_keys"));
        assertThat(new JsonObject(ask(VISION, categorise(png)).getString("output")).fieldNames()).hasSize(7)
                .doesNotContain("season_occasion", "vibe");
        script(Map.of("mode", "extra_keys"));
        assertThat(new JsonObject(ask(VISION, categorise(png)).getString("output")).getDouble("confidence")).isEqualTo(0.92);
        script(Map.of("mode", "empty"));
        JsonObject empty = ask(VISION, categorise(png));
        assertThat(empty.getString("output")).isEmpty();
        assertThat(empty.getJsonObject("usage").getLong("completion_tokens")).isZero();
        script(Map.of("mode", "no_json"));
        assertThat(ask(VISION, categorise(png)).getString("output")).isEqualTo("I cannot determine the product category from this image.");
        script(Map.of("mode", "error"));
        JsonObject failed = ask(VISION, categorise(png));
        assertThat(failed.getString("output")).isEmpty();
        assertThat(failed.getString("error")).isEqualTo("Provider returned error");
        assertThat(ask(VISION, categorise(png)).getString("output")).isEqualTo(categories.encode());
    }

    @Test
    void unknownModesAreRejectedAndScriptsCanBeDropped() {
        fastRuns();
        api().contentType(ContentType.JSON).body(Map.of("mode", "rude")).post("/_sim/llm").then().statusCode(400);
        script(Map.of("mode", "empty", "times", 5));
        api().delete("/_sim/llm").then().statusCode(204);
        assertThat(ask(ROUTER, Map.of("prompt", "hi", "model", "m")).getString("output")).isEqualTo("Echo (m): hi");
        script(Map.of("mode", "empty"));
        api().post("/_sim/reset").then().statusCode(204);
        fastRuns();
        assertThat(ask(ROUTER, Map.of("prompt", "hi", "model", "m")).getString("output")).isEqualTo("Echo (m): hi");
    }

    /** The JSON of every {@code data:} event of a server-sent event stream. */
    static List<JsonObject> events(Response response) {
        List<JsonObject> events = new ArrayList<>();
        for (String event : response.asString().split("\n\n")) {
            if (!event.isBlank()) {
                assertThat(event).startsWith("data: ");
                events.add(new JsonObject(event.substring("data: ".length())));
            }
        }
        return events;
    }

    @Test
    void streamsGrowingPartialsThenTheFinalAnswerWithUsage() {
        fastRuns();
        Map<String, Object> body = Map.of("prompt", "one two three four five six seven eight nine ten", "model", "m");
        Response response = api().contentType(ContentType.JSON).accept("text/event-stream").body(body).post("/run/" + ROUTER + "/stream");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.contentType()).startsWith("text/event-stream");
        List<JsonObject> events = events(response);
        List<JsonObject> partials = events.subList(0, events.size() - 1);
        JsonObject last = events.get(events.size() - 1);
        assertThat(partials).hasSizeGreaterThanOrEqualTo(3).allMatch(e -> e.getBoolean("partial") && e.getValue("error") == null);
        for (int i = 1; i < partials.size(); i++) {
            String before = partials.get(i - 1).getString("output");
            assertThat(partials.get(i).getString("output")).startsWith(before).hasSizeGreaterThan(before.length());
        }
        assertThat(last.getString("output")).isEqualTo("Echo (m): one two three four five six seven eight nine ten")
                .isEqualTo(partials.get(partials.size() - 1).getString("output"));
        assertThat(last.getBoolean("partial")).isFalse();
        assertThat(last.getJsonObject("usage").getLong("total_tokens")).isPositive();
        List<Map<String, Object>> journal = api().get("/_sim/requests?path=/run/openrouter/router/stream").then().extract().jsonPath()
                .getList("requests");
        assertThat(journal).hasSize(1);
        assertThat(journal.get(0)).extracting(e -> ((Map<?, ?>) e.get("body")).get("prompt")).isEqualTo(body.get("prompt"));
    }

    @Test
    void streamsOnlyTheRoutersAndAnswersErrorsAsJson() {
        fastRuns();
        api().contentType(ContentType.JSON).body(Map.of("prompt", "p")).post("/run/fal-ai/flux/schnell/stream").then().statusCode(404)
                .body("detail", equalTo("Streaming is not supported for fal-ai/flux/schnell"));
        api().contentType(ContentType.JSON).body(Map.of("prompt", "p", "model", "m", "temperature", 3)).post("/run/" + ROUTER + "/stream")
                .then().statusCode(422).contentType(ContentType.JSON).body("detail[0].loc", equalTo(List.of("body", "temperature")));
        api().contentType(ContentType.JSON).body(Map.of("target", "run", "endpoint", ROUTER, "status", 503)).post("/_sim/faults");
        api().contentType(ContentType.JSON).body(Map.of("prompt", "p", "model", "m")).post("/run/" + ROUTER + "/stream").then().statusCode(503);
        script(Map.of("mode", "empty"));
        List<JsonObject> events = events(api().contentType(ContentType.JSON).body(Map.of("prompt", "p", "model", "m"))
                .post("/run/" + ROUTER + "/stream"));
        assertThat(events).singleElement().satisfies(e -> assertThat(e.getString("output")).isEmpty());
    }

    // ---- background and product endpoints --------------------------------------------------------

    static final String REPLACE = "/run/fal-ai/bria/background/replace";

    @Test
    void briaReplaceTakesAPromptOrAReferenceNeverBoth() {
        fastRuns();
        String image = dataUrl(Png.render(320, 240, 1));
        String reference = dataUrl(Png.render(64, 64, 2));
        api().contentType(ContentType.JSON).body(Map.of("image_url", image, "prompt", "a beach", "ref_image_url", reference)).post(REPLACE)
                .then().statusCode(422).body("detail[0].type", equalTo("value_error")).body("detail[0].loc", equalTo(List.of("body")))
                .body("detail[0].msg", equalTo("Provide either prompt or ref_image_url, not both"));
        api().contentType(ContentType.JSON).body(Map.of("image_url", image, "ref_image_url", "")).post(REPLACE)
                .then().statusCode(422).body("detail[0].msg", equalTo("Provide either prompt or ref_image_url"));
        api().contentType(ContentType.JSON).body(Map.of("image_url", image, "prompt", "")).post(REPLACE)
                .then().statusCode(422).body("detail[0].type", equalTo("string_too_short")).body("detail[0].loc", equalTo(List.of("body", "prompt")));

        JsonObject byPrompt = new JsonObject(api().contentType(ContentType.JSON).body(Map.of("image_url", image, "prompt", "a beach",
                "ref_image_url", "", "seed", 5)).post(REPLACE).then().statusCode(200).extract().asString());
        assertThat(byPrompt.fieldNames()).containsExactlyInAnyOrder("images", "seed");
        assertThat(byPrompt.getJsonArray("images").getJsonObject(0).getInteger("width")).isEqualTo(320);
        assertThat(byPrompt.getJsonArray("images").getJsonObject(0).getInteger("height")).isEqualTo(240);
        // the output follows the product picture, not the reference
        api().contentType(ContentType.JSON).body(Map.of("image_url", image, "ref_image_url", reference)).post(REPLACE)
                .then().statusCode(200).body("images[0].width", equalTo(320)).body("images[0].height", equalTo(240));
    }

    @Test
    void briaRemoveAnswersOneImageOfTheInputsSize() {
        fastRuns();
        JsonObject out = new JsonObject(api().contentType(ContentType.JSON).body(Map.of("image_url", dataUrl(Png.render(320, 240, 1))))
                .post("/run/fal-ai/bria/background/remove").then().statusCode(200).extract().asString());
        assertThat(out.fieldNames()).containsExactly("image");
        assertThat(out.getJsonObject("image").getInteger("width")).isEqualTo(320);
        assertThat(out.getJsonObject("image").getInteger("height")).isEqualTo(240);
    }

    @Test
    void productPhotographyPaintsTheAskedRatio() {
        fastRuns();
        String product = dataUrl(Png.render(320, 240, 1));
        String path = "/run/fal-ai/image-apps-v2/product-photography";
        JsonObject wide = new JsonObject(api().contentType(ContentType.JSON).body(Map.of("product_image_url", product,
                "aspect_ratio", Map.of("ratio", "16:9"))).post(path).then().statusCode(200).extract().asString());
        JsonArray images = wide.getJsonArray("images");
        assertThat(images.getJsonObject(0).getInteger("width")).isEqualTo(1024);
        assertThat(images.getJsonObject(0).getInteger("height")).isEqualTo(576);
        api().contentType(ContentType.JSON).body(Map.of("product_image_url", product)).post(path).then().statusCode(200)
                .body("images[0].width", equalTo(1024)).body("images[0].height", equalTo(1024));
        api().contentType(ContentType.JSON).body(Map.of("product_image_url", product, "aspect_ratio", Map.of("ratio", "2:1"))).post(path)
                .then().statusCode(422).body("detail[0].type", equalTo("literal_error"))
                .body("detail[0].loc", equalTo(List.of("body", "aspect_ratio", "ratio")));
        api().contentType(ContentType.JSON).body(Map.of("product_image_url", product, "aspect_ratio", Map.of("ratio", "1:1", "mood", "calm")))
                .post(path).then().statusCode(422).body("detail[0].type", equalTo("extra_forbidden"))
                .body("detail[0].loc", equalTo(List.of("body", "aspect_ratio", "mood")));
    }

    // ---- status stream (fal-api.md section 5.5) ----------------------------------------------------

    static final HttpClient SSE_CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    static void settings(Map<String, Object> s) {
        api().contentType(ContentType.JSON).body(s).put("/_sim/settings").then().statusCode(200);
    }

    static String streamPath(String id) {
        return "/queue/fal-ai/flux/requests/" + id + "/status/stream";
    }

    /** A server-sent event stream read on its own thread, each line stamped with the moment it arrived. */
    static final class Sse implements AutoCloseable {
        /** A line, or the end of the stream: {@code broken} when the connection went without a proper end. */
        record Line(long at, String text, boolean end, boolean broken) {
            boolean data() {
                return text != null && text.startsWith("data: ");
            }

            JsonObject json() {
                return new JsonObject(text.substring("data: ".length()));
            }
        }

        final HttpResponse<Stream<String>> response;
        final BlockingQueue<Line> lines = new LinkedBlockingQueue<>();

        private Sse(HttpResponse<Stream<String>> response) {
            this.response = response;
            Thread reader = new Thread(() -> {
                try {
                    response.body().forEach(l -> lines.add(new Line(System.currentTimeMillis(), l, false, false)));
                    lines.add(new Line(System.currentTimeMillis(), null, true, false));
                } catch (UncheckedIOException e) {
                    lines.add(new Line(System.currentTimeMillis(), null, true, true));
                }
            }, "sse-reader");
            reader.setDaemon(true);
            reader.start();
        }

        static Sse open(String path) throws Exception {
            HttpRequest request = HttpRequest.newBuilder(URI.create(sim.baseUrl() + path)).header("Accept", "text/event-stream")
                    .timeout(Duration.ofSeconds(10)).GET().build();
            return new Sse(SSE_CLIENT.send(request, HttpResponse.BodyHandlers.ofLines()));
        }

        /** The next non-blank line (or the end), failing the test if none comes in time. */
        Line next() throws InterruptedException {
            while (true) {
                Line l = lines.poll(10, TimeUnit.SECONDS);
                assertThat(l).as("a line of the stream within 10 s").isNotNull();
                if (l.end() || !l.text().isEmpty()) {
                    return l;
                }
            }
        }

        /** Every non-blank line up to and including the end. */
        List<Line> toEnd() throws InterruptedException {
            List<Line> all = new ArrayList<>();
            Line l;
            do {
                l = next();
                all.add(l);
            } while (!l.end());
            return all;
        }

        static List<JsonObject> events(List<Line> lines) {
            return lines.stream().filter(Line::data).map(Line::json).toList();
        }

        @Override
        public void close() {
            response.body().close();
        }
    }

    @Test
    void statusStreamCountsDownStartsWithGrowingLogsThenCompletesAndCloses() throws Exception {
        settings(Map.of("queue_ms", 1500, "queue_positions", 3, "latency_ms", 600));
        String id = submit(Map.of("prompt", "p"));
        List<Sse.Line> lines;
        try (Sse sse = Sse.open(streamPath(id) + "?logs=1")) {
            assertThat(sse.response.statusCode()).isEqualTo(200);
            assertThat(sse.response.headers().firstValue("content-type")).hasValueSatisfying(ct -> assertThat(ct).startsWith("text/event-stream"));
            lines = sse.toEnd();
        }
        assertThat(lines.get(lines.size() - 1).broken()).as("closed properly after COMPLETED").isFalse();
        assertThat(lines).filteredOn(l -> !l.end()).allMatch(Sse.Line::data); // the default 15 s keep-alive never came
        List<JsonObject> events = Sse.events(lines);
        List<String> statuses = events.stream().map(e -> e.getString("status")).toList();
        assertThat(statuses.get(0)).isEqualTo("IN_QUEUE");
        assertThat(statuses.get(statuses.size() - 1)).isEqualTo("COMPLETED");
        assertThat(statuses).containsSubsequence("IN_QUEUE", "IN_PROGRESS", "COMPLETED").filteredOn("COMPLETED"::equals).hasSize(1);
        assertThat(statuses.lastIndexOf("IN_QUEUE")).isLessThan(statuses.indexOf("IN_PROGRESS"));
        assertThat(events).allMatch(e -> id.equals(e.getString("request_id")) && e.getString("status_url").endsWith("/requests/" + id + "/status"));

        List<Integer> positions = events.stream().filter(e -> "IN_QUEUE".equals(e.getString("status"))).map(e -> e.getInteger("queue_position")).toList();
        assertThat(positions).hasSizeGreaterThanOrEqualTo(2).endsWith(0);
        for (int i = 1; i < positions.size(); i++) {
            assertThat(positions.get(i)).as("positions count down").isLessThan(positions.get(i - 1));
        }
        List<JsonArray> logs = events.stream().filter(e -> "IN_PROGRESS".equals(e.getString("status"))).map(e -> e.getJsonArray("logs")).toList();
        assertThat(logs).hasSizeGreaterThanOrEqualTo(2);
        assertThat(logs.get(0).getJsonObject(0).getString("message")).isEqualTo("Loading model weights");
        for (int i = 1; i < logs.size(); i++) {
            assertThat(logs.get(i).size()).as("each event brings a new log line").isGreaterThan(logs.get(i - 1).size());
        }
        assertThat(logs.get(logs.size() - 1).size()).isEqualTo(5);
        // the last event is exactly what the status endpoint answers
        JsonObject completed = events.get(events.size() - 1);
        assertThat(completed.getJsonObject("metrics").getDouble("inference_time")).isPositive();
        assertThat(completed).isEqualTo(new JsonObject(api().get("/queue/fal-ai/flux/requests/" + id + "/status?logs=1").then().statusCode(200)
                .extract().asString()));
        List<Map<String, Object>> journal = api().get("/_sim/requests?method=GET&path=" + streamPath(id)).then().extract().jsonPath().getList("requests");
        assertThat(journal).singleElement().satisfies(e -> assertThat(e.get("query")).isEqualTo("logs=1"));
    }

    @Test
    void withoutLogsAStreamSendsEachStatusOnceAndManyStreamsEndTogether() throws Exception {
        settings(Map.of("queue_ms", 1500, "queue_positions", 0, "latency_ms", 500));
        List<Sse> streams = new ArrayList<>();
        try {
            for (int i = 0; i < 100; i++) {
                // the JDK client, not RestAssured: a hundred RestAssured calls take seconds of their own
                HttpResponse<String> submitted = SSE_CLIENT.send(HttpRequest.newBuilder(URI.create(sim.baseUrl() + "/queue/fal-ai/flux/schnell"))
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"p" + i + "\"}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(submitted.statusCode()).isEqualTo(200);
                streams.add(Sse.open(streamPath(new JsonObject(submitted.body()).getString("request_id"))));
            }
            assertThat(sim.openStatusStreams()).isGreaterThan(0);
            for (Sse sse : streams) {
                List<String> statuses = Sse.events(sse.toEnd()).stream().map(e -> e.getString("status")).toList();
                // nothing changes for a listener without logs while the model runs: one IN_PROGRESS, however long it takes
                assertThat(statuses).containsExactly("IN_QUEUE", "IN_PROGRESS", "COMPLETED");
            }
        } finally {
            streams.forEach(Sse::close);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> sim.openStatusStreams() == 0);
    }

    @Test
    void aStreamOpenedAfterCompletionSendsOneCompletedEventAndCloses() throws Exception {
        fastRuns();
        String id = submit(Map.of("prompt", "p"));
        await().atMost(Duration.ofSeconds(5)).until(() -> api().get("/queue/fal-ai/flux/requests/" + id + "/status").statusCode() == 200);
        try (Sse sse = Sse.open(streamPath(id))) {
            List<Sse.Line> lines = sse.toEnd();
            assertThat(lines).hasSize(2);
            assertThat(lines.get(1).broken()).isFalse();
            assertThat(lines.get(0).json()).isEqualTo(new JsonObject(api().get("/queue/fal-ai/flux/requests/" + id + "/status").asString()));
            assertThat(lines.get(0).json().getString("status")).isEqualTo("COMPLETED");
        }
    }

    @Test
    void cancelDuringAStreamEndsItWithCompletedCarryingTheError() throws Exception {
        settings(Map.of("queue_ms", 5000, "queue_positions", 2, "latency_ms", 5000));
        String queued = submit(Map.of("prompt", "p"));
        try (Sse sse = Sse.open(streamPath(queued) + "?logs=1")) {
            assertThat(sse.next().json().getString("status")).isEqualTo("IN_QUEUE");
            api().put("/queue/fal-ai/flux/requests/" + queued + "/cancel").then().statusCode(200).body("status", equalTo("OK"));
            List<Sse.Line> rest = sse.toEnd();
            assertThat(rest.get(rest.size() - 1).broken()).isFalse();
            JsonObject completed = Sse.events(rest).get(Sse.events(rest).size() - 1);
            assertThat(completed.getString("status")).isEqualTo("COMPLETED");
            assertThat(completed.getString("error")).isEqualTo("Request cancelled by the client.");
            assertThat(completed.getString("error_type")).isEqualTo("client_cancelled");
            assertThat(completed.getJsonArray("logs")).isEmpty(); // it never started
        }
        settings(Map.of("queue_ms", 0, "latency_ms", 5000));
        String running = submit(Map.of("prompt", "p"));
        try (Sse sse = Sse.open(streamPath(running))) {
            assertThat(sse.next().json().getString("status")).isEqualTo("IN_PROGRESS");
            api().put("/queue/fal-ai/flux/requests/" + running + "/cancel").then().statusCode(202).body("status", equalTo("CANCELLATION_REQUESTED"));
            List<JsonObject> rest = Sse.events(sse.toEnd());
            assertThat(rest).singleElement().satisfies(e -> {
                assertThat(e.getString("status")).isEqualTo("COMPLETED");
                assertThat(e.getString("error_type")).isEqualTo("client_cancelled");
            });
        }
    }

    @Test
    void keepAliveCommentsComeAtTheConfiguredInterval() throws Exception {
        api().contentType(ContentType.JSON).body(Map.of("queue_ms", 5000, "queue_positions", 0, "keep_alive_ms", 100)).put("/_sim/settings")
                .then().statusCode(200).body("keep_alive_ms", equalTo(100));
        String id = submit(Map.of("prompt", "p"));
        long opened = System.nanoTime();
        try (Sse sse = Sse.open(streamPath(id))) {
            Sse.Line first = sse.next();
            assertThat(first.json().getString("status")).isEqualTo("IN_QUEUE");
            int keepAlives = 0;
            long elapsedMs;
            do {
                assertThat(sse.next().text()).isEqualTo(": keep-alive");
                keepAlives++;
                elapsedMs = (System.nanoTime() - opened) / 1_000_000;
            } while (elapsedMs < 650);
            // counted against the client's clock from before the request: every keep-alive was sent after it, so however
            // the lines were bunched on the way (a busy machine reads two at once), no more than one per interval can
            // have arrived by now. The gap between two reads said nothing: bunched lines arrive 1 ms apart.
            assertThat(keepAlives).as("keep-alives within %d ms, at most one per 100 ms", elapsedMs).isBetween(3, (int) (elapsedMs / 100));
            api().put("/queue/fal-ai/flux/requests/" + id + "/cancel").then().statusCode(200);
            assertThat(Sse.events(sse.toEnd())).last().satisfies(e -> assertThat(e.getString("status")).isEqualTo("COMPLETED"));
        }
    }

    @Test
    void completionReachesAnOpenStreamAtOnce() throws Exception {
        settings(Map.of("queue_ms", 0, "queue_positions", 0, "latency_ms", 300));
        String id = submit(Map.of("prompt", "p"));
        try (Sse sse = Sse.open(streamPath(id))) {
            List<Sse.Line> lines = sse.toEnd();
            Sse.Line completed = lines.stream().filter(l -> l.data() && "COMPLETED".equals(l.json().getString("status"))).findFirst().orElseThrow();
            // the result is there by the time the event is: it was not sent early ...
            api().get("/queue/fal-ai/flux/requests/" + id).then().statusCode(200);
            long done = sim.completedAt(id);
            assertThat(done).isPositive();
            // ... nor late: pushed by the completion itself (a few ms), not found by a later poll; the bound is loose on purpose
            assertThat(completed.at() - done).isLessThan(300);
        }
    }

    @Test
    void streamFaultsDropAfterTheFirstEventOrAnswerAnError() throws Exception {
        settings(Map.of("queue_ms", 5000, "queue_positions", 2, "latency_ms", 1000));
        String id = submit(Map.of("prompt", "p"));
        api().contentType(ContentType.JSON).body(Map.of("target", "stream", "drop", true)).post("/_sim/faults").then().statusCode(204);
        try (Sse sse = Sse.open(streamPath(id))) {
            List<Sse.Line> lines = sse.toEnd();
            assertThat(Sse.events(lines)).singleElement().satisfies(e -> assertThat(e.getString("status")).isEqualTo("IN_QUEUE"));
        }
        // the request itself goes on: a client that lost its stream polls instead
        api().get("/queue/fal-ai/flux/requests/" + id + "/status").then().statusCode(202).body("status", equalTo("IN_QUEUE"));
        assertThat(sim.openStatusStreams()).isZero();

        api().contentType(ContentType.JSON).body(Map.of("target", "stream", "status", 503, "error_type", "runner_connection_error"))
                .post("/_sim/faults").then().statusCode(204);
        api().get(streamPath(id)).then().statusCode(503).header("X-Fal-Error-Type", "runner_connection_error");
        api().contentType(ContentType.JSON).body(Map.of("target", "stream", "delay_ms", 300)).post("/_sim/faults").then().statusCode(204);
        long before = System.currentTimeMillis();
        try (Sse sse = Sse.open(streamPath(id))) {
            assertThat(sse.next().json().getString("status")).isEqualTo("IN_QUEUE");
            assertThat(System.currentTimeMillis() - before).isGreaterThanOrEqualTo(300);
        }
        // owner/app only, like status; unknown ids are 404
        api().get("/queue/fal-ai/flux/schnell/requests/" + id + "/status/stream").then().statusCode(404);
        api().get("/queue/fal-ai/flux/requests/nope/status/stream").then().statusCode(404);
        api().put("/queue/fal-ai/flux/requests/" + id + "/cancel").then().statusCode(200);
    }

    @Test
    void aClientThatHangsUpLeavesNoListenerBehind() throws Exception {
        await().atMost(Duration.ofSeconds(5)).until(() -> sim.openStatusStreams() == 0);
        settings(Map.of("queue_ms", 5000, "queue_positions", 2));
        String id = submit(Map.of("prompt", "p"));
        URI base = URI.create(sim.baseUrl());
        try (Socket socket = new Socket(base.getHost(), base.getPort())) {
            socket.getOutputStream().write(("GET " + streamPath(id) + " HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            String line;
            while ((line = in.readLine()) != null && !line.startsWith("data: ")) {
                // headers and the chunk size
            }
            assertThat(line).contains("IN_QUEUE");
            assertThat(sim.openStatusStreams()).isEqualTo(1);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> sim.openStatusStreams() == 0);
        api().put("/queue/fal-ai/flux/requests/" + id + "/cancel").then().statusCode(200);
    }

    // ---- pricing (fal-api.md section 12) ----------------------------------------------------------

    static final String PRICING = "/platform/v1/models/pricing";

    static JsonObject prices(String ids) {
        return new JsonObject(api().queryParam("endpoint_id", ids).get(PRICING).then().statusCode(200).extract().asString());
    }

    static JsonObject estimate(Map<String, Object> body) {
        return new JsonObject(api().contentType(ContentType.JSON).body(body).post(PRICING + "/estimate").then().statusCode(200)
                .extract().asString());
    }

    @Test
    void pricingApiAnswersKnownEndpointsInFalsShape() {
        JsonObject answer = prices("fal-ai/flux/schnell,unknown/model,fal-ai/bria/background/remove");
        assertThat(answer.getValue("next_cursor")).isNull();
        assertThat(answer.getBoolean("has_more")).isFalse();
        assertThat(answer.getJsonArray("prices")).containsExactly(
                new JsonObject().put("endpoint_id", "fal-ai/flux/schnell").put("unit_price", 0.003).put("unit", "megapixels").put("currency", "USD"),
                new JsonObject().put("endpoint_id", "fal-ai/bria/background/remove").put("unit_price", 0.018).put("unit", "images").put("currency", "USD"));
        // every endpoint the simulator answers has a price; the routers bill dollars at 1 per unit
        JsonArray all = prices(String.join(",", SimSchema.catalogue().keySet())).getJsonArray("prices");
        assertThat(all).hasSize(SimSchema.catalogue().size());
        assertThat(all.stream().map(JsonObject.class::cast).filter(p -> p.getString("endpoint_id").startsWith("openrouter/router")))
                .hasSize(2).allMatch(p -> "usd".equals(p.getString("unit")) && p.getDouble("unit_price") == 1.0);
        assertThat(prices("fal-ai/flux-general/image-to-image").getJsonArray("prices").getJsonObject(0).getDouble("unit_price")).isEqualTo(0.075);
        // 1 to 50 ids
        api().get(PRICING).then().statusCode(422).body("detail[0].loc", equalTo(List.of("query", "endpoint_id")))
                .body("detail[0].type", equalTo("missing"));
        String tooMany = IntStream.range(0, 51).mapToObj(i -> "owner/app-" + i).collect(Collectors.joining(","));
        api().queryParam("endpoint_id", tooMany).get(PRICING).then().statusCode(422).body("detail[0].type", equalTo("too_long"));
        assertThat(prices(tooMany.substring(0, tooMany.lastIndexOf(','))).getJsonArray("prices")).isEmpty(); // 50 is fine
    }

    @Test
    void estimatesMultiplyUnitPricesByUnitsOrByTypicalCalls() {
        JsonObject perUnit = estimate(Map.of("estimate_type", "unit_price", "endpoints", Map.of(
                "fal-ai/flux/schnell", Map.of("unit_quantity", 2), "fal-ai/bria/background/remove", Map.of("unit_quantity", 3))));
        assertThat(perUnit).isEqualTo(new JsonObject().put("estimate_type", "unit_price").put("total_cost", 0.06).put("currency", "USD"));
        // one typical schnell call is 1 MP (landscape_4_3); flux-general bills a 1024² input and output, 2 + 2 MP
        JsonObject historical = estimate(Map.of("estimate_type", "historical_api_price", "endpoints", Map.of(
                "fal-ai/flux/schnell", Map.of("call_quantity", 10), "fal-ai/flux-general/image-to-image", Map.of("call_quantity", 2))));
        assertThat(historical.getDouble("total_cost")).isEqualTo(0.63);
        assertThat(historical.getString("estimate_type")).isEqualTo("historical_api_price");
        api().contentType(ContentType.JSON).body(Map.of("estimate_type", "cheap", "endpoints", Map.of("fal-ai/flux/schnell", Map.of("unit_quantity", 1))))
                .post(PRICING + "/estimate").then().statusCode(422).body("detail[0].loc", equalTo(List.of("body", "estimate_type")));
        api().contentType(ContentType.JSON).body(Map.of("estimate_type", "unit_price", "endpoints", Map.of("fal-ai/flux/schnell", Map.of("call_quantity", 1))))
                .post(PRICING + "/estimate").then().statusCode(422)
                .body("detail[0].loc", equalTo(List.of("body", "endpoints", "fal-ai/flux/schnell", "unit_quantity")));
    }

    @Test
    void testsCanChangeAPriceUntilReset() {
        api().contentType(ContentType.JSON).body(Map.of("fal-ai/flux/schnell", Map.of("unit_price", 0.005))).put("/_sim/pricing")
                .then().statusCode(200).body("prices[0].unit_price", equalTo(0.005f));
        assertThat(prices("fal-ai/flux/schnell").getJsonArray("prices").getJsonObject(0).getDouble("unit_price")).isEqualTo(0.005);
        assertThat(estimate(Map.of("estimate_type", "unit_price", "endpoints", Map.of("fal-ai/flux/schnell", Map.of("unit_quantity", 2))))
                .getDouble("total_cost")).isEqualTo(0.01);
        api().contentType(ContentType.JSON).body(Map.of("fal-ai/nope", Map.of("unit_price", 1))).put("/_sim/pricing").then().statusCode(400);
        api().contentType(ContentType.JSON).body(Map.of("fal-ai/flux/schnell", Map.of("unit_price", "free"))).put("/_sim/pricing").then().statusCode(400);
        api().post("/_sim/reset").then().statusCode(204);
        assertThat(prices("fal-ai/flux/schnell").getJsonArray("prices").getJsonObject(0).getDouble("unit_price")).isEqualTo(0.003);
    }

    // ---- billable units (fal-api.md section 12) -----------------------------------------------------

    static final String UNITS = "x-fal-billable-units";

    @Test
    void schnellBillsOutputMegapixelsRoundedUpPerImage() {
        fastRuns();
        // 1024x1024 is 1.05 MP: 2 units; the default landscape_4_3 (0.79 MP) is 1
        api().contentType(ContentType.JSON).body(Map.of("prompt", "p", "image_size", "square_hd")).post("/run/fal-ai/flux/schnell")
                .then().statusCode(200).header(UNITS, "2");
        api().contentType(ContentType.JSON).body(Map.of("prompt", "p")).post("/run/fal-ai/flux/schnell").then().statusCode(200).header(UNITS, "1");
        String id = submit(Map.of("prompt", "p", "image_size", "square_hd", "num_images", 2));
        await().atMost(Duration.ofSeconds(5)).until(() -> api().get("/queue/fal-ai/flux/requests/" + id + "/status").statusCode() == 200);
        api().get("/queue/fal-ai/flux/requests/" + id).then().statusCode(200).header(UNITS, "4");
    }

    @Test
    void imageToImageBillsInputAndOutputMegapixels() {
        fastRuns();
        String input = dataUrl(Png.render(300, 260, 1)); // 0.08 MP: 1 unit
        api().contentType(ContentType.JSON).body(Map.of("prompt", "p", "image_url", input, "image_size", "square_hd"))
                .post("/run/fal-ai/flux-general/image-to-image").then().statusCode(200).header(UNITS, "3");
        String id = api().contentType(ContentType.JSON).body(Map.of("prompt", "p", "image_url", input)).post("/queue/fal-ai/flux-general/image-to-image")
                .then().statusCode(200).extract().path("request_id");
        await().atMost(Duration.ofSeconds(5)).until(() -> api().get("/queue/fal-ai/flux-general/requests/" + id + "/status").statusCode() == 200);
        api().get("/queue/fal-ai/flux-general/requests/" + id).then().statusCode(200).header(UNITS, "2"); // output follows the input
        // flux-2 edit reads (and bills) only the first three inputs: 3 + an output the size of the last input, 1
        api().contentType(ContentType.JSON).body(Map.of("prompt", "p", "image_urls", List.of(input, input, input, input)))
                .post("/run/fal-ai/flux-2/lora/edit").then().statusCode(200).header(UNITS, "4");
        // qwen bills the output only
        api().contentType(ContentType.JSON).body(Map.of("prompt", "p", "image_urls", List.of(input), "image_size", "square_hd"))
                .post("/run/fal-ai/qwen-image-edit-plus-lora").then().statusCode(200).header(UNITS, "2");
    }

    @Test
    void briaBillsPerImageAndRoutersBillDollars() {
        fastRuns();
        String image = dataUrl(Png.render(320, 240, 1));
        api().contentType(ContentType.JSON).body(Map.of("image_url", image, "prompt", "a beach", "num_images", 2)).post(REPLACE)
                .then().statusCode(200).header(UNITS, "2");
        api().contentType(ContentType.JSON).body(Map.of("image_url", image)).post("/run/fal-ai/bria/background/remove")
                .then().statusCode(200).header(UNITS, "1");
        Response answer = api().contentType(ContentType.JSON).body(Map.of("prompt", "Hello there", "system_prompt", "Be brief.",
                "model", "google/gemini-2.5-flash")).post("/run/" + ROUTER);
        assertThat(new JsonObject(answer.asString()).getJsonObject("usage").getDouble("cost")).isEqualTo(0.000029);
        assertThat(answer.header(UNITS)).isEqualTo("0.000029");
        Response streamed = api().contentType(ContentType.JSON).body(Map.of("prompt", "Hello there", "system_prompt", "Be brief.",
                "model", "google/gemini-2.5-flash")).post("/run/" + ROUTER + "/stream");
        assertThat(streamed.header(UNITS)).isEqualTo("0.000029");
        String id = api().contentType(ContentType.JSON).body(categorise(Png.render(300, 300, 7))).post("/queue/" + VISION)
                .then().statusCode(200).extract().path("request_id");
        await().atMost(Duration.ofSeconds(5)).until(() -> api().get("/queue/openrouter/router/requests/" + id + "/status").statusCode() == 200);
        Response result = api().get("/queue/openrouter/router/requests/" + id);
        assertThat(new java.math.BigDecimal(result.header(UNITS)))
                .isEqualByComparingTo(new java.math.BigDecimal(new JsonObject(result.asString()).getJsonObject("usage").getValue("cost").toString()));
    }

    @Test
    void failedRequestsCarryNoBillableUnits() {
        fastRuns();
        api().contentType(ContentType.JSON).body(Map.of("prompt", "p", "num_images", 9)).post("/run/fal-ai/flux/schnell")
                .then().statusCode(422).header(UNITS, nullValue());
        String invalid = submit(Map.of("prompt", "p", "num_images", 9));
        api().contentType(ContentType.JSON).body(Map.of("target", "complete", "status", 422)).post("/_sim/faults").then().statusCode(204);
        String modelError = submit(Map.of("prompt", "p"));
        for (String id : List.of(invalid, modelError)) {
            await().atMost(Duration.ofSeconds(5)).until(() -> api().get("/queue/fal-ai/flux/requests/" + id + "/status").statusCode() == 200);
            api().get("/queue/fal-ai/flux/requests/" + id).then().statusCode(422).header(UNITS, nullValue());
        }
        settings(Map.of("queue_ms", 0, "latency_ms", 5000));
        String cancelled = submit(Map.of("prompt", "p"));
        api().put("/queue/fal-ai/flux/requests/" + cancelled + "/cancel").then().statusCode(202);
        api().get("/queue/fal-ai/flux/requests/" + cancelled).then().statusCode(499).header(UNITS, nullValue());
    }

    // ---- settings ------------------------------------------------------------------------------------

    @Test
    void settingsAnswerSnakeCase() {
        JsonObject answer = new JsonObject(api().contentType(ContentType.JSON).body(Map.of("latency_ms", 50)).put("/_sim/settings")
                .then().statusCode(200).extract().asString());
        assertThat(answer).isEqualTo(new JsonObject().put("queue_ms", 100).put("queue_positions", 2).put("latency_ms", 50).put("keep_alive_ms", 15000)
                .put("video_bytes", 0).put("file_ttl_ms", 0));
        assertThat(new JsonObject(api().get("/_sim/settings").then().statusCode(200).extract().asString())).isEqualTo(answer);
        api().contentType(ContentType.JSON).body(Map.of("latency_ms", "slow")).put("/_sim/settings").then().statusCode(400);
        api().contentType(ContentType.JSON).body(Map.of("video_bytes", FalSimulator.MAX_VIDEO_BYTES + 1)).put("/_sim/settings").then().statusCode(400)
                .body("detail", org.hamcrest.Matchers.containsString("video_bytes"));
    }

    // ---- video (fal-video.md) -----------------------------------------------------------------------

    static final String VEO = "fal-ai/veo3.1/fast";
    static final String KLING_I2V = "fal-ai/kling-video/v2.5-turbo/pro/image-to-video";
    static final String HAILUO_I2V = "fal-ai/minimax/hailuo-02/standard/image-to-video";

    /** A video request through the queue, to its end: the result's JSON and its billable units. */
    record VideoResult(JsonObject output, String units) {
        JsonObject video() {
            return output.getJsonObject("video");
        }
    }

    static VideoResult video(String endpoint, Map<String, Object> body) {
        String id = api().contentType(ContentType.JSON).body(body).post("/queue/" + endpoint).then().statusCode(200)
                .body("status", equalTo("IN_QUEUE")).extract().path("request_id");
        String[] parts = endpoint.split("/");
        String base = "/queue/" + parts[0] + "/" + parts[1] + "/requests/" + id;
        await().atMost(Duration.ofSeconds(10)).until(() -> api().get(base + "/status").statusCode() == 200);
        Response result = api().get(base);
        assertThat(result.statusCode()).as(result.asString()).isEqualTo(200);
        return new VideoResult(new JsonObject(result.asString()), result.header(UNITS));
    }

    /** Downloads a file as a stream, checking it as it passes (never held): what it is and how many bytes came. */
    static VideoInfo.Checked download(String url) throws Exception {
        HttpResponse<java.io.InputStream> response = SSE_CLIENT.send(HttpRequest.newBuilder(URI.create(url)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).contains("video/mp4");
        VideoInfo.Reader reader = VideoInfo.reader();
        byte[] chunk = new byte[1 << 16];
        try (java.io.InputStream in = response.body()) {
            for (int n; (n = in.read(chunk)) > 0;) {
                reader.feed(chunk, 0, n);
            }
        }
        return reader.finish();
    }

    @Test
    void videoComesThroughTheQueueAsARealMp4OfTheAskedLengthBilledPerSecond() throws Exception {
        fastRuns();
        VideoResult result = video(VEO, Map.of("prompt", "a red bicycle", "duration", "6s", "resolution", "1080p", "generate_audio", false));
        // Veo answers the file object only: no seed, no size fields (fal-video.md §1)
        assertThat(result.output().fieldNames()).containsExactly("video");
        JsonObject file = result.video();
        assertThat(file.getString("content_type")).isEqualTo("video/mp4");
        assertThat(file.getString("file_name")).isEqualTo("output.mp4");
        VideoInfo mp4 = download(file.getString("url")).video();
        assertThat(mp4).isNotNull();
        assertThat(mp4.size()).isEqualTo(file.getLong("file_size"));
        assertThat(mp4.seconds()).isEqualTo(6.0);
        assertThat(mp4.width()).isEqualTo(1920);
        assertThat(mp4.height()).isEqualTo(1080);
        assertThat(mp4.hasAudio()).isFalse();
        assertThat(result.units()).isEqualTo("12"); // 6 s × 2 units ($0.10 a second silent at $0.05 a unit)
    }

    @Test
    void veoTurnsAudioOnByDefaultAndBillsItAsFalWould() throws Exception {
        fastRuns();
        VideoResult result = video(VEO, Map.of("prompt", "a red bicycle", "duration", "4s"));
        VideoInfo mp4 = download(result.video().getString("url")).video();
        assertThat(mp4.hasAudio()).isTrue();
        assertThat(mp4.seconds()).isEqualTo(4.0);
        assertThat(result.units()).isEqualTo("12"); // 4 s × 3 units: $0.15 a second with audio
        VideoResult fourK = video(VEO, Map.of("prompt", "a red bicycle", "duration", "8s", "resolution", "4k", "aspect_ratio", "9:16"));
        assertThat(fourK.units()).isEqualTo("56"); // 8 s × 7 units: $0.35 a second at 4k with audio
        VideoInfo tall = download(fourK.video().getString("url")).video();
        assertThat(tall.width()).isEqualTo(2160);
        assertThat(tall.height()).isEqualTo(3840);
    }

    @Test
    void imageToVideoFetchesThePhotoAndFollowsItsShape() throws Exception {
        fastRuns();
        String photo = dataUrl(Png.render(300, 500, 3));
        VideoResult kling = video(KLING_I2V, Map.of("prompt", "the bottle turns", "image_url", photo, "duration", "10"));
        assertThat(kling.units()).isEqualTo("10");
        VideoInfo clip = download(kling.video().getString("url")).video();
        assertThat(clip.seconds()).isEqualTo(10.0);
        assertThat(clip.width()).isEqualTo(1080); // Kling makes 1080p; a portrait photo makes a portrait clip
        assertThat(clip.height()).isEqualTo(1920);
        VideoResult hailuo = video(HAILUO_I2V, Map.of("prompt", "the bottle turns", "image_url", photo, "resolution", "512P",
                "prompt_optimizer", false));
        assertThat(hailuo.units()).isEqualTo("2.28"); // fal's default 6 s at 512P: 0.38 of a 768P second each
        // a photo fal cannot fetch fails the request, as on fal
        String id = api().contentType(ContentType.JSON).body(Map.of("prompt", "p", "image_url", sim.baseUrl() + "/files/sim/none.png"))
                .post("/queue/" + KLING_I2V).then().statusCode(200).extract().path("request_id");
        String base = "/queue/fal-ai/kling-video/requests/" + id;
        await().atMost(Duration.ofSeconds(10)).until(() -> api().get(base + "/status").statusCode() == 200);
        api().get(base).then().statusCode(422).body("detail[0].type", equalTo("file_download_error")).header(UNITS, nullValue());
    }

    @Test
    void refusesADurationOfTheWrongTypeAndUnknownValuesWithFalsDetail() {
        api().contentType(ContentType.JSON).body(Map.of("prompt", "p", "duration", 5)).post("/run/fal-ai/kling-video/v2.5-turbo/pro/text-to-video")
                .then().statusCode(422).body("detail[0].loc", equalTo(List.of("body", "duration"))).body("detail[0].type", equalTo("literal_error"))
                .body("detail[0].msg", equalTo("Input should be '5' or '10'")).body("detail[0].input", equalTo(5));
        api().contentType(ContentType.JSON).body(Map.of("prompt", "p", "duration", "8", "resolution", "720P")).post("/run/" + VEO)
                .then().statusCode(422)
                .body("detail.find { it.loc[1] == 'duration' }.msg", equalTo("Input should be '4s', '6s' or '8s'"))
                .body("detail.find { it.loc[1] == 'resolution' }.msg", equalTo("Input should be '720p', '1080p' or '4k'"));
        api().contentType(ContentType.JSON).body(Map.of("prompt", "p", "image_url", "https://x.example/a.png", "resolution", "720p"))
                .post("/run/" + HAILUO_I2V).then().statusCode(422).body("detail[0].msg", equalTo("Input should be '512P' or '768P'"));
        api().contentType(ContentType.JSON).body(Map.of("prompt", "x".repeat(2501))).post("/run/fal-ai/kling-video/v2.5-turbo/pro/text-to-video")
                .then().statusCode(422).body("detail[0].type", equalTo("string_too_long")).body("detail[0].ctx.max_length", equalTo(2500));
        // through the queue the request is accepted, then completes with the same 422 (fal-api.md §13)
        String id = api().contentType(ContentType.JSON).body(Map.of("prompt", "p", "duration", 6)).post("/queue/" + VEO).then().statusCode(200)
                .extract().path("request_id");
        await().atMost(Duration.ofSeconds(5)).until(() -> api().get("/queue/fal-ai/veo3.1/requests/" + id + "/status").statusCode() == 200);
        api().get("/queue/fal-ai/veo3.1/requests/" + id).then().statusCode(422).body("detail[0].loc", equalTo(List.of("body", "duration")));
    }

    @Test
    void videoWaitsInTheQueueWithPositionsAndRunsForMinutesWithSparseLogs() {
        settings(Map.of("queue_ms", 400, "queue_positions", 4, "latency_ms", 600_000));
        String id = api().contentType(ContentType.JSON).body(Map.of("prompt", "p")).post("/queue/" + VEO).then().statusCode(200)
                .body("queue_position", equalTo(4)).extract().path("request_id");
        String status = "/queue/fal-ai/veo3.1/requests/" + id + "/status";
        api().get(status).then().statusCode(202).body("status", equalTo("IN_QUEUE")).body("queue_position", org.hamcrest.Matchers.lessThan(4));
        await().atMost(Duration.ofSeconds(5)).until(() -> "IN_PROGRESS".equals(api().get(status).then().extract().path("status")));
        // ten minutes of work ahead, and fal's partner models write no logs (fal-video.md §3): no progress is invented
        api().get(status + "?logs=1").then().statusCode(202).body("status", equalTo("IN_PROGRESS")).body("logs", equalTo(List.of()));
        api().put("/queue/fal-ai/veo3.1/requests/" + id + "/cancel").then().statusCode(202);
    }

    @Test
    void servesVideoAtTheConfiguredSizeStreamedAsAValidMp4() throws Exception {
        fastRuns();
        settings(Map.of("video_bytes", FalSimulator.MAX_VIDEO_BYTES));
        VideoResult result = video(VEO, Map.of("prompt", "p", "duration", "4s", "generate_audio", false));
        assertThat(result.video().getLong("file_size")).isEqualTo(FalSimulator.MAX_VIDEO_BYTES);
        VideoInfo.Checked checked = download(result.video().getString("url"));
        assertThat(checked.refusal()).isNull();
        assertThat(checked.video().size()).isEqualTo(FalSimulator.MAX_VIDEO_BYTES);
        assertThat(checked.video().seconds()).isEqualTo(4.0);
        // fal's own VideoFile extras come only where fal sends them (Wan); Veo's file object has the four fields
        assertThat(result.video().fieldNames()).containsExactlyInAnyOrder("url", "content_type", "file_name", "file_size");
    }

    @Test
    void fileFaultsCutTheBodyShortServeAPageOrExpireTheUrl() throws Exception {
        fastRuns();
        settings(Map.of("video_bytes", 3_000_000));
        String url = video(VEO, Map.of("prompt", "p", "duration", "4s")).video().getString("url");
        // a connection cut under a Content-Length of the whole file
        fault(Map.of("target", "file", "cut_after", 1_000_000));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> SSE_CLIENT.send(HttpRequest.newBuilder(URI.create(url)).build(),
                HttpResponse.BodyHandlers.ofByteArray())).as("the body was cut short, so the client's read fails").isInstanceOf(java.io.IOException.class);
        // a whole answer that is shorter than the file_size fal gave
        fault(Map.of("target", "file", "short_body", 2_000_000));
        HttpResponse<byte[]> shorter = SSE_CLIENT.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(shorter.body()).hasSize(2_000_000);
        assertThat(VideoInfo.check(shorter.body()).refusal()).startsWith("the MP4 is cut off inside its free box");
        // a web page of the file's size, labelled video/mp4
        fault(Map.of("target", "file", "not_mp4", true));
        HttpResponse<byte[]> page = SSE_CLIENT.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(page.headers().firstValue("Content-Type")).contains("video/mp4");
        assertThat(page.body()).hasSize(3_000_000);
        assertThat(new String(page.body(), 0, 15, StandardCharsets.US_ASCII)).isEqualTo("<!DOCTYPE html>");
        assertThat(VideoInfo.check(page.body()).refusal()).isEqualTo("the bytes are not an MP4 file: they do not start with an ftyp box");
        // the faults were for one answer each: the file is whole again
        assertThat(download(url).video().size()).isEqualTo(3_000_000);
        // and past its lifetime it is gone, as an expired fal file is
        settings(Map.of("file_ttl_ms", 1));
        await().atMost(Duration.ofSeconds(5)).until(() -> given().get(url).statusCode() == 404);
    }

    @Test
    void wanAnswersItsVideoFileWithSizeFpsAndDurationItsSeedAndTheExpandedPrompt() throws Exception {
        fastRuns();
        // fal's defaults: 1080p, prompt expansion on
        VideoResult wan = video("fal-ai/wan-25-preview/text-to-video", Map.of("prompt", "a red bicycle", "duration", "10", "seed", 11));
        assertThat(wan.output().fieldNames()).containsExactlyInAnyOrder("video", "seed", "actual_prompt");
        assertThat(wan.output().getLong("seed")).isEqualTo(11);
        assertThat(wan.output().getString("actual_prompt")).startsWith("a red bicycle");
        JsonObject file = wan.video();
        assertThat(file.getInteger("width")).isEqualTo(1920);
        assertThat(file.getInteger("height")).isEqualTo(1080);
        assertThat(file.getDouble("duration")).isEqualTo(10.0);
        assertThat(file.getInteger("num_frames")).isEqualTo(4);
        assertThat(file.getDouble("fps")).isEqualTo(0.4);
        assertThat(wan.units()).isEqualTo("30"); // 10 s of 1080p: three 480p seconds each, $1.50
        VideoInfo mp4 = download(file.getString("url")).video();
        assertThat(mp4.seconds()).isEqualTo(10.0);
        assertThat(mp4.size()).isEqualTo(file.getLong("file_size"));
        // asked for 480p without expansion: no rewritten prompt, a third of the units
        VideoResult plain = video("fal-ai/wan-25-preview/text-to-video", Map.of("prompt", "a red bicycle", "resolution", "480p",
                "enable_prompt_expansion", false));
        assertThat(plain.output().containsKey("actual_prompt")).isFalse();
        assertThat(plain.units()).isEqualTo("5");
    }

    @Test
    void pricingApiAnswersTheVideoEndpointsInTheirOwnUnits() {
        JsonArray prices = prices(VEO + "," + KLING_I2V + "," + HAILUO_I2V).getJsonArray("prices");
        assertThat(prices).containsExactly(
                new JsonObject().put("endpoint_id", VEO).put("unit_price", 0.05).put("unit", "units").put("currency", "USD"),
                new JsonObject().put("endpoint_id", KLING_I2V).put("unit_price", 0.07).put("unit", "seconds").put("currency", "USD"),
                new JsonObject().put("endpoint_id", HAILUO_I2V).put("unit_price", 0.045).put("unit", "seconds").put("currency", "USD"));
        // a typical Veo call is fal's default: 8 s at 720p with audio, 24 units, $1.20
        assertThat(estimate(Map.of("estimate_type", "historical_api_price", "endpoints", Map.of(VEO, Map.of("call_quantity", 1))))
                .getDouble("total_cost")).isEqualTo(1.2);
    }

    static void fault(Map<String, Object> spec) {
        api().contentType(ContentType.JSON).body(spec).post("/_sim/faults").then().statusCode(204);
    }
}
