package ai.atelier.support;

import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Installs {@link ContractFilter} for every test, auto-detected by JUnit (surefire sets junit.jupiter.extensions.autodetection.enabled),
 * so a test added later is checked too. A {@code @QuarkusTest} runs in Quarkus's own class loader with its own copy
 * of RestAssured: the filter is installed through the test class's loader, once per loader.
 */
public final class ContractCheck implements BeforeEachCallback {

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        ClassLoader loader = context.getRequiredTestClass().getClassLoader();
        loader.loadClass(ContractFilter.class.getName()).getMethod("install").invoke(null);
    }
}
