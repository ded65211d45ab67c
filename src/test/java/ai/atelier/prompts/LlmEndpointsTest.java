package ai.atelier.prompts;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.endsWith;
import static org.hamcrest.Matchers.equalTo;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import ai.atelier.simulator.SimLlm;
import ai.atelier.support.Images;
import ai.atelier.support.Jobs;
import ai.atelier.support.Llm;
import ai.atelier.support.Simulator;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.vertx.core.json.JsonObject;

/** Seed 002's client operations over HTTP: analyse, background prompt, completion (sync, streamed, async job). */
@QuarkusTest
class LlmEndpointsTest {

    @BeforeEach
    void reset() {
        Simulator.reset();
        Simulator.settings(0, 40);
    }

    /** Every sync run of an endpoint ({@code POST fal.run/{id}}), oldest first. */
    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> runs(String path) {
        return Simulator.requests().stream().filter(r -> "POST".equals(r.get("method")) && path.equals(r.get("path")))
                .map(r -> (Map<String, Object>) r.get("body")).toList();
    }

    @Test
    void aSyncCompletionAnswersWithUsageAndCost() {
        JsonPath answer = given().contentType(ContentType.JSON).body(Map.of("prompt", "Name three colours", "model", "openai/gpt-5-mini",
                "system_prompt", "Be brief", "temperature", 0.2, "max_tokens", 100)).post("/v1/llm/completions")
                .then().statusCode(200).extract().jsonPath();
        assertThat(answer.getString("output")).isEqualTo("Echo (openai/gpt-5-mini): Name three colours");
        assertThat(answer.getString("model")).isEqualTo("openai/gpt-5-mini");
        assertThat(answer.getInt("usage.total_tokens")).isEqualTo(answer.getInt("usage.prompt_tokens") + answer.getInt("usage.completion_tokens"));
        assertThat(answer.getDouble("cost_usd")).isPositive().isEqualTo(answer.getDouble("usage.cost"));
        assertThat(runs("/run/openrouter/router")).singleElement().isEqualTo(Map.of("prompt", "Name three colours", "model", "openai/gpt-5-mini",
                "system_prompt", "Be brief", "temperature", 0.2f, "max_tokens", 100));
    }

    @Test
    void badCompletionsAreA4xxAndAProviderFailureIsA502() {
        given().contentType(ContentType.JSON).body(Map.of("prompt", "x", "temperature", 3)).post("/v1/llm/completions").then().statusCode(422)
                .contentType("application/problem+json").body("type", endsWith("/invalid-temperature"));
        given().contentType(ContentType.JSON).body(Map.of("model", "a/b")).post("/v1/llm/completions").then().statusCode(422)
                .body("type", endsWith("/missing-prompt"));
        given().contentType(ContentType.JSON).body(Map.of("prompt", "x", "top_p", 1)).post("/v1/llm/completions").then().statusCode(422)
                .body("type", endsWith("/unknown-field")).body("field", org.hamcrest.Matchers.equalTo("top_p"))
                .body("detail", org.hamcrest.Matchers.containsString("top_p"));
        assertThat(runs("/run/openrouter/router")).isEmpty();
        Llm.script("error", 1, Llm.ROUTER);
        given().contentType(ContentType.JSON).body(Map.of("prompt", "x")).post("/v1/llm/completions").then().statusCode(502)
                .body("type", endsWith("/llm-unusable")).body("detail", org.hamcrest.Matchers.containsString("Provider returned error"));
    }

    @Test
    void aStreamedCompletionSendsGrowingPartialsThenTheAnswerWithUsage() {
        String body = given().contentType(ContentType.JSON).accept("text/event-stream")
                .body(Map.of("prompt", "Describe a calm blue lake at dawn in a few words", "model", "google/gemini-2.5-flash"))
                .post("/v1/llm/completions/stream").then().statusCode(200).contentType(org.hamcrest.Matchers.startsWith("text/event-stream"))
                .extract().asString();
        List<JsonObject> events = new ArrayList<>();
        for (String line : body.split("\n")) {
            if (line.startsWith("data:")) {
                events.add(new JsonObject(line.substring(5).trim()));
            }
        }
        String expected = "Echo (google/gemini-2.5-flash): Describe a calm blue lake at dawn in a few words";
        assertThat(events.size()).isGreaterThan(3);
        List<JsonObject> partials = events.subList(0, events.size() - 1);
        assertThat(partials).allSatisfy(e -> assertThat(e.getBoolean("partial")).isTrue());
        for (int i = 1; i < partials.size(); i++) {
            assertThat(partials.get(i).getString("output")).startsWith(partials.get(i - 1).getString("output"))
                    .hasSizeGreaterThan(partials.get(i - 1).getString("output").length());
        }
        JsonObject last = events.get(events.size() - 1);
        assertThat(last.getBoolean("partial")).isFalse();
        assertThat(last.getString("output")).isEqualTo(expected);
        assertThat(partials.get(partials.size() - 1).getString("output")).isEqualTo(expected);
        assertThat(last.getJsonObject("usage").getDouble("cost")).isPositive();
        assertThat(runs("/run/openrouter/router/stream")).singleElement().satisfies(b -> assertThat(b).containsEntry("model", "google/gemini-2.5-flash"));

        given().contentType(ContentType.JSON).accept("text/event-stream").body(Map.of("prompt", " ")).post("/v1/llm/completions/stream")
                .then().statusCode(422).body("type", endsWith("/missing-prompt"));
    }

