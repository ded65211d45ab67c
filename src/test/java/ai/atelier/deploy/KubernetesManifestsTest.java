package ai.atelier.deploy;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithName;
import io.smallrye.config.WithParentName;

/**
 * The hand-written manifests in {@code deploy/kubernetes/}: every YAML document of every file there is read.
 * Each rule is a {@code check…} method; {@link #everyRuleCatchesABrokenManifest()} breaks a fresh copy of the
 * manifests for each rule and expects it to fail, so no rule passes vacuously.
 */
@SuppressWarnings("unchecked")
class KubernetesManifestsTest {

    static final Path DIR = DeployFiles.path("deploy/kubernetes");
    static final String CONTAINER = "atelier";
    static final String SECRET = "atelier-secrets";
    static final String CONFIG_MAP = "atelier-config";
    static final String PLACEHOLDER = "REPLACE_ME";
    /** Environment variables that carry secrets, each of which must come from the Secret. */
    static final Set<String> SECRET_ENV = Set.of("FAL_KEY", "QUARKUS_DATASOURCE_PASSWORD", "ATELIER_ADMIN_KEY",
            "ATELIER_WEBHOOKS_ENCRYPTION_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY");
    /** Of those, the ones a pod may run without: IRSA or an instance role supplies AWS credentials. */
    static final Set<String> OPTIONAL_SECRET_ENV = Set.of("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY");
    /** Measured 358 MiB RSS (peak 386) with 10,000 jobs waiting on fal (-Xmx192m plus metaspace, code cache, malloc arenas). */
    static final long MIN_MEMORY_REQUEST = 512L << 20;
    /** The API's container port (the Service's target) and the management interface's (health, metrics), by name. */
    static final Map<String, Integer> PORTS = Map.of("http", 8080, "management", 9000);
    static final Map<String, String> PROBES = Map.of(
            "startupProbe", "/q/health/started",
            "livenessProbe", "/q/health/live",
            "readinessProbe", "/q/health/ready");

    record Doc(Path file, Map<String, Object> body) {
        String kind() {
            return str(body, "kind");
        }

        String name() {
            return str(body, "metadata", "name");
        }

        String fileName() {
            return file.getFileName().toString();
        }

        @Override
        public String toString() {
            return kind() + "/" + name() + " in " + file.getFileName();
        }
    }

    // ---- the rules, run on the committed manifests ---------------------------------------------------

    @Test
    void everyDocumentIsAKubernetesObject() {
        checkWellFormed(load());
    }

    @Test
    void kustomizeAppliesEverythingButTheSecretTemplate() {
        checkKustomization(load());
    }

    @Test
    void probesHitTheHealthEndpointsOnTheManagementPort() {
        checkProbes(load());
    }

    @Test
    void metricsAreScrapedFromTheManagementPortWhichOnlyPrometheusReaches() {
        checkMetricsPrivate(load());
    }

    @Test
    void secretsComeFromTheSecretOnly() {
        checkSecrets(load());
    }

    @Test
    void podGraceOutlastsThePreStopSleepAndTheJobsShutdownGrace() {
        checkShutdown(load());
    }

    @Test
    void memoryIsRequestedAndLimitedAndCpuIsNotLimited() {
        checkResources(load());
    }

    @Test
    void serviceAutoscalerAndDisruptionBudgetTargetTheDeployment() {
        checkTargets(load());
    }

    @Test
    void secretTemplateHoldsOnlyPlaceholders() {
        checkSecretTemplate(load());
    }

    @Test
    void everyAtelierVariableIsASettingOfAtelierConfig() {
        checkAtelierKeys(load());
    }

    @Test
    void containerRunsLockedDown() {
        checkLockedDown(load());
    }

    // ---- each rule fails on a manifest that breaks it ------------------------------------------------

