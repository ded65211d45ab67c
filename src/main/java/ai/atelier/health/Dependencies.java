package ai.atelier.health;

/**
 * Which dependencies make an instance unready, and why.
 * <p>
 * Readiness ({@code /q/health/ready}) is what Kubernetes uses to send an instance traffic. It checks
 * PostgreSQL only (Quarkus's datasource check): the jobs live there, so an instance that cannot reach
 * it can neither accept nor read one, and losing it is often this instance's own trouble (its network,
 * its pool), which another replica may not have.
 * <p>
 * Redis and S3 are checked in the {@code dependencies} group ({@code /q/health/group/dependencies}) for
 * dashboards and alerts, not for readiness. Both are shared by every replica, so an outage of either
 * would pull every replica out of the Service at once and turn a degradation into a full outage:
 * without Redis, submits and reads go on (reads fall back to PostgreSQL, event streams to the row); without
 * S3, running jobs wait it out and a submit with images gets a 503 problem with Retry-After, which a
 * client can act on, rather than a proxy's connection error.
 */
public final class Dependencies {

    public static final String GROUP = "dependencies";

    private Dependencies() {
    }
}
