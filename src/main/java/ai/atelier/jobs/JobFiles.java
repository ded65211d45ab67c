package ai.atelier.jobs;

import java.util.List;

import io.quarkus.runtime.annotations.RegisterForReflection;

/**
 * A job's list of files as one JSON object ({@code {"items": [...]}}): Hibernate Reactive maps JSON
 * columns through Vert.x {@code JsonObject}, which cannot hold a top-level array.
 */
// Jackson converts the row's inputs and outputs columns to it (Columns), outside any REST signature
@RegisterForReflection
public record JobFiles(List<JobFile> items) {

    public JobFiles {
        items = items == null ? List.of() : List.copyOf(items);
    }

    public static JobFiles of(List<JobFile> items) {
        return new JobFiles(items);
    }
}
