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
        Map<String, Object> members = new LinkedHashMap<>(extensions);
        // an extension never shadows RFC 9457's own members (a job's "status" is "job_status")
        members.keySet().removeAll(java.util.Set.of("type", "title", "status", "detail", "instance"));
        return new ProblemBody("/problems/" + slug, title, status, detail, instance, members);
    }
}
