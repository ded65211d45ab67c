package ai.atelier.prompts;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.logging.Handler;
import java.util.logging.LogRecord;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import ai.atelier.simulator.SimLlm;
import ai.atelier.support.Db;
import ai.atelier.support.Images;
import ai.atelier.support.Jobs;
import ai.atelier.support.LedgerRows;
import ai.atelier.support.Llm;
import ai.atelier.support.Simulator;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.vertx.core.json.JsonObject;

/**
 * The categorise and prompt stages through the jobs API: what the vision and prompt models were asked,
 * what the job stored, what fal finally received, untidy answers, costs, and retrying at the failed
 * stage without paying the vision call twice.
 */
@QuarkusTest
class CategoriseAndPromptTest {

    static final String FLUX_I2I = "fal-ai/flux-general/image-to-image";
    static final Map<String, Object> BEACH = Map.of("name", "Beach", "description", "A sunny beach at golden hour, soft sand and waves.");

    final List<LogRecord> logs = new java.util.concurrent.CopyOnWriteArrayList<>();
    final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord r) {
            logs.add(r);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeEach
    void reset() {
        Simulator.reset();
        Simulator.settings(0, 30);
        java.util.logging.Logger.getLogger("ai.atelier.jobs.engine.PromptStage").addHandler(capture);
    }

    @AfterEach
    void detach() {
        java.util.logging.Logger.getLogger("ai.atelier.jobs.engine.PromptStage").removeHandler(capture);
    }

    private static String submit(Map<String, Object> body) {
        return given().contentType(ContentType.JSON).body(body).post("/v1/jobs").then().statusCode(202).extract().path("id");
    }

    private static Map<String, Object> job(byte[] photo, Object... more) {
        Map<String, Object> body = new LinkedHashMap<>(Map.of("model", "flux-general-i2i", "image_url", Images.dataUrl(photo),
                "categorise", true, "style", BEACH, "params", Map.of("seed", 11)));
        for (int i = 0; i < more.length; i += 2) {
            body.put((String) more[i], more[i + 1]);
        }
        return body;
    }

    private static JsonObject column(String id, String name) {
        Object v = Db.job(UUID.fromString(id)).get(name);
        return v == null ? null : new JsonObject(String.valueOf(v));
    }

    @Test
    void categoriesFromTheVisionModelShapeTheTemplatePromptFalReceives() {
        byte[] photo = Images.png(300, 280);
        String id = submit(job(photo, "prompt", "keep the logo sharp"));
        JsonPath done = Jobs.awaitTerminal(id);
        assertThat(done.getString("status")).isEqualTo("succeeded");

        // the vision call: seed 002's model and temperature, the photo as a presigned S3 URL, the nine-category prompt
        List<Map<String, Object>> vision = Llm.visionCalls();
        assertThat(vision).hasSize(1);
        assertThat(vision.get(0)).containsEntry("model", "google/gemini-2.5-pro").containsEntry("temperature", 0.3f)
                .containsEntry("max_tokens", 2000);
        assertThat((String) vision.get(0).get("prompt")).contains("categorize the product into exactly 9 categories");
        assertThat((List<String>) vision.get(0).get("image_urls")).singleElement().asString().contains("jobs/" + id + "/inputs/0.png")
                .contains("X-Amz-Signature");

        // stored on the row: exactly what the simulator derived from the uploaded bytes
        JsonObject expected = SimLlm.categoriesFor(photo);
        assertThat(column(id, "categories").getMap()).isEqualTo(expected.getMap());
        assertThat(done.getMap("categories")).isEqualTo(expected.getMap());

        // the prompt: the template, from the style, the categories and the client's words; and fal got exactly it
        String prompt = Prompts.template(new Style("Beach", (String) BEACH.get("description")), expected.getMap(), "keep the logo sharp");
        assertThat(done.getString("final_prompt")).isEqualTo(prompt).startsWith("Change only the background to a sunny beach");
        assertThat(Db.job(UUID.fromString(id)).get("final_prompt")).isEqualTo(prompt);
        assertThat(done.getString("prompt")).isEqualTo("keep the logo sharp");
        List<Map<String, Object>> flux = Simulator.submissions(FLUX_I2I);
        assertThat(flux).singleElement().satisfies(b -> assertThat(b).containsEntry("prompt", prompt).containsEntry("strength", 0.5f));
        assertThat(Llm.routerCalls()).isEmpty(); // the template is free

        // stages: status, duration and the vision call's cost
        JsonObject stages = column(id, "stages");
        assertThat(stages.getJsonObject("categorise").getString("status")).isEqualTo("succeeded");
        assertThat(stages.getJsonObject("categorise").getDouble("cost_usd")).isPositive()
                .isEqualTo(stages.getJsonObject("categorise").getJsonObject("usage").getDouble("cost"));
        assertThat(stages.getJsonObject("categorise").getLong("duration_ms")).isNotNegative();
        assertThat(stages.getJsonObject("prompt").getString("mode")).isEqualTo("template");
        for (String stage : List.of("prompt", "infer", "store")) {
            assertThat(stages.getJsonObject(stage).getString("status")).as(stage).isEqualTo("succeeded");
        }
        // the job's cost is its calls' at fal's figures: the vision call and the picture, as the ledger has them
        UUID job = UUID.fromString(id);
        assertThat(LedgerRows.of(job)).extracting(r -> r.get("stage")).containsExactly("categorise", "infer");
        assertThat(((java.math.BigDecimal) LedgerRows.stage(job, "categorise").get("usd")).doubleValue())
                .isEqualTo(stages.getJsonObject("categorise").getDouble("cost_usd"));
        assertThat(LedgerRows.costUsd(id)).isPositive().isEqualByComparingTo(LedgerRows.total(job));

        // the prompt is logged once, at INFO, with the model and its parameters, and never with the image
        List<String> promptLines = logs.stream().map(r -> String.valueOf(r.getMessage()) + " " + java.util.Arrays.toString(r.getParameters()))
                .filter(m -> m.contains(id) && m.contains("prompt for")).toList();
        assertThat(promptLines).hasSize(1);
        assertThat(promptLines.get(0)).contains(prompt).contains("strength=0.5").doesNotContain("data:image").doesNotContain("base64");
    }

    @Test
    void untidyAnswersAreReadAndMissingKeysBecomeUnknown() {
        Llm.script("prose", 1, Llm.VISION);
        byte[] photo = Images.png(300, 290);
        String prose = submit(job(photo));
        assertThat(Jobs.awaitTerminal(prose).getString("status")).isEqualTo("succeeded");
        assertThat(column(prose, "categories").getMap()).isEqualTo(SimLlm.categoriesFor(photo).getMap());

        Llm.script("missing_keys", 1, Llm.VISION);
        String missing = submit(job(photo));
        assertThat(Jobs.awaitTerminal(missing).getString("status")).isEqualTo("succeeded");
        JsonObject categories = column(missing, "categories");
        assertThat(categories.getString("vibe")).isEqualTo("Unknown");
        assertThat(categories.getString("season_occasion")).isEqualTo("Unknown");
        assertThat(categories.getString("main_product_type")).isEqualTo(SimLlm.categoriesFor(photo).getString("main_product_type"));
        assertThat(column(missing, "stages").getJsonObject("categorise").getJsonArray("missing_keys").getList())
                .containsExactly("season_occasion", "vibe");
    }

    @Test
    void anAnswerWithoutCategoriesFailsTheStageWithAReasonAndPaysNothingMore() {
        Llm.script("no_json", 1, Llm.VISION);
        String id = submit(job(Images.png(300, 300)));
        JsonPath failed = Jobs.awaitTerminal(id);
        assertThat(failed.getString("status")).isEqualTo("failed");
        assertThat(failed.getString("error.code")).isEqualTo("categories_unusable");
        assertThat(failed.getString("error.message")).contains("no JSON object").contains("cannot determine");
        assertThat(column(id, "stages").getJsonObject("categorise").getString("status")).isEqualTo("failed");
        assertThat(Simulator.submissions(FLUX_I2I)).isEmpty();
    }

    @Test
    void anLlmWritesThePromptFromTheCategoriesAndTheStyle() {
        byte[] photo = Images.png(310, 300);
        String id = submit(job(photo, "prompt_mode", "llm"));
        JsonPath done = Jobs.awaitTerminal(id);
        assertThat(done.getString("status")).isEqualTo("succeeded");

        List<Map<String, Object>> asked = Llm.routerCalls();
        assertThat(asked).hasSize(1);
        String instruction = (String) asked.get(0).get("prompt");
        JsonObject categories = SimLlm.categoriesFor(photo);
        assertThat(asked.get(0)).containsEntry("model", "openai/gpt-5-mini");
        assertThat(instruction).contains("The style type is: " + BEACH.get("description"))
                .contains("- subcategory: " + categories.getString("subcategory")).contains("Change only the background to");
        String written = SimLlm.backgroundPromptFor(instruction);
        assertThat(done.getString("final_prompt")).isEqualTo(written);
        assertThat(Simulator.submissions(FLUX_I2I)).singleElement().satisfies(b -> assertThat(b).containsEntry("prompt", written));

        JsonObject stages = column(id, "stages");
        double both = stages.getJsonObject("categorise").getDouble("cost_usd") + stages.getJsonObject("prompt").getDouble("cost_usd");
        assertThat(stages.getJsonObject("prompt").getString("model")).isEqualTo("openai/gpt-5-mini");
        double picture = ((java.math.BigDecimal) LedgerRows.stage(UUID.fromString(id), "infer").get("usd")).doubleValue();
        assertThat(done.getDouble("cost_usd")).isCloseTo(both + picture, org.assertj.core.data.Offset.offset(1e-7));
        assertThat(LedgerRows.costUsd(id)).isEqualByComparingTo(LedgerRows.total(UUID.fromString(id)));
    }

    @Test
    void anLlmAnswerWithControlCharactersIsKeptPrintableAndTheJobSucceeds() {
        // through the application's JSON codec, which refuses control characters in requests, this answer failed as "not JSON"
        Llm.script("control_chars", 1, Llm.ROUTER);
        byte[] photo = Images.png(312, 300);
        String id = submit(job(photo, "prompt_mode", "llm"));
        JsonPath done = Jobs.awaitTerminal(id);
        assertThat(done.getString("status")).isEqualTo("succeeded");
        String written = SimLlm.backgroundPromptFor((String) Llm.routerCalls().get(0).get("prompt"));
        // each control character stands as U+FFFD, the rest as the model wrote it, in the row and in what fal was asked
        String printable = "\uFFFD[1m" + written + "\uFFFD[0m\uFFFD";
        assertThat(done.getString("final_prompt")).isEqualTo(printable);
        assertThat(Simulator.submissions(FLUX_I2I)).singleElement().satisfies(b -> assertThat(b).containsEntry("prompt", printable));
    }

    @Test
    void retryResumesAtTheFailedStageWithoutAskingTheVisionModelAgain() {
        // fal's model fails the picture once: the job fails at infer with categories and prompt already paid for
        Simulator.fault(Map.of("target", "complete", "endpoint", FLUX_I2I, "times", 1, "status", 422, "error_type", "content_policy_violation"));
        String id = submit(job(Images.png(320, 300)));
        JsonPath failed = Jobs.awaitTerminal(id);
        assertThat(failed.getString("status")).isEqualTo("failed");
        assertThat(failed.getString("error.code")).isEqualTo("fal_validation");
        assertThat(column(id, "stages").getJsonObject("infer").getString("status")).isEqualTo("failed");
        JsonObject categories = column(id, "categories");
        String prompt = failed.getString("final_prompt");
        assertThat(categories).isNotNull();

        given().post("/v1/jobs/" + id + "/retry").then().statusCode(202).body("status", equalTo("queued")).body("retries", equalTo(1));
        JsonPath done = Jobs.awaitTerminal(id);
        assertThat(done.getString("status")).isEqualTo("succeeded");
        assertThat(Llm.visionCalls()).hasSize(1);
        assertThat(column(id, "categories")).isEqualTo(categories);
        assertThat(done.getString("final_prompt")).isEqualTo(prompt);
        List<Map<String, Object>> flux = Simulator.submissions(FLUX_I2I);
        assertThat(flux).hasSize(2).allSatisfy(b -> assertThat(b).containsEntry("prompt", prompt));
        assertThat(column(id, "stages").getJsonObject("categorise").getString("status")).isEqualTo("succeeded");

        // only a failed job can be retried
        given().post("/v1/jobs/" + id + "/retry").then().statusCode(409).contentType("application/problem+json")
                .body("type", org.hamcrest.Matchers.endsWith("/job-not-failed"));
    }

    @Test
    void aFailedPromptStageKeepsTheCategoriesAndTheRetryAsksOnlyThePromptModel() {
        Llm.script("empty", 1, Llm.ROUTER);
        String id = submit(job(Images.png(330, 300), "prompt_mode", "llm"));
        JsonPath failed = Jobs.awaitTerminal(id);
        assertThat(failed.getString("status")).isEqualTo("failed");
        assertThat(failed.getString("error.code")).isEqualTo("llm_empty_output");
        assertThat(failed.getString("error.message")).contains("prompt model");
        assertThat(column(id, "categories")).isNotNull();
        assertThat(column(id, "stages").getJsonObject("prompt").getString("status")).isEqualTo("failed");
        assertThat(Simulator.submissions(FLUX_I2I)).isEmpty();

        given().post("/v1/jobs/" + id + "/retry").then().statusCode(202);
        assertThat(Jobs.awaitTerminal(id).getString("status")).isEqualTo("succeeded");
        assertThat(Llm.visionCalls()).hasSize(1);
        assertThat(Llm.routerCalls()).hasSize(2);
        assertThat(Simulator.submissions(FLUX_I2I)).hasSize(1);
    }

    @Test
    void badStageOptionsAreA422() {
        byte[] photo = Images.png(300, 300);
        given().contentType(ContentType.JSON).body(job(photo, "prompt_mode", "poem")).post("/v1/jobs").then().statusCode(422)
                .body("type", org.hamcrest.Matchers.endsWith("/invalid-prompt-mode"));
        given().contentType(ContentType.JSON).body(job(photo, "style", Map.of("name", "x", "description", " "))).post("/v1/jobs")
                .then().statusCode(422).body("type", org.hamcrest.Matchers.endsWith("/invalid-style"));
        given().contentType(ContentType.JSON).body(Map.of("model", "flux-schnell", "prompt", "p", "categorise", true)).post("/v1/jobs")
                .then().statusCode(422).body("type", org.hamcrest.Matchers.endsWith("/nothing-to-categorise"));
        given().contentType(ContentType.JSON).body(job(photo, "vision_model", "gpt 5; drop table")).post("/v1/jobs")
                .then().statusCode(422).body("type", org.hamcrest.Matchers.endsWith("/invalid-llm-model"));
        assertThat(new ArrayList<>(Llm.visionCalls())).isEmpty();
    }
}
