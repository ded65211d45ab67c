package ai.atelier.support;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.eclipse.microprofile.config.ConfigProvider;

/** Reads the ledger beside the application: what each fal call of a job cost, as recorded. */
public final class LedgerRows {

    private LedgerRows() {
    }

    public static List<Map<String, Object>> of(UUID job) {
        var c = ConfigProvider.getConfig();
        List<Map<String, Object>> out = new ArrayList<>();
        try (Connection db = DriverManager.getConnection(c.getValue("quarkus.datasource.jdbc.url", String.class),
                c.getValue("atelier-local.db-admin-user", String.class), "");
                var ps = db.prepareStatement("select * from ledger where job_id = ? order by id")) {
            ps.setObject(1, job);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Map<String, Object> row = new LinkedHashMap<>();
                    for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                        row.put(rs.getMetaData().getColumnName(i), rs.getObject(i));
                    }
                    out.add(row);
                }
            }
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    /** The sum of the job's rows, in dollars, exactly. */
    public static BigDecimal total(UUID job) {
        return of(job).stream().map(r -> (BigDecimal) r.get("usd")).reduce(BigDecimal.ZERO, BigDecimal::add);
    }

    /**
     * The job's {@code cost_usd} exactly as its JSON writes it (read again, with decimals as BigDecimal:
     * RestAssured's default floats cannot tell 0.15183374 from 0.15183375).
     */
    public static BigDecimal costUsd(String jobId) {
        return costUsd(jobId, null);
    }

    /** The same, read with a tenant's key. */
    public static BigDecimal costUsd(String jobId, String key) {
        var request = io.restassured.RestAssured.given();
        if (key != null) {
            request.header("Authorization", "Bearer " + key);
        }
        String body = request.get("/v1/jobs/" + jobId).then().statusCode(200).extract().asString();
        Object v = io.restassured.path.json.JsonPath.from(body).using(new io.restassured.path.json.config.JsonPathConfig(
                io.restassured.path.json.config.JsonPathConfig.NumberReturnType.BIG_DECIMAL)).get("cost_usd");
        return v == null ? null : new BigDecimal(v.toString());
    }

    /** The job's row of one stage (the first, when a stage made several calls). */
    public static Map<String, Object> stage(UUID job, String stage) {
        return of(job).stream().filter(r -> stage.equals(r.get("stage"))).findFirst().orElseThrow(() -> new AssertionError("no ledger row of " + stage));
    }
}
