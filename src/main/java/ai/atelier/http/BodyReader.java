package ai.atelier.http;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.ws.rs.container.ContainerRequestContext;

import org.jboss.resteasy.reactive.server.ServerRequestFilter;

import ai.atelier.auth.Caller;
import io.quarkus.vertx.http.runtime.filters.Filters;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.ext.web.RoutingContext;

/**
 * Reads every request body that is not multipart (JSON, and what the fal webhook takes as bytes) into memory
 * before a resource runs, reserving what it will cost once parsed ({@link BodyCost}) from the instance's and the
 * tenant's share ({@link BodyMemory}) as its bytes arrive, and hands it to Quarkus REST as the entity stream.
 * Left to Quarkus REST, a body over 10 KB was read on a worker thread with no memory budget: two parallel
 * 57 MB data-URL submits ran a 192 MB heap out. Here a body that cannot fit a tenant's share is refused with
 * a 413 (from its declared length, before a byte of it is read), one that does not fit now with a 503 and
 * Retry-After; a slow sender holds a connection, never a thread, and only what it has sent.
 * <p>
 * It also answers {@code Expect: 100-continue} once the request is admitted (authenticated, not too large,
 * room for it now): every refusal before that is a final answer and the body is never sent.
 * <p>
 * Application-scoped (a client proxy) where Atelier's other beans are singletons: Quarkus REST creates its
 * filter at static init, before the runtime configuration this bean's dependencies read exists, and the
 * proxy defers creating them to the first request.
 */
@ApplicationScoped
public class BodyReader {

    static final String KEY = "atelier.read-body";

    private final BodyMemory memory;

    BodyReader(BodyMemory memory) {
        this.memory = memory;
    }

    /** After authentication (1000), beside the multipart reader: an unknown caller's body is never read. */
    void register(@Observes Filters filters) {
        filters.register(this::read, 900);
    }

    /** Quarkus REST reads the entity from here rather than from the connection, which was read already. */
    @ServerRequestFilter
    public void entity(ContainerRequestContext request, RoutingContext rc) {
        ReadBody body = rc.get(KEY);
        if (body != null) {
            rc.remove(KEY);
            request.setEntityStream(body);
        }
    }

    private void read(RoutingContext rc) {
        HttpServerRequest request = rc.request();
        String type = request.getHeader(HttpHeaders.CONTENT_TYPE);
        if (!carriesBody(request) || (type != null && type.toLowerCase(Locale.ROOT).startsWith("multipart/form-data"))
                || takesNoBody(rc.normalizedPath())) {
            rc.next();
            return;
        }
        long largest = memory.perRequest() / BodyCost.TEXT;
        String kind = "a JSON body";
        BodyMemory.Hold hold = memory.open(Caller.of(rc));
        long declared = contentLength(request);
        if (declared >= 0) {
            BodyMemory.Verdict verdict = hold.wouldFit(BodyCost.leastJson(declared));
            if (verdict != BodyMemory.Verdict.TAKEN) {
                refuse(rc, verdict, kind, largest);
                return;
            }
        }
        if (expectsContinue(request)) {
            rc.response().writeContinue();
        }
        ReadBody body = new ReadBody();
        BodyCost cost = new BodyCost();
        AtomicBoolean done = new AtomicBoolean();
        // called when the answer is sent, and when the connection closes before that (Quarkus's response keeps every close handler)
        rc.addEndHandler(v -> hold.release());
        request.exceptionHandler(e -> {
            // the client went away or broke the framing: nothing more to read, nothing to keep
            if (done.compareAndSet(false, true)) {
                body.clear();
                hold.release();
            }
        });
        request.handler(chunk -> {
            if (done.get()) {
                return;
            }
            BodyMemory.Verdict verdict = hold.take(cost.json(chunk));
            if (verdict != BodyMemory.Verdict.TAKEN) {
                done.set(true);
                body.clear();
                hold.release();
                refuse(rc, verdict, kind, largest);
                return;
            }
            body.add(chunk);
        });
        request.endHandler(v -> {
            if (done.compareAndSet(false, true)) {
                rc.put(KEY, body);
                rc.next();
            }
        });
    }

    /** Refused for memory: too large ever to fit (413), or not now (503). Sent before the body's end, the connection closes after it. */
    static void refuse(RoutingContext rc, BodyMemory.Verdict verdict, String kind, long largest) {
        if (verdict == BodyMemory.Verdict.TOO_LARGE) {
            ProblemAnswers.send(rc, 413, "body-too-large", "Request too large", "The request needs more memory than one tenant may hold at once: "
                    + kind + " may have at most " + largest + " bytes (send large images as multipart files, or by URL)",
                    Map.of("limit_bytes", largest), null);
        } else {
            busy(rc);
        }
    }

    static void busy(RoutingContext rc) {
        ProblemAnswers.send(rc, 503, "uploads-busy", "Too many uploads at once",
                "This instance, or your share of it, is reading as many request bodies as it holds in memory; try again in a moment", Map.of(),
                Map.of("Retry-After", "1"));
    }

    /** Whether the request has a body (HTTP/1.1 framing: a length above zero, or a transfer coding). */
    static boolean carriesBody(HttpServerRequest request) {
        long declared = contentLength(request);
        return declared > 0 || (declared < 0 && request.getHeader(HttpHeaders.TRANSFER_ENCODING) != null);
    }

    /** What Quarkus REST does not serve (the management, health and static routes) takes no body: it is not read, the connection closes after the answer. */
    private static boolean takesNoBody(String path) {
        return path == null || path.equals("/q") || path.startsWith("/q/") || path.startsWith("/playground");
    }

    static boolean expectsContinue(HttpServerRequest request) {
        return request.version() == HttpVersion.HTTP_1_1 && "100-continue".equalsIgnoreCase(request.getHeader(HttpHeaders.EXPECT));
    }

    /** The declared length, or -1 when there is none (or it is not a number: the HTTP decoder refused that already). */
    static long contentLength(HttpServerRequest request) {
        String v = request.getHeader(HttpHeaders.CONTENT_LENGTH);
        if (v == null) {
            return -1;
        }
        try {
            return Long.parseLong(v.strip());
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
