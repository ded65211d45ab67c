package ai.atelier.jobs.engine;

import java.util.List;
import java.util.Map;

import ai.atelier.fal.FalResult;
import ai.atelier.jobs.JobFile;

/**
 * What a run's stages produced for the stages after them and for the job's end, passed along the pipeline
 * (each stage returns it, with its own part added), never left on the run for another class to find: the
 * infer stage's last fal result (the store stage copies its files), the files stored, an LLM's answer.
 * A resumed run starts from {@link #NOTHING}: a finished stage's result is in the row, or fetched again.
 */
record Produced(FalResult inferResult, List<JobFile> outputs, Map<String, Object> textResult) {

    static final Produced NOTHING = new Produced(null, null, null);

    Produced withInferResult(FalResult result) {
        return new Produced(result, outputs, textResult);
    }

    Produced withOutputs(List<JobFile> files) {
        return new Produced(inferResult, files, textResult);
    }

    Produced withTextResult(Map<String, Object> text) {
        return new Produced(inferResult, outputs, text);
    }
}
