package ai.atelier.jobs;

import java.util.List;

/**
 * A job's list of files as one JSON object ({@code {"items": [...]}}): Hibernate Reactive maps JSON
 * columns through Vert.x {@code JsonObject}, which cannot hold a top-level array.
 */
public record JobFiles(List<JobFile> items) {

    public JobFiles {
        items = items == null ? List.of() : List.copyOf(items);
    }

    public static JobFiles of(List<JobFile> items) {
        return new JobFiles(items);
    }
}
