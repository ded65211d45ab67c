package ai.atelier.jobs.submit;

import java.util.List;
import java.util.Map;

import ai.atelier.ingest.Ingest;
import ai.atelier.prompts.Style;
import ai.atelier.webhooks.Webhooks;

/**
 * A request to generate, however it arrived (JSON, multipart, a prototype's route, a batch item): what {@link Submissions} takes.
 * {@code cache}: how it uses the result cache (null: the default, use).
 */
public record Submission(String model, String prompt, List<Ingest.Source> images, Map<String, Object> params, String source,
        String priority, Integer deadlineSeconds, String idempotencyKey, Webhooks.Spec webhook, StageOptions stages, List<Style> styles,
        ai.atelier.cache.CacheSpec cache) {

    public Submission(String model, String prompt, List<Ingest.Source> images, Map<String, Object> params, String source,
            String priority, Integer deadlineSeconds, String idempotencyKey, Webhooks.Spec webhook, StageOptions stages, List<Style> styles) {
        this(model, prompt, images, params, source, priority, deadlineSeconds, idempotencyKey, webhook, stages, styles, null);
    }

    public Submission(String model, String prompt, List<Ingest.Source> images, Map<String, Object> params, String source) {
        this(model, prompt, images, params, source, null, null, null, null, null, null);
    }

    public Submission(String model, String prompt, List<Ingest.Source> images, Map<String, Object> params, String source,
            String priority, Integer deadlineSeconds, String idempotencyKey, Webhooks.Spec webhook) {
        this(model, prompt, images, params, source, priority, deadlineSeconds, idempotencyKey, webhook, null, null);
    }

    /**
     * What a request asks of the categorise and prompt stages: whether to categorise the product photo,
     * a template or an LLM prompt, the style to write it for, and the models to use instead of the defaults.
     */
    public record StageOptions(Boolean categorise, String promptMode, Style style, String visionModel, String promptModel) {
        static final StageOptions NONE = new StageOptions(null, null, null, null, null);
    }
}
