package ai.atelier.config;

import java.util.Map;
import java.util.Set;

import org.eclipse.microprofile.config.spi.ConfigSource;

/**
 * Turns the OpenTelemetry SDK off unless an OTLP endpoint is configured in the environment.
 *
 * <p>Why: the OTLP exporter's default endpoint is {@code localhost:4317}; with no collector there it
 * logs a warning for every batch it fails to send. Operators expect "set the endpoint, get traces;
 * set nothing, get silence", which no single Quarkus property expresses (the exporter choice is fixed
 * at build time, the endpoint has a default). The ordinal (200) sits below {@code application.properties}
 * (250) and the environment (300), so {@code QUARKUS_OTEL_SDK_DISABLED} or a profile line still wins.
 */
public final class TracingSwitch implements ConfigSource {

    static final String PROPERTY = "quarkus.otel.sdk.disabled";
    private static final Set<String> ENDPOINT_VARIABLES = Set.of("QUARKUS_OTEL_EXPORTER_OTLP_ENDPOINT",
            "QUARKUS_OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");

    private final Map<String, String> values;

    public TracingSwitch() {
        this(System.getenv());
    }

    TracingSwitch(Map<String, String> environment) {
        boolean endpoint = ENDPOINT_VARIABLES.stream()
                .map(environment::get)
                .anyMatch(value -> value != null && !value.isBlank());
        values = Map.of(PROPERTY, Boolean.toString(!endpoint));
    }

    @Override
    public Map<String, String> getProperties() {
        return values;
    }

    @Override
    public Set<String> getPropertyNames() {
        return values.keySet();
    }

    @Override
    public String getValue(String propertyName) {
        return values.get(propertyName);
    }

    @Override
    public String getName() {
        return "atelier-tracing-switch";
    }

    @Override
    public int getOrdinal() {
        return 200;
    }
}