    @TestFactory
    Stream<DynamicTest> everyRuleCatchesABrokenManifest() {
        return Stream.of(
                broken("FAL_KEY with an inline value", docs -> {
                    Map<String, Object> env = env(docs, "FAL_KEY");
                    env.remove("valueFrom");
                    env.put("value", "abc");
                }, KubernetesManifestsTest::checkSecrets),
                broken("FAL_KEY not set at all", docs -> envList(docs).removeIf(e -> "FAL_KEY".equals(e.get("name"))),
                        KubernetesManifestsTest::checkSecrets),
                broken("a password in the ConfigMap", docs -> configData(docs).put("QUARKUS_DATASOURCE_PASSWORD", "hunter2"),
                        KubernetesManifestsTest::checkSecrets),
                broken("a secret from another Secret", docs -> secretRef(env(docs, "ATELIER_ADMIN_KEY")).put("name", "other"),
                        KubernetesManifestsTest::checkSecrets),
                broken("ATELIER_ADMIN_KEY optional", docs -> secretRef(env(docs, "ATELIER_ADMIN_KEY")).put("optional", true),
                        KubernetesManifestsTest::checkSecrets),
                broken("a whole Secret through envFrom", docs -> ((List<Object>) container(docs).get("envFrom"))
                        .add(new LinkedHashMap<>(Map.of("secretRef", Map.of("name", SECRET)))), KubernetesManifestsTest::checkSecrets),
                broken("readiness on the dependencies group", docs -> httpGet(docs, "readinessProbe").put("path",
                        "/q/health/group/dependencies"), KubernetesManifestsTest::checkProbes),
                broken("liveness on a port number", docs -> httpGet(docs, "livenessProbe").put("port", 9000),
                        KubernetesManifestsTest::checkProbes),
                broken("readiness on the API's port", docs -> httpGet(docs, "readinessProbe").put("port", "http"),
                        KubernetesManifestsTest::checkProbes),
                broken("no management port on the container", docs -> ((List<Object>) container(docs).get("ports"))
                        .removeIf(p -> "management".equals(str(p, "name"))), KubernetesManifestsTest::checkProbes),
                broken("Prometheus scraping the API's port", docs -> map(one(docs, "Deployment").body(), "spec", "template", "metadata",
                        "annotations").put("prometheus.io/port", "8080"), KubernetesManifestsTest::checkMetricsPrivate),
                broken("the Service exposing the management port", docs -> ((List<Object>) map(one(docs, "Service").body(), "spec").get("ports"))
                        .add(new LinkedHashMap<>(Map.of("name", "management", "port", 9000, "targetPort", "management"))),
                        KubernetesManifestsTest::checkMetricsPrivate),
                broken("the Service exposing the management port by number", docs -> ((List<Object>) map(one(docs, "Service").body(), "spec")
                        .get("ports")).add(new LinkedHashMap<>(Map.of("port", 9000, "targetPort", 9000))), KubernetesManifestsTest::checkMetricsPrivate),
                broken("the management port open to every pod", docs -> list(one(docs, "NetworkPolicy").body(), "spec", "ingress")
                        .forEach(rule -> ((Map<String, Object>) rule).remove("from")), KubernetesManifestsTest::checkMetricsPrivate),
                broken("no NetworkPolicy", docs -> docs.removeIf(d -> d.kind().equals("NetworkPolicy")), KubernetesManifestsTest::checkMetricsPrivate),
                broken("no startup probe", docs -> container(docs).remove("startupProbe"), KubernetesManifestsTest::checkProbes),
                broken("pod grace of 30 s", docs -> podSpec(docs).put("terminationGracePeriodSeconds", 30),
                        KubernetesManifestsTest::checkShutdown),
                broken("jobs shutdown grace of 40s", docs -> configData(docs).put("ATELIER_JOBS_SHUTDOWN_GRACE", "40s"),
                        KubernetesManifestsTest::checkShutdown),
                broken("no preStop sleep", docs -> container(docs).remove("lifecycle"), KubernetesManifestsTest::checkShutdown),
                broken("memory request of 256Mi", docs -> map(container(docs), "resources", "requests").put("memory", "256Mi"),
                        KubernetesManifestsTest::checkResources),
                broken("memory limit below the request", docs -> map(container(docs), "resources", "limits").put("memory", "300Mi"),
                        KubernetesManifestsTest::checkResources),
                broken("a CPU limit", docs -> map(container(docs), "resources", "limits").put("cpu", "1"),
                        KubernetesManifestsTest::checkResources),
                broken("a PDB that selects other pods", docs -> map(one(docs, "PodDisruptionBudget").body(), "spec", "selector",
                        "matchLabels").put("app.kubernetes.io/name", "other"), KubernetesManifestsTest::checkTargets),
                broken("an HPA on another Deployment", docs -> map(one(docs, "HorizontalPodAutoscaler").body(), "spec",
                        "scaleTargetRef").put("name", "other"), KubernetesManifestsTest::checkTargets),
                broken("a Service that selects other pods", docs -> map(one(docs, "Service").body(), "spec", "selector")
                        .put("app.kubernetes.io/name", "other"), KubernetesManifestsTest::checkTargets),
                broken("no Service", docs -> docs.removeIf(d -> d.kind().equals("Service")), KubernetesManifestsTest::checkTargets),
                broken("a real value in the Secret template", docs -> map(one(docs, "Secret").body(), "stringData")
                        .put("FAL_KEY", "fal-live-1234"), KubernetesManifestsTest::checkSecretTemplate),
                broken("an ATELIER_ variable that is no setting", docs -> configData(docs).put("ATELIER_JOBS_SHUTDOWN_GRACEFUL", "20s"),
                        KubernetesManifestsTest::checkAtelierKeys),
                broken("the Secret template in the kustomization", docs -> ((List<Object>) one(docs, "Kustomization").body()
                        .get("resources")).add("secret.example.yaml"), KubernetesManifestsTest::checkKustomization),
                broken("a writable root filesystem", docs -> map(container(docs), "securityContext").put("readOnlyRootFilesystem",
                        false), KubernetesManifestsTest::checkLockedDown));
    }

