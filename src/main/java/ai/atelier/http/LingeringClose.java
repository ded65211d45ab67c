package ai.atelier.http;

import java.util.concurrent.TimeUnit;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.impl.ConnectionBase;

/**
 * Closes a connection whose client may still be sending (the rest of a refused body) without losing
 * the answer: closing a socket with unread bytes makes the kernel send a reset, and a client that is
 * still writing then never reads the answer it was sent. As nginx's lingering close does, the answer
 * is followed by a half-close, what still arrives is read and dropped (never parsed as a request), and
 * the connection is closed when the client stops or after {@value #LINGER_SECONDS} s.
 */
public final class LingeringClose {

    static final int LINGER_SECONDS = 2;
    private static final String DISCARD = "atelier-discard";

    private LingeringClose() {
    }

    public static void close(HttpConnection connection) {
        if (!(connection instanceof ConnectionBase base)) {
            connection.close();
            return;
        }
        close(base.channel());
    }

    static void close(Channel channel) {
        channel.eventLoop().execute(() -> {
            if (!channel.isActive() || channel.pipeline().get(DISCARD) != null) {
                return;
            }
            // in front of the HTTP decoder: nothing more is read as a request
            if (channel.pipeline().get(ConnectionGuard.RAW) != null) {
                channel.pipeline().addAfter(ConnectionGuard.RAW, DISCARD, new Discard());
            } else {
                channel.pipeline().addFirst(DISCARD, new Discard());
            }
            if (channel instanceof SocketChannel socket) {
                socket.shutdownOutput();
                socket.config().setAutoRead(true);
            }
            channel.eventLoop().schedule(() -> {
                channel.close();
            }, LINGER_SECONDS, TimeUnit.SECONDS);
        });
    }

    private static final class Discard extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
            if (event instanceof ChannelInputShutdownEvent) {
                ctx.close(); // the client finished sending: nothing to wait for
                return;
            }
            super.userEventTriggered(ctx, event);
        }
    }
}
