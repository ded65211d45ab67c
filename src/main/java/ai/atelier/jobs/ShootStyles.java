package ai.atelier.jobs;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A product shoot's styles as the job row keeps them ({@code shoot.styles}): each a map with name, description, status, prompt, output, error. */
public final class ShootStyles {

    private ShootStyles() {
    }

    /** Copies of the styles, in order; empty for a job that is not a shoot. */
    @SuppressWarnings("unchecked")
    public static List<Map<String, Object>> of(Job job) {
        Object list = job.shoot == null ? null : job.shoot.get("styles");
        List<Map<String, Object>> out = new ArrayList<>();
        if (list instanceof List<?> l) {
            l.forEach(o -> out.add(new LinkedHashMap<>((Map<String, Object>) o)));
        }
        return out;
    }

    /** How many styles a shoot's state has. */
    public static int count(Map<String, Object> shoot) {
        return shoot.get("styles") instanceof List<?> l ? l.size() : 0;
    }

    /** Whether a style needs nothing more: generated and stored. */
    public static boolean finished(Map<String, Object> style) {
        return StyleStatus.of(style.get("status")).finished();
    }
}