    /** The check passes on the committed manifests, and fails once {@code breakIt} changed a fresh copy. */
    static DynamicTest broken(String what, Consumer<List<Doc>> breakIt, Consumer<List<Doc>> check) {
        return DynamicTest.dynamicTest(what, () -> {
            List<Doc> docs = load();
            check.accept(docs);
            breakIt.accept(docs);
            assertThatThrownBy(() -> check.accept(docs)).as("the check after: " + what).isInstanceOf(AssertionError.class);
        });
    }

    // ---- rules ---------------------------------------------------------------------------------------

    static void checkWellFormed(List<Doc> docs) {
        assertThat(docs).as("documents in %s", DIR).isNotEmpty();
        Set<String> seen = new HashSet<>();
        for (Doc d : docs) {
            assertThat(str(d.body(), "apiVersion")).as("apiVersion of a document in %s", d.file()).isNotBlank();
            assertThat(d.kind()).as("kind of a document in %s", d.file()).isNotBlank();
            if (!d.kind().equals("Kustomization")) {
                assertThat(d.name()).as("metadata.name of %s", d).isNotBlank();
                assertThat(seen.add(d.kind() + "/" + d.name())).as("%s is defined once", d).isTrue();
            }
        }
        assertThat(docs.stream().map(Doc::kind).collect(Collectors.toSet())).as("kinds in %s", DIR)
                .contains("Deployment", "Service", "ConfigMap", "Secret", "HorizontalPodAutoscaler", "PodDisruptionBudget",
                        "NetworkPolicy", "Kustomization");
        assertThat(docs.stream().map(d -> str(d.body(), "metadata", "namespace")).filter(Objects::nonNull)
                .collect(Collectors.toSet())).as("namespaces named in the manifests (all or none the same)").hasSizeLessThan(2);
    }

    static void checkKustomization(List<Doc> docs) {
        Doc kustomization = one(docs, "Kustomization");
        Set<String> secretFiles = docs.stream().filter(d -> d.kind().equals("Secret")).map(Doc::fileName).collect(Collectors.toSet());
        for (Doc d : docs) {
            if (secretFiles.contains(d.fileName())) {
                assertThat(d.kind()).as("%s shares a file with the Secret template, which kustomize leaves out", d).isEqualTo("Secret");
            }
        }
        Set<String> manifests = docs.stream().filter(d -> !d.kind().equals("Kustomization")).map(Doc::fileName)
                .filter(f -> !secretFiles.contains(f)).collect(Collectors.toCollection(TreeSet::new));
        assertThat(list(kustomization.body(), "resources").stream().map(String::valueOf).toList())
                .as("resources of %s: every manifest but the Secret template", kustomization)
                .containsExactlyInAnyOrderElementsOf(manifests);
    }

    static void checkProbes(List<Doc> docs) {
        Map<String, Object> container = container(docs);
        PORTS.forEach((name, number) -> assertThat(list(container, "ports")).as("ports of the container").anySatisfy(p -> {
            assertThat(str(p, "name")).isEqualTo(name);
            assertThat(at(p, "containerPort")).isEqualTo(number);
        }));
        PROBES.forEach((probe, path) -> {
            Map<String, Object> httpGet = map(container, probe, "httpGet");
            assertThat(httpGet).as("%s.httpGet of the container", probe).isNotNull();
            assertThat(str(httpGet, "path")).as("%s path", probe).isEqualTo(path);
            assertThat(httpGet.get("port")).as("%s port: the management port, by name (health is not served on the API's port)", probe)
                    .isEqualTo("management");
        });
    }

