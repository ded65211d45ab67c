package ai.atelier.prompts;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.endsWith;

import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import ai.atelier.simulator.Png;
import ai.atelier.simulator.SimLlm;
import ai.atelier.support.Db;
import ai.atelier.support.LedgerRows;
import ai.atelier.support.Images;
import ai.atelier.support.Jobs;
import ai.atelier.support.Llm;
import ai.atelier.support.Simulator;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.vertx.core.json.JsonObject;
import software.amazon.awssdk.services.s3.S3AsyncClient;

/** Product shoots through {@code POST /v1/product-shoots}: one categorisation, one prompt and one picture per style. */
@QuarkusTest
class ProductShootTest {

    static final String BRIA = "fal-ai/bria/background/replace";

    @Inject
    S3AsyncClient s3;

    @BeforeEach
    void reset() {
        Simulator.reset();
        Simulator.settings(0, 30);
    }

    private byte[] s3Object(String key) {
        return ai.atelier.support.Objects.bytes(s3, key);
    }

    private static String shoot(Map<String, Object> body) {
        return given().contentType(ContentType.JSON).body(body).post("/v1/product-shoots").then().statusCode(202)
                .header("Location", org.hamcrest.Matchers.containsString("/v1/jobs/")).extract().path("id");
    }

    @Test
    void theThreeDefaultStylesAreCategorisedOncePromptedAndStored() {
        byte[] photo = Images.png(300, 260);
        String id = shoot(Map.of("image_url", Images.dataUrl(photo), "params", Map.of("seed", 5)));
        JsonPath done = Jobs.awaitTerminal(id);
        assertThat(done.getString("status")).isEqualTo("succeeded");
        assertThat(done.getString("kind")).isEqualTo("product_shoot");
        assertThat(done.getString("model")).isEqualTo("bria-background-replace");
        assertThat(done.getInt("shoot.total_requested")).isEqualTo(3);
        assertThat(done.getInt("shoot.total_generated")).isEqualTo(3);
        assertThat(done.getList("shoot.errors")).isNull();
        assertThat(done.getList("shoot.styles.name")).containsExactly("Studio", "Lifestyle", "Premium");

        // one vision call for the whole shoot; its categories are on the job
        assertThat(Llm.visionCalls()).hasSize(1);
        JsonObject categories = SimLlm.categoriesFor(photo);
        assertThat(done.getMap("categories")).isEqualTo(categories.getMap());

        // one fal call per style, each with that style's template prompt and the product photo
        List<Map<String, Object>> sent = Simulator.submissions(BRIA);
        assertThat(sent).hasSize(3);
        for (Style style : Style.DEFAULTS) {
            String prompt = Prompts.template(style, categories.getMap(), null);
            assertThat(sent).filteredOn(b -> prompt.equals(b.get("prompt"))).singleElement()
                    .satisfies(b -> assertThat((String) b.get("image_url")).contains("jobs/" + id + "/inputs/0.png"))
                    .satisfies(b -> assertThat(b).containsEntry("refine_prompt", true).containsEntry("seed", 5).doesNotContainKey("ref_image_url"));
            assertThat(done.getString("shoot.styles.find { it.name == '" + style.name() + "' }.prompt")).isEqualTo(prompt);
        }

        // each style's picture in S3: the bytes fal made for seed 5 at the photo's size
        List<String> keys = done.getList("outputs.key");
        assertThat(keys).containsExactlyInAnyOrder("tenants/default/jobs/" + id + "/outputs/0.png", "tenants/default/jobs/" + id + "/outputs/1.png", "tenants/default/jobs/" + id + "/outputs/2.png");
        assertThat(done.getList("outputs.role")).containsExactly("style:Studio", "style:Lifestyle", "style:Premium");
        for (String key : keys) {
            assertThat(s3Object(key)).isEqualTo(Png.render(300, 260, 5));
        }
        assertThat(done.getString("shoot.styles[1].output.url")).contains("outputs/1.png");
        // every style's picture request is in the job's one home of fal requests, completed
        assertThat(styleRequests(id)).hasSize(3).allSatisfy(r -> assertThat(r.getString("state")).isEqualTo("completed"));
    }

