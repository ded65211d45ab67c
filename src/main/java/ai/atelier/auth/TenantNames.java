package ai.atelier.auth;

import ai.atelier.problem.Problem;

/** What a tenant or key may be named: short, printable, no control characters. */
final class TenantNames {

    private TenantNames() {
    }

    static String check(Object value) {
        if (!(value instanceof String s) || s.isBlank() || s.length() > 100 || !s.strip().matches("[\\p{L}\\p{N} ._:@-]+")) {
            throw Problem.invalid("invalid-name", "Invalid name", "name must be 1 to 100 letters, digits, spaces or . _ : @ -").with("field", "name");
        }
        return s.strip();
    }
}