    @Test
    void anAsyncCompletionIsAJobOfTheJobsApi() {
        String id = given().contentType(ContentType.JSON).body(Map.of("model", "llm", "prompt", "Write a tagline for a red sneaker",
                "params", Map.of("model", "openai/gpt-5-mini", "temperature", 0.4))).post("/v1/jobs").then().statusCode(202)
                .body("kind", equalTo("llm")).extract().path("id");
        JsonPath done = Jobs.awaitTerminal(id);
        assertThat(done.getString("status")).isEqualTo("succeeded");
        assertThat(done.getString("result.output")).isEqualTo("Echo (openai/gpt-5-mini): Write a tagline for a red sneaker");
        assertThat(done.getDouble("result.cost_usd")).isPositive();
        assertThat(done.getDouble("cost_usd")).isEqualTo(done.getDouble("result.cost_usd"));
        assertThat(done.getList("outputs")).isEmpty();
        assertThat(Llm.routerCalls()).singleElement().isEqualTo(Map.of("prompt", "Write a tagline for a red sneaker", "model", "openai/gpt-5-mini",
                "temperature", 0.4f));

        Llm.script("empty", 1, Llm.ROUTER);
        String empty = given().contentType(ContentType.JSON).body(Map.of("model", "llm", "prompt", "Say nothing")).post("/v1/jobs")
                .then().statusCode(202).extract().path("id");
        JsonPath failed = Jobs.awaitTerminal(empty);
        assertThat(failed.getString("status")).isEqualTo("failed");
        assertThat(failed.getString("error.code")).isEqualTo("llm_empty_output");
    }

    @Test
    void analyseReturnsTheNineCategoriesOfAPhoto() {
        byte[] photo = Images.png(300, 270);
        JsonPath a = given().contentType(ContentType.JSON).body(Map.of("image_url", Images.dataUrl(photo))).post("/v1/products/analyze")
                .then().statusCode(200).extract().jsonPath();
        assertThat(a.getMap("categories")).isEqualTo(SimLlm.categoriesFor(photo).getMap());
        assertThat(a.getList("missing_keys")).isEmpty();
        assertThat(a.getString("model")).isEqualTo("google/gemini-2.5-pro");
        assertThat(a.getDouble("cost_usd")).isPositive();
        assertThat(runs("/run/openrouter/router/vision")).singleElement().satisfies(b -> assertThat(b).containsEntry("temperature", 0.3f));

        JsonPath upload = given().multiPart("image", "p.png", photo, "image/png").post("/v1/products/analyze").then().statusCode(200)
                .extract().jsonPath();
        assertThat(upload.getMap("categories")).isEqualTo(a.getMap("categories"));

        Llm.script("no_json", 1, Llm.VISION);
        given().contentType(ContentType.JSON).body(Map.of("image_url", Images.dataUrl(photo))).post("/v1/products/analyze").then()
                .statusCode(502).body("type", endsWith("/categories-unusable"));
        given().contentType(ContentType.JSON).body(Map.of("image_url", Images.dataUrl("not a picture".getBytes()))).post("/v1/products/analyze")
                .then().statusCode(422).body("type", endsWith("/unsupported-image"));
    }

    @Test
    void aBackgroundPromptIsWrittenFromCategoriesAndAStyle() {
        Map<String, Object> categories = SimLlm.categoriesFor(Images.png(300, 300)).getMap();
        JsonPath p = given().contentType(ContentType.JSON).body(Map.of("categories", categories, "style_type", "Rooftop terrace at sunset"))
                .post("/v1/prompts/background").then().statusCode(200).extract().jsonPath();
        List<Map<String, Object>> asked = runs("/run/openrouter/router");
        assertThat(asked).singleElement().satisfies(b -> assertThat(b).containsEntry("model", "openai/gpt-5-mini"));
        assertThat(p.getString("prompt")).isEqualTo(SimLlm.backgroundPromptFor((String) asked.get(0).get("prompt")))
                .startsWith("Change only the background to rooftop terrace at sunset");
        assertThat(p.getString("mode")).isEqualTo("llm");
        assertThat(p.getDouble("cost_usd")).isPositive();

        JsonPath t = given().contentType(ContentType.JSON).body(Map.of("categories", categories, "style",
                Map.of("name", "Studio", "description", "Plain white backdrop"), "mode", "template")).post("/v1/prompts/background")
                .then().statusCode(200).extract().jsonPath();
        assertThat(t.getString("prompt")).isEqualTo(Prompts.template(new Style("Studio", "Plain white backdrop"), categories, null));
        assertThat(runs("/run/openrouter/router")).hasSize(1);
        given().contentType(ContentType.JSON).body(Map.of("categories", categories)).post("/v1/prompts/background").then().statusCode(422)
                .body("type", endsWith("/missing-style"));
    }
}
