package ai.atelier.auth;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.util.List;

/** What a key may do: read jobs, submit (and cancel, retry) jobs, administer tenants and keys. */
public final class Scopes {

    public static final String JOBS_READ = "jobs:read";
    public static final String JOBS_WRITE = "jobs:write";
    public static final String ADMIN = "admin";

    public static final List<String> ALL = List.of(JOBS_WRITE, JOBS_READ, ADMIN);

    private Scopes() {
    }

    /** The scope a resource method (or every method of a class) needs; checked before the body is read. */
    @Retention(RetentionPolicy.RUNTIME)
    @Target({ ElementType.TYPE, ElementType.METHOD })
    public @interface Requires {
        String value();
    }
}