    /**
     * {@code /q/metrics} shows every tenant's id and spend: Prometheus scrapes it on the management port, the Service
     * (and so the ingress) never exposes that port, and a NetworkPolicy lets only chosen sources reach it.
     */
    static void checkMetricsPrivate(List<Doc> docs) {
        int management = PORTS.get("management");
        Map<String, Object> annotations = mapOrEmpty(one(docs, "Deployment").body(), "spec", "template", "metadata", "annotations");
        assertThat(str(annotations, "prometheus.io/scrape")).as("prometheus.io/scrape of the pods").isEqualTo("true");
        assertThat(str(annotations, "prometheus.io/port")).as("prometheus.io/port of the pods: the management port").isEqualTo(String.valueOf(management));
        assertThat(str(annotations, "prometheus.io/path")).as("prometheus.io/path of the pods").isEqualTo("/q/metrics");

        Doc service = one(docs, "Service");
        assertThat(list(service.body(), "spec", "ports")).as("ports of %s: never the management port", service).isNotEmpty()
                .allSatisfy(p -> assertThat(String.valueOf(at(p, "targetPort") == null ? at(p, "port") : at(p, "targetPort")))
                        .isNotIn("management", String.valueOf(management)));

        Doc policy = one(docs, "NetworkPolicy");
        assertSelects(map(policy.body(), "spec", "podSelector"), map(one(docs, "Deployment").body(), "spec", "template", "metadata", "labels"),
                policy);
        assertThat(list(policy.body(), "spec", "policyTypes")).as("policyTypes of %s", policy).contains("Ingress");
        List<Object> rules = list(policy.body(), "spec", "ingress");
        assertThat(rules).as("ingress rules of %s that let the API's port in", policy)
                .anySatisfy(rule -> assertThat(list(rule, "ports")).anySatisfy(p -> assertThat(str(p, "port")).isEqualTo("http")));
        for (Object rule : rules) {
            List<Object> ports = list(rule, "ports");
            boolean opensManagement = ports.isEmpty()
                    || ports.stream().anyMatch(p -> List.of("management", String.valueOf(management)).contains(str(p, "port")));
            if (opensManagement) {
                assertThat(list(rule, "from")).as("a rule of %s that lets the management port in names its sources", policy).isNotEmpty();
            }
        }
    }

    static void checkSecrets(List<Doc> docs) {
        Set<String> templateKeys = secretTemplateKeys(docs);
        Set<String> secretEnv = new HashSet<>();
        for (Map<String, Object> c : allContainers(docs)) {
            String where = "container " + str(c, "name");
            for (Object from : list(c, "envFrom")) {
                assertThat(map(from, "secretRef")).as("envFrom of %s: secrets are named one by one (secretKeyRef), never a whole Secret",
                        where).isNull();
            }
            for (Object o : list(c, "env")) {
                Map<String, Object> e = (Map<String, Object>) o;
                String name = str(e, "name");
                if (!looksSecret(name)) {
                    continue;
                }
                secretEnv.add(name);
                assertThat(e).as("env %s of %s carries an inline value", name, where).doesNotContainKey("value");
                Map<String, Object> ref = map(e, "valueFrom", "secretKeyRef");
                assertThat(ref).as("env %s of %s comes from a secretKeyRef", name, where).isNotNull();
                assertThat(str(ref, "name")).as("the Secret env %s of %s comes from", name, where).isEqualTo(SECRET);
                assertThat(templateKeys).as("keys of the Secret template (env %s reads key %s)", name, str(ref, "key"))
                        .contains(str(ref, "key"));
                assertThat(Boolean.TRUE.equals(ref.get("optional"))).as("env %s is optional (only AWS keys may be: IRSA supplies them)",
                        name).isEqualTo(OPTIONAL_SECRET_ENV.contains(name));
            }
        }
        assertThat(secretEnv).as("secret env vars of the Deployment").containsAll(SECRET_ENV);
        for (Doc cm : ofKind(docs, "ConfigMap")) {
            Set<String> keys = new TreeSet<>();
            keys.addAll(mapOrEmpty(cm.body(), "data").keySet());
            keys.addAll(mapOrEmpty(cm.body(), "binaryData").keySet());
            assertThat(keys).as("keys of %s that look secret", cm).noneMatch(KubernetesManifestsTest::looksSecret);
        }
    }