    /** The picture requests of a shoot's styles, from the row's fal_requests (one per style once fal took it). */
    private static List<JsonObject> styleRequests(String id) {
        Object column = Db.job(UUID.fromString(id)).get("fal_requests");
        if (column == null) {
            return List.of();
        }
        JsonObject requests = new JsonObject(String.valueOf(column));
        return requests.fieldNames().stream().map(requests::getJsonObject)
                .filter(r -> "shoot".equals(r.getString("stage")) && r.getInteger("step") == 1).toList();
    }

    @Test
    void customStylesGetLlmPromptsAndTheCostsAddUp() {
        byte[] photo = Images.png(280, 300);
        List<Map<String, String>> styles = List.of(Map.of("name", "Marble", "description", "Polished white marble slab, soft daylight"),
                Map.of("name", "Forest", "description", "Mossy forest floor with morning mist"));
        String id = shoot(Map.of("image_url", Images.dataUrl(photo), "styles", styles, "prompt_mode", "llm"));
        JsonPath done = Jobs.awaitTerminal(id);
        assertThat(done.getString("status")).isEqualTo("succeeded");
        assertThat(done.getInt("shoot.total_generated")).isEqualTo(2);

        List<Map<String, Object>> asked = Llm.routerCalls();
        assertThat(asked).hasSize(2);
        for (Map<String, String> style : styles) {
            String instruction = asked.stream().map(b -> (String) b.get("prompt"))
                    .filter(p -> p.contains("The style type is: " + style.get("description"))).findFirst().orElseThrow();
            String written = SimLlm.backgroundPromptFor(instruction);
            assertThat(done.getString("shoot.styles.find { it.name == '" + style.get("name") + "' }.prompt")).isEqualTo(written);
            assertThat(Simulator.submissions(BRIA)).filteredOn(b -> written.equals(b.get("prompt"))).hasSize(1);
        }
        double prompts = done.getDouble("shoot.styles[0].prompt_cost_usd") + done.getDouble("shoot.styles[1].prompt_cost_usd");
        JsonObject stages = new JsonObject(String.valueOf(Db.job(UUID.fromString(id)).get("stages")));
        double vision = stages.getJsonObject("categorise").getDouble("cost_usd");
        assertThat(prompts).isPositive();
        // and the pictures, one per style, at fal's price: the shoot's cost is every call's
        double pictures = LedgerRows.of(UUID.fromString(id)).stream().filter(r -> r.get("endpoint").toString().startsWith("fal-ai/"))
                .mapToDouble(r -> ((java.math.BigDecimal) r.get("usd")).doubleValue()).sum();
        assertThat(pictures).isPositive();
        assertThat(done.getDouble("cost_usd")).isCloseTo(vision + prompts + pictures, org.assertj.core.data.Offset.offset(1e-7));
        assertThat(LedgerRows.costUsd(id)).isEqualByComparingTo(LedgerRows.total(UUID.fromString(id)));
    }

