package ai.atelier.http;

import java.net.URI;
import java.util.Optional;

import jakarta.inject.Singleton;
import jakarta.enterprise.event.Observes;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.quarkus.vertx.http.runtime.filters.Filters;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * The playground is served from {@code META-INF/resources/playground/}: its address without the slash leads
 * there too, and every answer under it carries the headers a page that holds an API key needs. A strict
 * Content-Security-Policy (scripts and styles from this origin only, no inline code, nothing may frame it),
 * no referrer, and {@code Cache-Control: no-cache}: Quarkus serves static files {@code public, immutable}
 * for a day, which kept a new deployment's page from users; with {@code no-cache} the browser asks each time
 * and a {@code 304} (against the file's {@code Last-Modified}) keeps that cheap. No file is fingerprinted,
 * so none is immutable.
 */
@Singleton
public class StaticPages {

    static final String PREFIX = "/playground";

    private final String contentSecurityPolicy;

    StaticPages(@ConfigProperty(name = "quarkus.s3.endpoint-override") Optional<URI> s3) {
        this.contentSecurityPolicy = contentSecurityPolicy(s3);
    }

    /**
     * The page's policy. Pictures and videos come from this origin, from the presigned S3 URLs of the jobs
     * (any https origin: AWS's bucket hosts, or a CDN), the S3 endpoint when one is configured (an http one in
     * dev), and {@code blob:} or {@code data:} previews of the files a user picks. Everything else is this origin's.
     */
    static String contentSecurityPolicy(Optional<URI> s3) {
        String s3Origin = s3.filter(u -> u.getScheme() != null && u.getHost() != null)
                .map(u -> " " + u.getScheme() + "://" + u.getHost() + (u.getPort() < 0 ? "" : ":" + u.getPort())).orElse("");
        String media = "'self' blob: data: https:" + s3Origin;
        return "default-src 'none'; script-src 'self'; style-src 'self'; img-src " + media + "; media-src " + media
                + "; connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'";
    }

    void routes(@Observes Router router) {
        // Vert.x matches "/playground/" to this route too: only the bare path is redirected
        router.get(PREFIX).handler(rc -> {
            if (rc.request().path().equals(PREFIX)) {
                rc.redirect("/playground/");
            } else {
                rc.next();
            }
        });
    }

    /** The headers go on as the answer's headers are written, after the static handler set its own. */
    void headers(@Observes Filters filters) {
        filters.register(this::playgroundHeaders, 500);
    }

    private void playgroundHeaders(RoutingContext rc) {
        String path = rc.normalizedPath();
        if (path != null && (path.equals(PREFIX) || path.startsWith(PREFIX + "/"))) {
            rc.addHeadersEndHandler(v -> rc.response().headers()
                    .set("Content-Security-Policy", contentSecurityPolicy)
                    .set("X-Frame-Options", "DENY")
                    .set("Referrer-Policy", "no-referrer")
                    .set("Cache-Control", "no-cache"));
        }
        rc.next();
    }
}