    static void checkShutdown(List<Doc> docs) {
        Map<String, Object> container = container(docs);
        Object podGrace = podSpec(docs).get("terminationGracePeriodSeconds");
        assertThat(podGrace).as("terminationGracePeriodSeconds of the pod").isInstanceOf(Number.class);
        String jobsGrace = setting(docs, "ATELIER_JOBS_SHUTDOWN_GRACE");
        assertThat(jobsGrace).as("ATELIER_JOBS_SHUTDOWN_GRACE (ConfigMap %s)", CONFIG_MAP).isNotBlank();
        Duration preStop = preStopSleep(container);
        Duration needed = duration(jobsGrace).plus(preStop);
        assertThat(Duration.ofSeconds(((Number) podGrace).longValue()))
                .as("terminationGracePeriodSeconds vs preStop sleep %s + ATELIER_JOBS_SHUTDOWN_GRACE %s", preStop, jobsGrace)
                .isGreaterThan(needed);
    }

    static void checkResources(List<Doc> docs) {
        Map<String, Object> resources = map(container(docs), "resources");
        assertThat(resources).as("resources of the container").isNotNull();
        String request = str(resources, "requests", "memory");
        String limit = str(resources, "limits", "memory");
        assertThat(request).as("memory request").isNotBlank();
        assertThat(limit).as("memory limit").isNotBlank();
        assertThat(bytes(request)).as("memory request %s vs 512Mi", request).isGreaterThanOrEqualTo(MIN_MEMORY_REQUEST);
        assertThat(bytes(limit)).as("memory limit %s vs request %s", limit, request).isGreaterThanOrEqualTo(bytes(request));
        assertThat(str(resources, "requests", "cpu")).as("cpu request (the HPA's utilisation is relative to it)").isNotBlank();
        assertThat(mapOrEmpty(resources, "limits")).as("limits: no CPU limit, it throttles the event loops").doesNotContainKey("cpu");
    }

    static void checkTargets(List<Doc> docs) {
        Doc deployment = one(docs, "Deployment");
        Map<String, Object> podLabels = map(deployment.body(), "spec", "template", "metadata", "labels");
        assertSelects(map(deployment.body(), "spec", "selector"), podLabels, deployment);

        Doc service = one(docs, "Service");
        assertThat(Objects.requireNonNullElse(str(service.body(), "spec", "type"), "ClusterIP")).as("type of %s", service)
                .isEqualTo("ClusterIP");
        assertSelects(Map.of("matchLabels", mapOrEmpty(service.body(), "spec", "selector")), podLabels, service);
        assertThat(list(service.body(), "spec", "ports")).as("ports of %s", service).anySatisfy(p -> {
            assertThat(at(p, "port")).isEqualTo(80);
            assertThat(at(p, "targetPort")).isEqualTo("http");
        });

        Doc hpa = one(docs, "HorizontalPodAutoscaler");
        assertThat(str(hpa.body(), "apiVersion")).as("apiVersion of %s", hpa).isEqualTo("autoscaling/v2");
        Map<String, Object> target = map(hpa.body(), "spec", "scaleTargetRef");
        assertThat(target).as("scaleTargetRef of %s", hpa).isNotNull();
        assertThat(str(target, "apiVersion")).as("scaleTargetRef.apiVersion").isEqualTo("apps/v1");
        assertThat(str(target, "kind")).as("scaleTargetRef.kind").isEqualTo("Deployment");
        assertThat(str(target, "name")).as("scaleTargetRef.name").isEqualTo(deployment.name());
        int min = ((Number) at(hpa.body(), "spec", "minReplicas")).intValue();
        int max = ((Number) at(hpa.body(), "spec", "maxReplicas")).intValue();
        assertThat(max).as("maxReplicas vs minReplicas").isGreaterThanOrEqualTo(min);
        assertThat(at(hpa.body(), "spec", "behavior", "scaleDown", "stabilizationWindowSeconds"))
                .as("scaleDown.stabilizationWindowSeconds of %s (jobs in flight: scale down slowly)", hpa)
                .isInstanceOf(Integer.class).matches(s -> (Integer) s >= 300, ">= 300");

        Doc pdb = one(docs, "PodDisruptionBudget");
        assertThat(str(pdb.body(), "apiVersion")).as("apiVersion of %s", pdb).isEqualTo("policy/v1");
        assertSelects(map(pdb.body(), "spec", "selector"), podLabels, pdb);
        Object minAvailable = at(pdb.body(), "spec", "minAvailable");
        assertThat(minAvailable).as("minAvailable of %s (a number of pods)", pdb).isInstanceOf(Integer.class);
        assertThat(min).as("HPA minReplicas vs PDB minAvailable: a drain must be able to evict a pod").isGreaterThan((Integer) minAvailable);
    }

