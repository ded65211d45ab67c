package ai.atelier.support;

import java.util.Base64;

import ai.atelier.simulator.Png;

/** Real image files for uploads. */
public final class Images {

    private Images() {
    }

    public static byte[] png(int width, int height) {
        return Png.render(width, height, width * 31L + height);
    }

    public static String dataUrl(byte[] bytes) {
        return "data:image/png;base64," + Base64.getEncoder().encodeToString(bytes);
    }
}
