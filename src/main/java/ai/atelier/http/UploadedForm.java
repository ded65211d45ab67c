package ai.atelier.http;

import java.util.List;

import io.vertx.core.MultiMap;
import io.vertx.ext.web.RoutingContext;

/**
 * A multipart request as {@link MultipartReader} read it, in memory: its text fields and its files.
 * Resources take it from the routing context instead of Quarkus REST's form parameters, which spool
 * files to disk and leave them there when a client drops mid-upload.
 */
public record UploadedForm(MultiMap fields, List<File> files) {

    static final String KEY = "atelier.uploaded-form";

    /** One file part: the form field it came in, the client's file name and type (not trusted), its bytes. */
    public record File(String field, String fileName, String contentType, byte[] bytes) {
    }

    /** The current request's form; empty when the request was not multipart. */
    public static UploadedForm of(RoutingContext rc) {
        UploadedForm form = rc == null ? null : rc.get(KEY);
        return form == null ? new UploadedForm(MultiMap.caseInsensitiveMultiMap(), List.of()) : form;
    }

    /** A 422 naming the first part (text or file) whose name is not one of {@code known}: a form's fields are never silently ignored. */
    public void only(java.util.Set<String> known) {
        java.util.stream.Stream.concat(fields.names().stream(), files.stream().map(File::field))
                .filter(name -> !known.contains(name)).sorted().findFirst().ifPresent(name -> {
                    throw new ai.atelier.problem.Problem(422, "unknown-field", "Unknown field", "Unknown field '" + name + "'; known fields: "
                            + known.stream().sorted().collect(java.util.stream.Collectors.joining(", "))).with("field", name);
                });
    }

    /** A text field's value, or null when it is absent or blank. */
    public String text(String name) {
        String v = fields.get(name);
        return v == null || v.isBlank() ? null : v;
    }

    /** A text field as a whole number, or null when absent; a 422 naming it when it is not one. */
    public Long number(String name) {
        String v = text(name);
        if (v == null) {
            return null;
        }
        try {
            return Long.parseLong(v.strip());
        } catch (NumberFormatException e) {
            throw ai.atelier.problem.Problem.invalid("invalid-field", "Invalid field", "The field '" + name + "' must be a whole number")
                    .with("field", name);
        }
    }

    /** A text field as a decimal number, or null when absent; a 422 naming it when it is not one. */
    public Double decimal(String name) {
        String v = text(name);
        if (v == null) {
            return null;
        }
        try {
            double d = Double.parseDouble(v.strip());
            if (!Double.isFinite(d)) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw ai.atelier.problem.Problem.invalid("invalid-field", "Invalid field", "The field '" + name + "' must be a number")
                    .with("field", name);
        }
    }

    /** A text field as true/false, or null when absent; a 422 naming it otherwise. */
    public Boolean bool(String name) {
        String v = text(name);
        if (v == null) {
            return null;
        }
        return switch (v.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "true", "1", "yes", "on" -> true;
            case "false", "0", "no", "off" -> false;
            default -> throw ai.atelier.problem.Problem.invalid("invalid-field", "Invalid field", "The field '" + name + "' must be true or false")
                    .with("field", name);
        };
    }

    /** The first file sent in the field, or null. */
    public File file(String field) {
        return files.stream().filter(f -> f.field().equals(field)).findFirst().orElse(null);
    }
}
