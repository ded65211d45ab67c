package ai.atelier.http;

import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import ai.atelier.ingest.Ingest;
import ai.atelier.problem.Problem;

/**
 * What a multipart form carries for a submission: its files as image sources with the role their part's name
 * says (seed 004), and its JSON-valued text fields (params, a style, styles) read with the API's own JSON
 * rules. Every route that takes a form (jobs, product shoots, analysis, the prototypes') reads it here.
 */
@jakarta.inject.Singleton
public class FormInputs {
    private final ObjectMapper mapper;

    public FormInputs(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /** Every file of the form, in order, each with the role its field's name says. */
    public List<Ingest.Source> images(UploadedForm form) {
        return form.files().stream().filter(f -> f.bytes().length > 0 || f.fileName() != null)
                .map(f -> Ingest.Source.upload(f.bytes(), role(f.field()))).toList();
    }

    /** The one file a route takes, from its field; a 422 naming the field when it is missing. */
    public Ingest.Source image(UploadedForm form, String field, String role, String what) {
        UploadedForm.File f = form.file(field);
        if (f == null || f.bytes().length == 0) {
            throw Problem.invalid("missing-image", "Missing image", "Send " + what + " as the multipart part '" + field + "'").with("field", field);
        }
        return Ingest.Source.upload(f.bytes(), role);
    }

    /** A part's name says the photo's role (seed 004): face_image, product_image(s), background_image, reference_image. */
    static String role(String part) {
        String p = part == null ? "" : part.toLowerCase(java.util.Locale.ROOT);
        if (p.startsWith("face")) {
            return "face";
        }
        if (p.startsWith("product")) {
            return "product";
        }
        if (p.startsWith("background")) {
            return "background";
        }
        if (p.startsWith("reference")) {
            return "reference";
        }
        return "input";
    }

    /** A style given as a JSON form field: {"name", "description"}. */
    public ai.atelier.prompts.Style style(String json) {
        if (json == null || json.isBlank()) {
            return null;
        }
        try {
            return mapper.readValue(json, ai.atelier.prompts.Style.class);
        } catch (Exception e) {
            throw Problem.badRequest("malformed-json", "Malformed JSON", "The style field must be a JSON object {\"name\", \"description\"}")
                    .with("field", "style");
        }
    }

    /** Styles given as a JSON form field: [{"name", "description"}, …]. */
    public List<ai.atelier.prompts.Style> styles(String json) {
        if (json == null || json.isBlank()) {
            return List.of();
        }
        try {
            return List.of(mapper.readValue(json, ai.atelier.prompts.Style[].class));
        } catch (Exception e) {
            throw Problem.badRequest("malformed-json", "Malformed JSON", "The styles field must be a JSON array of {\"name\", \"description\"}")
                    .with("field", "styles");
        }
    }

    /** What was wrong inside a JSON-valued field, in the words the body's own errors use. */
    private static String jsonReason(Exception e) {
        if (e instanceof ai.atelier.http.JsonRules.RefusedText r) {
            return "; a string in it " + r.refusal();
        }
        String m = String.valueOf(e.getMessage());
        return m.startsWith("Duplicate field") ? "; a key in it appears more than once" : "";
    }

    public Map<String, Object> params(String json) {
        if (json == null || json.isBlank()) {
            return Map.of();
        }
        try {
            return mapper.readValue(json, new TypeReference<Map<String, Object>>() {
            });
        } catch (Exception e) {
            throw Problem.badRequest("malformed-json", "Malformed JSON", "The params field must be a JSON object" + jsonReason(e))
                    .with("field", "params");
        }
    }
}
