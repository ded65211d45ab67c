package ai.atelier.http;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import jakarta.inject.Singleton;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.event.ObservesAsync;

import ai.atelier.config.AtelierConfig;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import io.quarkus.logging.Log;
import io.quarkus.vertx.http.HttpServer;
import io.quarkus.vertx.http.HttpServerStart;
import io.quarkus.vertx.http.runtime.filters.Filters;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.net.impl.ConnectionBase;
import io.vertx.ext.web.RoutingContext;
import io.vertx.core.json.JsonObject;

/**
 * What the HTTP server does not do by itself, per connection, below the router:
 * <ul>
 * <li>a request's headers must arrive within {@code atelier.http.header-timeout} of its first byte, and
 * its body within {@code atelier.http.body-timeout} of its headers; a client that trickles bytes (which
 * an idle timeout never catches) gets a 408 and the connection is closed;</li>
 * <li>a request the HTTP decoder refuses (a header over the size limit, a request line too long, a
 * control byte in a header) gets a problem+json body like every other error, not Vert.x's empty
 * answer, and the connection is closed.</li>
 * </ul>
 * Vert.x has no hook for a connection before its first request is parsed (Quarkus keeps the server's
 * connection handler to itself), so the guard is put on the listening channel, reached from the first
 * request's connection: from then on each accepted connection gets a raw-bytes handler first in its
 * pipeline and, once Vert.x has built the HTTP pipeline, a message handler right after the HTTP codec.
 * That first request is the instance's own, sent to its port as soon as the server listens (the probes,
 * which used to be first, are on the management port), so no client's connection is ever accepted unguarded. HTTP/1.1 only: cleartext HTTP/2 is off (application.properties). HostileClientsTest proves each of these through the real server.
 */
@Singleton
public class ConnectionGuard {

    private static final AttributeKey<Boolean> GUARDED = AttributeKey.valueOf("atelier.guarded");
    static final String RAW = "atelier-guard-raw";
    private static final String MESSAGES = "atelier-guard-messages";

    private final AtomicBoolean selfRequestSent = new AtomicBoolean();
    private final long headerTimeoutMs;
    private final long bodyTimeoutMs;

    ConnectionGuard(AtelierConfig config) {
        this.headerTimeoutMs = config.http().headerTimeout().toMillis();
        this.bodyTimeoutMs = config.http().bodyTimeout().toMillis();
    }

