package ai.atelier.ingest;

import jakarta.inject.Singleton;

import ai.atelier.config.AtelierConfig;
import ai.atelier.net.UrlGuard;
import ai.atelier.problem.Problem;
import io.smallrye.mutiny.Uni;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.core.http.HttpClient;
import io.vertx.mutiny.core.http.HttpClientRequest;
import io.vertx.mutiny.core.http.HttpClientResponse;

/**
 * Fetches a client's image URL through the {@link UrlGuard} (no private addresses, no DNS rebinding),
 * without following redirects, refusing the body as soon as it passes the byte limit.
 */
@Singleton
public class ImageFetcher {

    private final HttpClient http;
    private final UrlGuard guard;
    private final AtelierConfig.Ingest config;

    public ImageFetcher(Vertx vertx, UrlGuard guard, AtelierConfig config) {
        this.guard = guard;
        this.config = config.ingest();
        this.http = vertx.createHttpClient(new HttpClientOptions().setConnectTimeout(5_000).setMaxPoolSize(32));
    }

    public Uni<byte[]> fetch(String url) {
        return guard.check(url, "image-url")
                .chain(target -> http.request(target.request(HttpMethod.GET, config.fetchTimeout().toMillis())).chain(HttpClientRequest::send)
                        .onFailure().transform(e -> bad("The image URL could not be fetched: " + e.getClass().getSimpleName())))
                .chain(this::body);
    }

    /** Reads the body, refusing it as soon as it passes the byte limit: a hostile server cannot make us buffer more. */
    private Uni<byte[]> body(HttpClientResponse r) {
        if (r.statusCode() != 200) {
            r.request().connection().close();
            return Uni.createFrom().failure(bad("The image URL answered HTTP " + r.statusCode()
                    + (r.statusCode() / 100 == 3 ? " (redirects are not followed)" : "")));
        }
        long max = config.maxBytes();
        String length = r.getHeader("Content-Length");
        if (length != null && length.matches("\\d{1,18}") && Long.parseLong(length) > max) {
            r.request().connection().close();
            return Uni.createFrom().failure(tooLarge(Long.parseLong(length), max));
        }
        return r.toMulti()
                .collect().in(Buffer::buffer, (all, chunk) -> {
                    if (all.length() + chunk.length() > max) {
                        r.request().connection().close();
                        throw tooLarge(all.length() + (long) chunk.length(), max);
                    }
                    all.appendBuffer(chunk);
                })
                .map(Buffer::getBytes);
    }

    private static Problem tooLarge(long bytes, long max) {
        return Problem.tooLarge("image-too-many-bytes", "The image URL serves more than " + max + " bytes (" + bytes + " so far)");
    }

    private static Problem bad(String detail) {
        return Problem.invalid("unusable-image-url", "Image URL not usable", detail);
    }
}
