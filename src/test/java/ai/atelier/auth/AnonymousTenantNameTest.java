package ai.atelier.auth;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.endsWith;

import java.util.Map;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;

/** The anonymous tenant's name (the test profile's {@code default}) is taken: no tenant may be named like it, in any case. */
@QuarkusTest
class AnonymousTenantNameTest {

    @Test
    void noTenantMayBeNamedLikeTheAnonymousOne() {
        for (String name : new String[] { "default", "DEFAULT", "Default" }) {
            given().header("Authorization", "Bearer atl_test_admin_key").contentType(ContentType.JSON).body(Map.of("name", name))
                    .post("/v1/admin/tenants").then().statusCode(409).body("type", endsWith("/tenant-exists")).body("field", org.hamcrest.Matchers.equalTo("name"));
        }
    }
}
