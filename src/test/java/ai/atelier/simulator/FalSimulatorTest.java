package ai.atelier.simulator;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

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
}
