package ai.atelier.http;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.vertx.ext.web.Router;

/** The playground is served from {@code META-INF/resources/playground/}; its address without the slash leads there too. */
@ApplicationScoped
public class StaticPages {

    void routes(@Observes Router router) {
        // Vert.x matches "/playground/" to this route too: only the bare path is redirected
        router.get("/playground").handler(rc -> {
            if (rc.request().path().equals("/playground")) {
                rc.redirect("/playground/");
            } else {
                rc.next();
            }
        });
    }
}