    @Test
    void oneStyleFailingIsAPartialSuccessAndTheRetryRedoesOnlyThatStyle() {
        Simulator.fault(Map.of("target", "complete", "endpoint", BRIA, "times", 1, "status", 422, "error_type", "content_policy_violation",
                "detail", "The background is not allowed"));
        String id = shoot(Map.of("image_url", Images.dataUrl(Images.png(300, 300))));
        JsonPath done = Jobs.awaitTerminal(id);
        assertThat(done.getString("status")).isEqualTo("succeeded");
        assertThat(done.getInt("shoot.total_requested")).isEqualTo(3);
        assertThat(done.getInt("shoot.total_generated")).isEqualTo(2);
        assertThat(done.getList("outputs")).hasSize(2);
        List<Map<String, String>> errors = done.getList("shoot.errors");
        assertThat(errors).singleElement().satisfies(e -> assertThat(e.get("error")).contains("The background is not allowed"));
        String failedStyle = errors.get(0).get("style");
        assertThat(done.getString("shoot.styles.find { it.name == '" + failedStyle + "' }.status")).isEqualTo("failed");
        assertThat(done.getString("shoot.styles.find { it.name == '" + failedStyle + "' }.error.code")).isEqualTo("fal_validation");

        // a succeeded shoot is not retried; failing every style makes the job fail, and then the retry redoes only failed styles
        given().post("/v1/jobs/" + id + "/retry").then().statusCode(409);
        Simulator.fault(Map.of("target", "complete", "endpoint", BRIA, "times", 2, "status", 422));
        String twoStyles = shoot(Map.of("image_url", Images.dataUrl(Images.png(300, 310)), "styles",
                List.of(Map.of("name", "A", "description", "Red wall"), Map.of("name", "B", "description", "Blue wall"))));
        JsonPath failed = Jobs.awaitTerminal(twoStyles);
        assertThat(failed.getString("status")).isEqualTo("failed");
        assertThat(failed.getString("error.code")).isEqualTo("no_style_generated");
        int visionBefore = Llm.visionCalls().size();
        int briaBefore = Simulator.submissions(BRIA).size();
        given().post("/v1/jobs/" + twoStyles + "/retry").then().statusCode(202);
        JsonPath retried = Jobs.awaitTerminal(twoStyles);
        assertThat(retried.getString("status")).isEqualTo("succeeded");
        assertThat(retried.getInt("shoot.total_generated")).isEqualTo(2);
        assertThat(Llm.visionCalls()).hasSize(visionBefore);
        assertThat(Simulator.submissions(BRIA)).hasSize(briaBefore + 2);
    }

    @Test
    void progressCountsStyles() throws Exception {
        Simulator.settings(0, 200);
        String id = shoot(Map.of("image_url", Images.dataUrl(Images.png(300, 300))));
        // the live event stream (it ends by itself on the terminal state) carries every step, however fast they come
        java.net.http.HttpRequest request = java.net.http.HttpRequest.newBuilder(java.net.URI.create(
                io.restassured.RestAssured.baseURI + ":" + io.restassured.RestAssured.port + "/v1/jobs/" + id + "/events"))
                .timeout(java.time.Duration.ofSeconds(30)).header("Accept", "text/event-stream").build();
        List<JsonPath> events = java.net.http.HttpClient.newHttpClient().send(request, java.net.http.HttpResponse.BodyHandlers.ofLines()).body()
                .filter(l -> l.startsWith("data:")).map(l -> new JsonPath(l.substring(5).trim())).toList();
        List<String> messages = events.stream().map(e -> e.getString("message"))
                .filter(m -> m != null && m.matches("\\d of 3 styles done")).distinct().toList();
        // progress never goes backwards, event after event
        List<Integer> progress = events.stream().map(e -> e.<Integer>get("percent")).filter(java.util.Objects::nonNull).toList();
        assertThat(progress).hasSizeGreaterThanOrEqualTo(4).isSorted();
        assertThat(messages).containsExactly("0 of 3 styles done", "1 of 3 styles done", "2 of 3 styles done", "3 of 3 styles done");
        assertThat(Jobs.awaitTerminal(id).getString("status")).isEqualTo("succeeded");
    }