    /**
     * As soon as the HTTP server listens (Quarkus fires the event asynchronously), one request to its own port,
     * so the guard is on the listening channel before any client connects (whatever it answers: every request
     * goes through {@link #guard}).
     */
    void installAtStart(@ObservesAsync HttpServerStart start, Vertx vertx, HttpServer server) {
        if (!selfRequestSent.compareAndSet(false, true)) {
            return;
        }
        String host = start.options().getHost();
        String target = host == null || host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]") ? "127.0.0.1" : host;
        HttpClient client = vertx.createHttpClient();
        client.request(HttpMethod.GET, server.getPort(), target, "/favicon.ico")
                .compose(request -> request.send())
                .compose(response -> response.body())
                .onComplete(done -> {
                    client.close();
                    if (done.failed()) {
                        Log.warnf("The connection guard's first request to %s:%d failed (%s): the guard goes on with the first client's request",
                                target, server.getPort(), done.cause().getMessage());
                    }
                });
    }

    /** First of all filters: the connection's listening channel gets the guard the first time a request comes through it. */
    void register(@Observes Filters filters) {
        filters.register(this::guard, 3000);
    }

    private void guard(RoutingContext rc) {
        if (rc.request().connection() instanceof ConnectionBase connection) {
            Channel child = connection.channel();
            Channel listening = child.parent();
            if (listening != null && listening.attr(GUARDED).setIfAbsent(true) == null) {
                listening.pipeline().addFirst("atelier-guard-acceptor", new Acceptor());
                // and this very connection, which was accepted before: its next requests are guarded too
                child.eventLoop().execute(() -> {
                    if (child.pipeline().get(RAW) == null && child.pipeline().get("httpEncoder") != null) {
                        Guard g = new Guard();
                        child.pipeline().addFirst(RAW, g);
                        child.pipeline().addAfter("httpEncoder", MESSAGES, new Messages(g));
                        g.messagesInstalled = true;
                    }
                });
                Log.infof("Slow-client and bad-request guard on %s: headers within %d ms, bodies within %d ms", listening.localAddress(),
                        headerTimeoutMs, bodyTimeoutMs);
            }
        }
        rc.next();
    }

    /** On the listening channel: every accepted connection gets its guard before Vert.x configures it. */
    @ChannelHandler.Sharable
    private final class Acceptor extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Channel child) {
                child.pipeline().addFirst(RAW, new Guard());
            }
            ctx.fireChannelRead(msg);
        }
    }

    /**
     * One per connection. As the raw handler it sees bytes arrive (a request begins); as the message
     * handler (a second instance sharing nothing but the connection's state through the first) it sees
     * the decoded request: headers complete, body complete, or refused by the decoder.
     */
    private final class Guard extends ChannelDuplexHandler {
        private boolean awaitingHeaders = true;
        private ScheduledFuture<?> deadline;
        private boolean messagesInstalled;
        /** An answer to the current request is being written: a timeout then closes without a second answer. */
        private boolean answering;
        /** The current request's body has been received to its end (or it has none). */
        private boolean requestComplete = true;
        /** Request heads decoded on this connection so far. */
        private long requestHeads;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            // right after the HTTP codec: it sees decoded requests before anything else does, and what it
            // writes goes out through the encoder
            if (!messagesInstalled && ctx.pipeline().get("httpEncoder") != null) {
                ctx.pipeline().addAfter("httpEncoder", MESSAGES, new Messages(this));
                messagesInstalled = true;
            }
            boolean bytes = msg instanceof ByteBuf b && b.isReadable();
            long before = requestHeads;
            ctx.fireChannelRead(msg);
            // the timers are armed once the read is decoded (the decoder passes on what it made within this call), and only
            // for what is still missing: nearly every read holds a whole request, and a timer set and cancelled for each
            // cost more than the rest of this guard
            if (deadline == null && ctx.channel().isActive()) {
                if (!requestComplete) {
                    arm(ctx, bodyTimeoutMs, "body");
                } else if (bytes && awaitingHeaders && requestHeads == before) {
                    arm(ctx, headerTimeoutMs, "headers");
                }
            }
        }

        void arm(ChannelHandlerContext ctx, long ms, String what) {
            cancel();
            deadline = ctx.executor().schedule(() -> timedOut(ctx, what), ms, TimeUnit.MILLISECONDS);
        }

        void cancel() {
            if (deadline != null) {
                deadline.cancel(false);
                deadline = null;
            }
        }

        private void timedOut(ChannelHandlerContext ctx, String what) {
            deadline = null;
            if (!ctx.channel().isActive()) {
                return;
            }
            long limit = what.equals("headers") ? headerTimeoutMs : bodyTimeoutMs;
            Log.debugf("closing a connection from %s: its request's %s did not arrive within %d ms", ctx.channel().remoteAddress(), what, limit);
            if (answering) {
                ctx.channel().close();
                return;
            }
            // a client this slow is not waited for: closed at once, no lingering
            refuse(ctx.channel(), HttpResponseStatus.REQUEST_TIMEOUT, "request-timeout", "Request too slow",
                    "The request's " + what + " did not arrive within " + limit + " ms", false);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            cancel();
            super.channelInactive(ctx);
        }

    }

    /** After the HTTP decoder: when a request's headers and body are complete, what the decoder refused, and answers going out. */
    private final class Messages extends ChannelDuplexHandler {
        private final Guard guard;

        Messages(Guard guard) {
            this.guard = guard;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpRequest request) {
                guard.requestHeads++;
                guard.awaitingHeaders = false;
                guard.cancel();
                if (request.decoderResult().isFailure()) {
                    ReferenceCountUtil.release(msg);
                    refuseUndecodable(ctx.channel(), request.decoderResult().cause());
                    return;
                }
                if (!(msg instanceof LastHttpContent)) {
                    guard.requestComplete = false; // the raw handler arms the body's timer if this read did not end it
                }
            }
            if (msg instanceof LastHttpContent) {
                guard.cancel();
                guard.awaitingHeaders = true;
                guard.requestComplete = true;
            }
            ctx.fireChannelRead(msg);
        }

        /**
         * An answer sent before its request's body has arrived (a refusal, an authentication failure) says
         * {@code Connection: close} and the connection is closed after it, lingering: the rest of the body
         * must never be read as the next request (behind a pooling proxy, another customer's), and a
         * client still sending must get to read the answer. Every other answer leaves the connection as it was.
         * An interim answer ({@code 100 Continue}) is none of these: it asks for the body, and the final answer
         * is still to come.
         */
        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
            if (msg instanceof HttpResponse interim && interim.status().codeClass() == HttpStatusClass.INFORMATIONAL) {
                super.write(ctx, msg, promise);
                return;
            }
            if (msg instanceof HttpResponse response) {
                guard.answering = true;
                if (!guard.requestComplete) {
                    response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                }
            }
            if (msg instanceof LastHttpContent) {
                guard.answering = false;
                if (!guard.requestComplete) {
                    Channel channel = ctx.channel();
                    promise.addListener(f -> LingeringClose.close(channel));
                }
            }
            super.write(ctx, msg, promise);
        }
    }

    private static void refuseUndecodable(Channel channel, Throwable cause) {
        if (cause instanceof TooLongHttpHeaderException) {
            refuse(channel, HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "headers-too-large", "Request headers too large",
                    "The request's headers are larger than this server accepts");
        } else if (cause instanceof TooLongHttpLineException || cause instanceof TooLongFrameException) {
            refuse(channel, HttpResponseStatus.REQUEST_URI_TOO_LONG, "request-line-too-long", "Request line too long",
                    "The request line (method, path and query) is longer than this server accepts");
        } else {
            refuse(channel, HttpResponseStatus.BAD_REQUEST, "malformed-request", "Malformed HTTP request",
                    "The request is not valid HTTP/1.1 (for example a control character in a header)");
        }
    }

    /** Answers with a problem and closes: the rest of what the client sends cannot be trusted to frame a next request. */
    static void refuse(Channel channel, HttpResponseStatus status, String slug, String title, String detail) {
        refuse(channel, status, slug, title, detail, true);
    }

    static void refuse(Channel channel, HttpResponseStatus status, String slug, String title, String detail, boolean linger) {
        byte[] body = new JsonObject().put("type", "/problems/" + slug).put("title", title).put("status", status.code()).put("detail", detail)
                .encode().getBytes(StandardCharsets.UTF_8);
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/problem+json")
                .set(HttpHeaderNames.CONTENT_LENGTH, body.length)
                .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        writeFromHandler(channel, response, linger);
    }

    /** Written from just after the HTTP codec, so it passes the encoder on its way out. */
    private static void writeFromHandler(Channel channel, HttpResponse response, boolean linger) {
        ChannelHandlerContext at = channel.pipeline().context(MESSAGES);
        if (at == null) {
            channel.close();
            return;
        }
        at.writeAndFlush(response).addListener(linger ? f -> LingeringClose.close(channel) : ChannelFutureListener.CLOSE);
    }
}
