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

    /**
     * A real PNG of random pixels: it does not compress, so its size is about 3 bytes a pixel (a 600×600 one
     * is about 1 MB), for uploads that must be big and still be accepted.
     */
    public static byte[] noise(int width, int height) {
        java.awt.image.BufferedImage image = new java.awt.image.BufferedImage(width, height, java.awt.image.BufferedImage.TYPE_INT_RGB);
        java.util.SplittableRandom random = new java.util.SplittableRandom(width * 31L + height);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                image.setRGB(x, y, random.nextInt(1 << 24));
            }
        }
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        try {
            javax.imageio.ImageIO.write(image, "png", out);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    public static String dataUrl(byte[] bytes) {
        return "data:image/png;base64," + Base64.getEncoder().encodeToString(bytes);
    }
}
