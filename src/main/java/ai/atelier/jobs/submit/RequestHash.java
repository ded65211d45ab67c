package ai.atelier.jobs.submit;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import ai.atelier.ingest.Ingest;
import ai.atelier.webhooks.Webhooks;

/** A fingerprint of what a request asks for (files by their bytes), to tell an idempotent retry from a different request. */
final class RequestHash {

    private RequestHash() {
    }

    static String of(String model, String prompt, Map<String, Object> params, short priority, Integer deadline, List<Ingest.Source> images,
            Webhooks.Spec webhook) {
        MessageDigest sha = sha256();
        update(sha, "model", model);
        update(sha, "prompt", prompt);
        update(sha, "params", String.valueOf(new TreeMap<>(params)));
        update(sha, "priority", String.valueOf(priority));
        update(sha, "deadline", String.valueOf(deadline));
        update(sha, "webhook", String.valueOf(webhook));
        for (Ingest.Source image : images) {
            if (image.bytes() != null) {
                update(sha, "file", HexFormat.of().formatHex(sha256().digest(image.bytes())));
            } else {
                update(sha, "url", image.url());
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static void update(MessageDigest sha, String field, String value) {
        sha.update((field + "=" + (value == null ? "\u0000" : value) + "\n").getBytes(StandardCharsets.UTF_8));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