    static void checkSecretTemplate(List<Doc> docs) {
        Doc secret = one(docs, "Secret");
        assertThat(secret.name()).as("name of the Secret template").isEqualTo(SECRET);
        assertThat(secret.fileName()).as("file of the Secret: a template, *.example.yaml").contains(".example.");
        Map<String, Object> stringData = mapOrEmpty(secret.body(), "stringData");
        Map<String, Object> data = mapOrEmpty(secret.body(), "data");
        assertThat(stringData.size() + data.size()).as("keys of %s", secret).isPositive();
        stringData.forEach((k, v) -> assertThat(String.valueOf(v)).as("stringData.%s of %s", k, secret).isEqualTo(PLACEHOLDER));
        data.forEach((k, v) -> assertThat(decodeBase64(String.valueOf(v))).as("data.%s of %s (base64)", k, secret)
                .isEqualTo(PLACEHOLDER));
        assertThat(secretTemplateKeys(docs)).as("keys of the Secret template").containsAll(SECRET_ENV);
    }

    static void checkAtelierKeys(List<Doc> docs) {
        Map<String, String> settings = atelierSettings();
        assertThat(settings).as("environment names of AtelierConfig's settings (the walk over the interface)")
                .containsKeys("ATELIER_JOBS_SHUTDOWN_GRACE", "ATELIER_FAL_PUBLIC_BASE_URL", "ATELIER_ADMIN_KEY", "ATELIER_S3_BUCKET");
        Set<String> used = new TreeSet<>();
        for (Doc cm : ofKind(docs, "ConfigMap")) {
            mapOrEmpty(cm.body(), "data").keySet().stream().filter(k -> k.startsWith("ATELIER_")).forEach(used::add);
        }
        for (Map<String, Object> c : allContainers(docs)) {
            list(c, "env").stream().map(e -> str(e, "name")).filter(n -> n.startsWith("ATELIER_")).forEach(used::add);
        }
        assertThat(used).as("ATELIER_ variables of the manifests").isNotEmpty();
        for (String key : used) {
            assertThat(settings).as("%s (atelier.%s, dots or dashes) is a setting of AtelierConfig", key,
                    key.substring("ATELIER_".length()).toLowerCase(Locale.ROOT).replace('_', '.')).containsKey(key);
        }
    }

    static void checkLockedDown(List<Doc> docs) {
        Map<String, Object> pod = podSpec(docs);
        Map<String, Object> container = container(docs);
        Map<String, Object> sc = map(container, "securityContext");
        assertThat(sc).as("securityContext of the container").isNotNull();
        assertThat(Boolean.TRUE.equals(sc.get("runAsNonRoot")) || Boolean.TRUE.equals(at(pod, "securityContext", "runAsNonRoot")))
                .as("runAsNonRoot (container or pod)").isTrue();
        assertThat(sc.get("readOnlyRootFilesystem")).as("readOnlyRootFilesystem").isEqualTo(true);
        assertThat(sc.get("allowPrivilegeEscalation")).as("allowPrivilegeEscalation").isEqualTo(false);
        assertThat(list(sc, "capabilities", "drop")).as("capabilities dropped").contains("ALL");
        String tmpVolume = list(container, "volumeMounts").stream().filter(m -> "/tmp".equals(str(m, "mountPath")))
                .map(m -> str(m, "name")).findFirst().orElse(null);
        assertThat(tmpVolume).as("a volume mounted at /tmp (the root filesystem is read-only)").isNotNull();
        assertThat(list(pod, "volumes")).as("volume %s is an emptyDir", tmpVolume)
                .anyMatch(v -> tmpVolume.equals(str(v, "name")) && ((Map<String, Object>) v).containsKey("emptyDir"));
    }

    // ---- AtelierConfig's settings, by reflection -----------------------------------------------------

    /** Environment name of each setting of {@code ai.atelier.config.AtelierConfig} -> its property name. */
    static Map<String, String> atelierSettings() {
        Class<?> root;
        try {
            root = Class.forName("ai.atelier.config.AtelierConfig");
        } catch (ClassNotFoundException e) {
            throw new AssertionError("ai.atelier.config.AtelierConfig is not on the test classpath", e);
        }
        Map<String, String> settings = new TreeMap<>();
        walk(root, root.getAnnotation(ConfigMapping.class).prefix(), settings);
        return settings;
    }

