package ai.atelier.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The Grafana dashboard {@code deploy/grafana/atelier-dashboard.json}: it queries only metrics the engine
 * exports, each of them, and aggregates each as its kind requires. {@link #metricNames()} is public for a
 * test that compares the names with a running instance's {@code /q/metrics}.
 */
public class GrafanaDashboardTest {

    static final Path DASHBOARD = DeployFiles.path("deploy/grafana/atelier-dashboard.json");

    enum Kind {
        /** exported as {@code <name>_total} */
        COUNTER,
        /** exported as {@code <name>_bucket}, {@code <name>_count}, {@code <name>_sum} */
        HISTOGRAM,
        /** exported as {@code <name>} */
        GAUGE
    }

    /** What the engine exports: Prometheus base names (Micrometer's, before the suffixes) and their kinds. */
    static final Map<String, Kind> EXPORTED = exported();

    private static Map<String, Kind> exported() {
        Map<String, Kind> m = new LinkedHashMap<>();
        m.put("atelier_jobs_accepted", Kind.COUNTER); // {model}
        m.put("atelier_jobs_finished", Kind.COUNTER); // {model, outcome = succeeded|failed|cancelled}
        m.put("atelier_jobs_failed", Kind.COUNTER); // {model, code}
        m.put("atelier_webhook_deliveries", Kind.COUNTER); // {outcome = delivered|failed|gave_up}
        m.put("atelier_rate_limited_requests", Kind.COUNTER); // {tenant}
        m.put("atelier_stage_duration_seconds", Kind.HISTOGRAM); // {stage = ingest|categorise|prompt|infer|store|finish}
        m.put("atelier_fal_queue_seconds", Kind.HISTOGRAM); // {endpoint}
        m.put("atelier_fal_inference_seconds", Kind.HISTOGRAM); // {endpoint}
        m.put("atelier_jobs", Kind.GAUGE); // {state = queued|held|running}, service-wide from PostgreSQL
        m.put("atelier_instance_jobs", Kind.GAUGE); // {state = working|waiting_fal|parked}, this replica's
        m.put("atelier_oldest_queued_job_age_seconds", Kind.GAUGE);
        m.put("atelier_circuit_breaker_state", Kind.GAUGE); // {name = fal|s3}: 0 closed, 1 half-open, 2 open
        m.put("atelier_tenant_spent_usd", Kind.GAUGE); // {tenant, period = day|month}, the same on every replica
        m.put("atelier_tenant_budget_remaining_usd", Kind.GAUGE); // {tenant, period}, the same on every replica
        m.put("atelier_cache_lookups", Kind.COUNTER); // {model, result = hit|miss|refresh}
        m.put("atelier_cache_saved_usd", Kind.COUNTER); // {model}
        return m;
    }

    /** Gauges every replica reports alike (read from PostgreSQL): max over the replicas, never sum. */
    static final Set<String> SHARED_GAUGES = Set.of("atelier_tenant_spent_usd", "atelier_tenant_budget_remaining_usd", "atelier_jobs",
            "atelier_oldest_queued_job_age_seconds");

    static final Pattern METRIC = Pattern.compile("(?<![A-Za-z0-9_:])atelier_[A-Za-z0-9_:]*");
    static final Pattern STRING_LITERAL = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`");

    /**
     * The series names the dashboard's panel queries use, as Prometheus exposes them
     * (e.g. {@code atelier_stage_duration_seconds_bucket}, {@code atelier_jobs_accepted_total}, {@code atelier_jobs}).
     */
    public static Set<String> metricNames() {
        return metricNamesOf(exprs());
    }

    static Set<String> metricNamesOf(Collection<String> exprs) {
        Set<String> names = new TreeSet<>();
        for (String expr : exprs) {
            Matcher m = METRIC.matcher(STRING_LITERAL.matcher(expr).replaceAll("\"\""));
            while (m.find()) {
                names.add(m.group());
            }
        }
        return names;
    }

    /** Every exposed name of every exported metric. */
    static Set<String> exposedNames() {
        Set<String> names = new TreeSet<>();
        EXPORTED.forEach((base, kind) -> names.addAll(exposed(base, kind)));
        return names;
    }

    static List<String> exposed(String base, Kind kind) {
        return switch (kind) {
            case COUNTER -> List.of(base + "_total");
            case HISTOGRAM -> List.of(base + "_bucket", base + "_count", base + "_sum");
            case GAUGE -> List.of(base);
        };
    }

    /** The exported metric an exposed name belongs to, or null. */
    static String baseOf(String exposedName) {
        for (Map.Entry<String, Kind> e : EXPORTED.entrySet()) {
            if (exposed(e.getKey(), e.getValue()).contains(exposedName)) {
                return e.getKey();
            }
        }
        return null;
    }

    // ---- tests -----------------------------------------------------------------------------------

    @Test
    void dashboardIsWellFormed() {
        JsonNode dashboard = read();
        assertThat(dashboard.path("uid").asText()).as("uid").isEqualTo("atelier");
        assertThat(dashboard.path("schemaVersion").asInt()).as("schemaVersion").isEqualTo(39);
        assertThat(dashboard.path("title").asText()).as("title").isNotBlank();
        List<JsonNode> variables = new ArrayList<>();
        dashboard.path("templating").path("list").forEach(variables::add);
        assertThat(variables).as("templating variables").anySatisfy(v -> {
            assertThat(v.path("name").asText()).isEqualTo("datasource");
            assertThat(v.path("type").asText()).isEqualTo("datasource");
            assertThat(v.path("query").asText()).isEqualTo("prometheus");
        });

        List<JsonNode> panels = panels(dashboard);
        assertThat(panels).as("panels").isNotEmpty();
        Set<Integer> ids = new HashSet<>();
        for (JsonNode panel : panels) {
            String title = panel.path("title").asText();
            assertThat(ids.add(panel.path("id").asInt(-1))).as("id of panel '%s' is unique", title).isTrue();
            assertThat(panel.path("gridPos").path("w").asInt()).as("gridPos.w of '%s'", title).isPositive();
            assertThat(panel.path("gridPos").path("h").asInt()).as("gridPos.h of '%s'", title).isPositive();
            if (panel.path("type").asText().equals("row")) {
                continue;
            }
            assertDatasource(panel.path("datasource"), "panel '" + title + "'");
            assertThat(panel.path("targets").size()).as("targets of '%s'", title).isPositive();
            Set<String> refIds = new HashSet<>();
            for (JsonNode target : panel.path("targets")) {
                assertThat(refIds.add(target.path("refId").asText())).as("refId %s of '%s' is unique", target.path("refId"), title)
                        .isTrue();
                assertThat(target.path("expr").asText()).as("expr of a target of '%s'", title).isNotBlank();
                assertDatasource(target.path("datasource"), "a target of '" + title + "'");
            }
        }
    }

    @Test
    void queriesOnlyMetricsTheEngineExports() {
        checkNames(metricNames());
    }

    @Test
    void queriesEveryMetricTheEngineExports() {
        checkCoverage(metricNames());
    }

    @Test
    void aggregatesEachMetricAsItsKindRequires() {
        checkAggregation(exprs());
    }

    @TestFactory
    Stream<DynamicTest> everyRuleCatchesABrokenQuery() {
        return Stream.of(
                DynamicTest.dynamicTest("names come from queries, not from label values", () -> assertThat(
                        metricNamesOf(List.of("sum(rate(atelier_jobs_accepted_total{model=\"atelier_x\"}[5m]))")))
                        .containsExactly("atelier_jobs_accepted_total")),
                fails("a metric the engine does not export", () -> checkNames(Set.of("atelier_jobs_started_total"))),
                fails("a gauge queried as a counter", () -> checkNames(Set.of("atelier_jobs_total"))),
                fails("a histogram without its suffix", () -> checkNames(Set.of("atelier_stage_duration_seconds"))),
                fails("a counter without _total", () -> checkNames(Set.of("atelier_jobs_accepted"))),
                fails("a metric without a panel", () -> checkCoverage(Set.of("atelier_jobs_accepted_total"))),
                fails("a counter not under rate()", () -> checkAggregation(List.of("sum(atelier_jobs_accepted_total)"))),
                fails("a counter not summed over the replicas", () -> checkAggregation(
                        List.of("rate(atelier_jobs_accepted_total[5m])"))),
                fails("a histogram quantile without le", () -> checkAggregation(List.of(
                        "histogram_quantile(0.95, sum by (stage) (rate(atelier_stage_duration_seconds_bucket[5m])))"))),
                fails("a tenant gauge summed over the replicas", () -> checkAggregation(
                        List.of("sum by (tenant, period) (atelier_tenant_spent_usd)"))),
                fails("a tenant gauge not aggregated", () -> checkAggregation(List.of("atelier_tenant_budget_remaining_usd"))),
                fails("a gauge under rate()", () -> checkAggregation(List.of("sum(rate(atelier_jobs[5m]))"))));
    }

    static DynamicTest fails(String what, Runnable check) {
        return DynamicTest.dynamicTest(what, () -> assertThatThrownBy(check::run).as(what).isInstanceOf(AssertionError.class));
    }

    // ---- rules ---------------------------------------------------------------------------------------

    static void checkNames(Set<String> names) {
        assertThat(names).as("metrics the dashboard queries").isNotEmpty();
        Set<String> exposed = exposedNames();
        for (String name : names) {
            assertThat(exposed).as("%s is exported by the engine (known: %s)", name, exposed).contains(name);
        }
    }

    static void checkCoverage(Set<String> names) {
        Set<String> queried = names.stream().map(GrafanaDashboardTest::baseOf).filter(b -> b != null).collect(Collectors.toSet());
        assertThat(queried).as("exported metrics the dashboard has a panel for").containsAll(EXPORTED.keySet());
    }

    static void checkAggregation(Collection<String> exprs) {
        for (String expr : exprs) {
            String q = STRING_LITERAL.matcher(expr).replaceAll("\"\"");
            for (String name : metricNamesOf(List.of(q))) {
                String base = baseOf(name);
                if (base == null) {
                    continue; // checkNames reports it
                }
                Kind kind = EXPORTED.get(base);
                String n = Pattern.quote(name);
                if (kind == Kind.COUNTER || name.endsWith("_bucket") || name.endsWith("_count") || name.endsWith("_sum")) {
                    assertThat(count(q, "(?<![A-Za-z0-9_:])" + n + "(?![A-Za-z0-9_:])"))
                            .as("every use of %s is under rate()/increase(): %s", name, expr)
                            .isEqualTo(count(q, "\\b(?:rate|irate|increase)\\(\\s*" + n + "(?![A-Za-z0-9_:])"));
                    assertThat(q).as("%s is summed over the replicas: %s", name, expr)
                            .containsPattern("\\bsum\\s*(?:by\\s*\\([^)]*\\)\\s*)?\\(");
                }
                if (name.endsWith("_bucket")) {
                    assertThat(q).as("%s feeds histogram_quantile: %s", name, expr).contains("histogram_quantile(");
                    assertThat(byLabels(q)).as("labels kept for histogram_quantile of %s: %s", name, expr).anyMatch(l -> l.contains("le"));
                }
                if (kind == Kind.GAUGE) {
                    assertThat(q).as("gauge %s is never under rate()/increase(): %s", name, expr)
                            .doesNotContainPattern("\\b(?:rate|irate|increase)\\(\\s*" + n + "(?![A-Za-z0-9_:])");
                }
                if (SHARED_GAUGES.contains(name)) {
                    assertThat(q).as("%s is the same on every replica: max, never sum: %s", name, expr)
                            .containsPattern("\\bmax\\s*(?:by\\s*\\([^)]*\\)\\s*)?\\(")
                            .doesNotContainPattern("\\b(?:sum|count|avg)\\b");
                }
                if (name.startsWith("atelier_tenant_")) {
                    assertThat(q).as("%s is kept apart by tenant and period: %s", name, expr)
                            .containsPattern("\\bmax\\s*by\\s*\\(\\s*(?:tenant\\s*,\\s*period|period\\s*,\\s*tenant)\\s*\\)");
                }
            }
        }
    }

    // ---- the dashboard ---------------------------------------------------------------------------

    static JsonNode read() {
        try {
            return new ObjectMapper().readTree(DASHBOARD.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every panel, those inside rows included. */
    static List<JsonNode> panels(JsonNode dashboard) {
        List<JsonNode> panels = new ArrayList<>();
        collect(dashboard.path("panels"), panels);
        return panels;
    }

    private static void collect(JsonNode list, List<JsonNode> into) {
        for (JsonNode panel : list) {
            into.add(panel);
            collect(panel.path("panels"), into);
        }
    }

    /** The {@code expr} of every target of every panel. */
    static List<String> exprs() {
        List<String> exprs = new ArrayList<>();
        for (JsonNode panel : panels(read())) {
            for (JsonNode target : panel.path("targets")) {
                if (target.hasNonNull("expr")) {
                    exprs.add(target.get("expr").asText());
                }
            }
        }
        return exprs;
    }

    private static void assertDatasource(JsonNode datasource, String where) {
        assertThat(datasource.path("type").asText()).as("datasource type of %s", where).isEqualTo("prometheus");
        assertThat(datasource.path("uid").asText()).as("datasource uid of %s", where).isEqualTo("${datasource}");
    }

    private static long count(String text, String regex) {
        return Pattern.compile(regex).matcher(text).results().count();
    }

    /** The label lists of the {@code by (…)} clauses of a query. */
    private static List<Set<String>> byLabels(String expr) {
        return Pattern.compile("\\bby\\s*\\(([^)]*)\\)").matcher(expr).results()
                .map(r -> Stream.of(r.group(1).split(",")).map(String::trim).collect(Collectors.toSet())).toList();
    }
}
