package ai.atelier.contract;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;

/** The served OpenAPI document names fields as the wire does: snake_case, the names the API accepts and returns. */
@QuarkusTest
class OpenApiDocumentTest {

    @Test
    void everySchemaPropertyIsSnakeCaseAsOnTheWire() {
        JsonPath doc = given().accept("application/json").get("/q/openapi?format=json").then().statusCode(200).extract().jsonPath();
        Map<String, Map<String, Object>> schemas = doc.getMap("components.schemas");
        List<String> camel = new ArrayList<>();
        schemas.forEach((name, schema) -> {
            if (schema.get("properties") instanceof Map<?, ?> props) {
                props.keySet().stream().map(String::valueOf).filter(p -> p.matches(".*[a-z][A-Z].*")).forEach(p -> camel.add(name + "." + p));
            }
        });
        assertThat(camel).as("camelCase properties in the OpenAPI document").isEmpty();
        // the fields once shown camelCase, as a client must send and will receive them
        List<String> all = new ArrayList<>();
        schemas.values().forEach(schema -> {
            if (schema.get("properties") instanceof Map<?, ?> props) {
                props.keySet().forEach(p -> all.add(String.valueOf(p)));
            }
        });
        assertThat(all).contains("image_url", "prompt_mode", "final_prompt", "next_cursor", "session_id", "deadline_seconds");
        assertThat(doc.getMap("components.schemas.JobForm.properties")).containsKeys("prompt_mode", "webhook_url", "image");
    }

    @Test
    void whatTheDocumentNamesIsWhatTheApiAccepts() {
        // a property the document lists is accepted under that name (a camelCase one would be a 422 unknown-field)
        JsonPath doc = given().accept("application/json").get("/q/openapi?format=json").then().statusCode(200).extract().jsonPath();
        assertThat(doc.getString("components.schemas.TextToImage.properties.negative_prompt.type")).isEqualTo("string");
        given().contentType("application/json").body(Map.of("prompt", "a lamp", "negative_prompt", "blurry")).post("/api/flux/t2i").then()
                .statusCode(200);
    }
}
