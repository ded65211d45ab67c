package ai.atelier.jobs.engine;

import java.util.ArrayList;
import java.util.List;

import ai.atelier.jobs.Job;
import ai.atelier.models.FalCall;
import ai.atelier.models.ModelStrategy;
import ai.atelier.prompts.Prompts;

/**
 * The cache key a job's one fal call will have, known when the job is accepted: only where the run will send what the
 * request already determines (a generate job, no categorise, a template prompt, a plan of one call). Its input images
 * stand in as placeholder URLs, which the key replaces by their content hashes as it does the real ones at run time.
 */
public final class CachePlans {

    private CachePlans() {
    }

    /** Whether the job's plan chains several fal calls (a later call's input is an earlier call's output at fal): never cached. */
    public static boolean chained(Job job, ModelStrategy model) {
        int images = Math.min(job.inputs.items().size(), model.maxImages());
        return !Job.KIND_SHOOT.equals(job.kind) && model.output() != ModelStrategy.Output.TEXT
                && model.plan(job.prompt == null ? "" : job.prompt, job.params, images).size() > 1;
    }

    /** The key, or null when the run alone will know it (an LLM or categories shape the prompt, a shoot, several calls). */
    public static String keyAtAccept(Job job, ModelStrategy model) {
        if (!Job.KIND_GENERATE.equals(job.kind) || Boolean.TRUE.equals(job.options.get("categorise")) || "llm".equals(job.options.get("prompt_mode"))
                || model.output() == ModelStrategy.Output.TEXT) {
            return null;
        }
        // the prompt the prompt stage will settle on (see PromptStage): the client's own, or the template's
        String prompt = job.prompt;
        boolean reference = job.inputs.items().stream().anyMatch(f -> "reference".equals(f.role()));
        if (model.acceptsPrompt() && !reference) {
            prompt = Prompts.template(Options.style(job.options.get("style")), job.categories, job.prompt);
        }
        int images = Math.min(job.inputs.items().size(), model.maxImages());
        List<FalCall> plan = model.plan(prompt, job.params, images);
        if (plan.size() != 1) {
            return null;
        }
        List<String> urls = new ArrayList<>();
        for (int i = 0; i < images; i++) {
            urls.add("https://input.atelier.invalid/" + i);
        }
        return CachedCalls.key(job, plan.get(0).endpointId(), plan.get(0).payload().apply(urls), urls);
    }
}