    @Test
    void cancellingAShootCancelsEveryStyleAtFalAndStoresNothing() {
        Simulator.settings(0, 3000);
        String id = shoot(Map.of("image_url", Images.dataUrl(Images.png(300, 300))));
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> styleRequests(id).size() == 3);
        JsonPath cancelled = given().post("/v1/jobs/" + id + "/cancel").then().statusCode(200).extract().jsonPath();
        assertThat(cancelled.getString("status")).isEqualTo("cancelled");
        assertThat(cancelled.getString("cancellation.fal_status")).isNotBlank();
        List<JsonObject> requests = styleRequests(id);
        assertThat(requests).allSatisfy(r -> assertThat(r.getString("state")).as("marked where it lives").isEqualTo("cancelled"));
        List<String> requestIds = requests.stream().map(r -> r.getString("request_id")).toList();
        List<String> cancels = Simulator.requests().stream().filter(r -> "PUT".equals(r.get("method"))).map(r -> (String) r.get("path")).toList();
        for (String rid : requestIds) {
            assertThat(cancels).contains("/queue/fal-ai/bria/requests/" + rid + "/cancel");
        }
        // the styles' results never reach S3 or the row, even once fal is done with every request
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> requestIds.stream().allMatch(rid ->
                given().baseUri(Simulator.url()).get("/queue/fal-ai/bria/requests/" + rid + "/status").then().extract().statusCode() == 200));
        assertThat(Jobs.awaitTerminal(id).getString("status")).isEqualTo("cancelled");
        assertThat(Jobs.awaitTerminal(id).getList("outputs")).isEmpty();
        assertThat(s3.listObjectsV2(b -> b.bucket("atelier").prefix("tenants/default/jobs/" + id + "/outputs/")).join().keyCount()).isZero();
    }

    @Test
    void badShootsAreA422AndCostNothing() {
        long shoots = Db.count("kind = 'product_shoot'");
        String photo = Images.dataUrl(Images.png(300, 300));
        given().contentType(ContentType.JSON).body(Map.of("styles", List.of())).post("/v1/product-shoots").then().statusCode(422)
                .contentType("application/problem+json").body("type", endsWith("/missing-image"));
        List<Map<String, String>> nine = java.util.stream.IntStream.range(0, 9).mapToObj(i -> Map.of("name", "S" + i, "description", "d" + i)).toList();
        given().contentType(ContentType.JSON).body(Map.of("image_url", photo, "styles", nine)).post("/v1/product-shoots").then().statusCode(422)
                .body("type", endsWith("/too-many-styles"));
        given().contentType(ContentType.JSON).body(Map.of("image_url", photo, "styles", List.of(Map.of("name", "A", "description", "x"),
                Map.of("name", "a", "description", "y")))).post("/v1/product-shoots").then().statusCode(422).body("type", endsWith("/duplicate-style"));
        given().contentType(ContentType.JSON).body(Map.of("image_url", photo, "model", "bria-background-remove")).post("/v1/product-shoots")
                .then().statusCode(422).body("type", endsWith("/model-not-for-shoots"));
        given().contentType(ContentType.JSON).body(Map.of("image_url", photo, "styles", List.of(Map.of("name", "A")))).post("/v1/product-shoots")
                .then().statusCode(422).body("type", endsWith("/invalid-style"));
        given().contentType(ContentType.JSON).body("{\"image_url\": \"" + photo + "\", \"styles\": [null]}").post("/v1/product-shoots")
                .then().statusCode(422).body("type", endsWith("/invalid-style"));
        assertThat(Db.count("kind = 'product_shoot'")).isEqualTo(shoots);
    }

    @Test
    void aShootTakesAnUploadedPhoto() {
        byte[] photo = Images.png(290, 300);
        String id = given().multiPart("image", "shoe.png", photo, "image/png")
                .multiPart("styles", "[{\"name\":\"Studio\",\"description\":\"Plain grey seamless paper\"}]")
                .post("/v1/product-shoots").then().statusCode(202).extract().path("id");
        JsonPath done = Jobs.awaitTerminal(id);
        assertThat(done.getString("status")).isEqualTo("succeeded");
        assertThat(s3Object("tenants/default/jobs/" + id + "/inputs/0.png")).isEqualTo(photo);
        assertThat(done.getString("shoot.styles[0].prompt")).startsWith("Change only the background to plain grey seamless paper");
    }
}
