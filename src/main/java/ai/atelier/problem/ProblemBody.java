package ai.atelier.problem;

import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonAnyGetter;
import com.fasterxml.jackson.annotation.JsonInclude;

/** The RFC 9457 body: type, title, status, detail, instance, plus extension members. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ProblemBody(String type, String title, int status, String detail, String instance,
        @JsonAnyGetter Map<String, Object> extensions) {

    public static final String MEDIA_TYPE = "application/problem+json";

    public static ProblemBody of(int status, String slug, String title, String detail, String instance, Map<String, Object> extensions) {
        return new ProblemBody("/problems/" + slug, title, status, detail, instance, new LinkedHashMap<>(extensions));
    }
}
