package ai.atelier.jobs.engine;

import java.util.Map;

import ai.atelier.jobs.Job;
import ai.atelier.prompts.Style;

/** Reading what a request asked of the stages (the job's {@code options}) and what earlier runs recorded. */
final class Options {

    private Options() {
    }

    /** A string option of the request, or the configured default. */
    static String string(Job job, String key, String fallback) {
        return job.options.get(key) instanceof String s && !s.isBlank() ? s : fallback;
    }

    static Style style(Object o) {
        if (o instanceof Map<?, ?> m && m.get("description") instanceof String d) {
            return new Style(m.get("name") instanceof String n ? n : "Custom", d);
        }
        return null;
    }

    /** The id recorded under {@code key} in a record (a stage's, a style's), if any. */
    static String recorded(Map<String, Object> record, String key) {
        Object v = record == null ? null : record.get(key);
        return v instanceof String s && !s.isBlank() ? s : null;
    }
}