    private static void walk(Class<?> type, String path, Map<String, String> settings) {
        for (Method m : type.getMethods()) {
            if (m.isDefault() || m.isSynthetic() || Modifier.isStatic(m.getModifiers()) || m.getParameterCount() != 0) {
                continue;
            }
            String name = m.isAnnotationPresent(WithName.class) ? m.getAnnotation(WithName.class).value() : kebab(m.getName());
            String property = m.isAnnotationPresent(WithParentName.class) ? path : path + "." + name;
            Class<?> returned = m.getReturnType();
            if (returned.isInterface() && returned.getName().startsWith("ai.atelier.")) {
                walk(returned, property, settings);
            } else {
                settings.put(property.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]", "_"), property);
            }
        }
    }

    /** SmallRye's default naming of mapping methods: {@code shutdownGrace} -> {@code shutdown-grace}. */
    static String kebab(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
    }

    // ---- values ----------------------------------------------------------------------------------

    static boolean looksSecret(String name) {
        String n = name.toUpperCase(Locale.ROOT);
        return SECRET_ENV.contains(n) || n.contains("PASSWORD") || n.contains("SECRET") || n.contains("TOKEN")
                || n.endsWith("_KEY") || n.endsWith("_KEY_ID");
    }

    /** A Kubernetes quantity in bytes: 384Mi, 1Gi, 500M, 1000000. */
    static long bytes(String quantity) {
        Matcher m = Pattern.compile("(\\d+(?:\\.\\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?").matcher(quantity.trim());
        assertThat(m.matches()).as("%s is a memory quantity", quantity).isTrue();
        long unit = switch (Objects.requireNonNullElse(m.group(2), "")) {
            case "Ki" -> 1L << 10;
            case "Mi" -> 1L << 20;
            case "Gi" -> 1L << 30;
            case "Ti" -> 1L << 40;
            case "k" -> 1_000L;
            case "M" -> 1_000_000L;
            case "G" -> 1_000_000_000L;
            case "T" -> 1_000_000_000_000L;
            default -> 1L;
        };
        return new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(unit)).longValue();
    }

    /** A duration as SmallRye reads it: 20s, 500ms, 2m, 1h, 3d, ISO-8601 (PT20S), or a plain number of seconds. */
    static Duration duration(String value) {
        String v = value.trim();
        if (v.startsWith("P") || v.startsWith("p")) {
            return Duration.parse(v.toUpperCase(Locale.ROOT));
        }
        Matcher m = Pattern.compile("(\\d+)(ms|s|m|h|d)?").matcher(v);
        assertThat(m.matches()).as("%s is a duration", value).isTrue();
        long n = Long.parseLong(m.group(1));
        return switch (Objects.requireNonNullElse(m.group(2), "s")) {
            case "ms" -> Duration.ofMillis(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            case "d" -> Duration.ofDays(n);
            default -> Duration.ofSeconds(n);
        };
    }

    /** How long the container's preStop hook waits: {@code sleep.seconds}, or {@code sleep N} in an exec command. */
    static Duration preStopSleep(Map<String, Object> container) {
        Map<String, Object> preStop = map(container, "lifecycle", "preStop");
        assertThat(preStop).as("lifecycle.preStop of the container").isNotNull();
        if (at(preStop, "sleep", "seconds") instanceof Number seconds) {
            return Duration.ofSeconds(seconds.longValue());
        }
        String command = list(preStop, "exec", "command").stream().map(String::valueOf).collect(Collectors.joining(" "));
        Matcher m = Pattern.compile("\\bsleep\\s+(\\d+)\\b").matcher(command);
        assertThat(m.find()).as("preStop runs sleep <seconds>: %s", command).isTrue();
        return Duration.ofSeconds(Long.parseLong(m.group(1)));
    }

    /** A setting the container sees: its own env wins over the ConfigMap it takes with envFrom. */
    static String setting(List<Doc> docs, String name) {
        for (Object e : list(container(docs), "env")) {
            if (name.equals(str(e, "name")) && at(e, "value") != null) {
                return str(e, "value");
            }
        }
        return str(configData(docs), name);
    }

    static String decodeBase64(String value) {
        try {
            return new String(Base64.getDecoder().decode(value.trim()), UTF_8);
        } catch (IllegalArgumentException e) {
            throw new AssertionError("not base64: " + value, e);
        }
    }

    static void assertSelects(Map<String, Object> selector, Map<String, Object> podLabels, Doc owner) {
        assertThat(selector).as("selector of %s", owner).isNotNull();
        assertThat(selector).as("selector of %s (only matchLabels is understood here)", owner).doesNotContainKey("matchExpressions");
        Map<String, Object> matchLabels = mapOrEmpty(selector, "matchLabels");
        assertThat(matchLabels).as("matchLabels of %s", owner).isNotEmpty();
        assertThat(podLabels).as("the Deployment's pod labels, selected by %s", owner).containsAllEntriesOf(matchLabels);
    }

    // ---- documents -------------------------------------------------------------------------------

    /** Every document of every YAML file under deploy/kubernetes/, parsed afresh (callers may change their copy). */
    static List<Doc> load() {
        List<Doc> docs = new ArrayList<>();
        try (Stream<Path> files = Files.list(DIR)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".yaml") || f.toString().endsWith(".yml")).sorted().toList()) {
                Yaml yaml = new Yaml(new SafeConstructor(new LoaderOptions()));
                try (Reader reader = Files.newBufferedReader(file, UTF_8)) {
                    int before = docs.size();
                    for (Object o : yaml.loadAll(reader)) {
                        if (o == null) {
                            continue;
                        }
                        assertThat(o).as("a document of %s", file).isInstanceOf(Map.class);
                        docs.add(new Doc(file, (Map<String, Object>) o));
                    }
                    assertThat(docs.size()).as("documents in %s", file).isGreaterThan(before);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return docs;
    }

    static List<Doc> ofKind(List<Doc> docs, String kind) {
        return docs.stream().filter(d -> kind.equals(d.kind())).toList();
    }

    static Doc one(List<Doc> docs, String kind) {
        List<Doc> found = ofKind(docs, kind);
        assertThat(found).as("%s documents in %s", kind, DIR).hasSize(1);
        return found.get(0);
    }

    static Map<String, Object> podSpec(List<Doc> docs) {
        Map<String, Object> spec = map(one(docs, "Deployment").body(), "spec", "template", "spec");
        assertThat(spec).as("spec.template.spec of the Deployment").isNotNull();
        return spec;
    }

    static Map<String, Object> container(List<Doc> docs) {
        return list(podSpec(docs), "containers").stream().map(c -> (Map<String, Object>) c)
                .filter(c -> CONTAINER.equals(str(c, "name"))).findFirst()
                .orElseThrow(() -> new AssertionError("the Deployment has no container named " + CONTAINER));
    }

    static List<Map<String, Object>> allContainers(List<Doc> docs) {
        Map<String, Object> pod = podSpec(docs);
        return Stream.concat(list(pod, "initContainers").stream(), list(pod, "containers").stream())
                .map(c -> (Map<String, Object>) c).toList();
    }

    static List<Map<String, Object>> envList(List<Doc> docs) {
        return (List<Map<String, Object>>) (List<?>) list(container(docs), "env");
    }

    static Map<String, Object> env(List<Doc> docs, String name) {
        return envList(docs).stream().filter(e -> name.equals(e.get("name"))).findFirst()
                .orElseThrow(() -> new AssertionError("no env " + name));
    }

    static Map<String, Object> secretRef(Map<String, Object> env) {
        return map(env, "valueFrom", "secretKeyRef");
    }

    static Map<String, Object> httpGet(List<Doc> docs, String probe) {
        return map(container(docs), probe, "httpGet");
    }

    static Map<String, Object> configData(List<Doc> docs) {
        Doc cm = ofKind(docs, "ConfigMap").stream().filter(d -> CONFIG_MAP.equals(d.name())).findFirst()
                .orElseThrow(() -> new AssertionError("no ConfigMap " + CONFIG_MAP));
        Map<String, Object> data = map(cm.body(), "data");
        assertThat(data).as("data of %s", cm).isNotNull();
        return data;
    }

    static Set<String> secretTemplateKeys(List<Doc> docs) {
        Doc secret = one(docs, "Secret");
        Set<String> keys = new TreeSet<>(mapOrEmpty(secret.body(), "stringData").keySet());
        keys.addAll(mapOrEmpty(secret.body(), "data").keySet());
        return keys;
    }

    // ---- navigation ------------------------------------------------------------------------------

    static Object at(Object node, String... path) {
        for (String key : path) {
            if (!(node instanceof Map<?, ?> m)) {
                return null;
            }
            node = m.get(key);
        }
        return node;
    }

    static Map<String, Object> map(Object node, String... path) {
        return at(node, path) instanceof Map<?, ?> m ? (Map<String, Object>) m : null;
    }

    static Map<String, Object> mapOrEmpty(Object node, String... path) {
        return Objects.requireNonNullElse(map(node, path), Map.of());
    }

    static List<Object> list(Object node, String... path) {
        return at(node, path) instanceof List<?> l ? (List<Object>) l : List.of();
    }

    static String str(Object node, String... path) {
        Object value = at(node, path);
        return value == null ? null : value.toString();
    }
}
