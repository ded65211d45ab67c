package ai.atelier.models;

import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import jakarta.enterprise.inject.Instance;
import jakarta.inject.Singleton;

import ai.atelier.problem.Problem;

/** Every model strategy bean, by public id (and by fal endpoint id, for clients that know fal's names). */
@Singleton
public class ModelCatalog {

    private final Map<String, ModelStrategy> byId = new LinkedHashMap<>();
    private final Map<String, ModelStrategy> byEndpoint = new LinkedHashMap<>();

    public ModelCatalog(Instance<ModelStrategy> strategies) {
        strategies.stream().sorted(Comparator.comparing(ModelStrategy::id)).forEach(s -> {
            byId.put(s.id(), s);
            if (s.endpoints().size() == 1) {
                byEndpoint.put(s.endpoints().get(0), s);
            }
        });
    }

    public List<ModelStrategy> all() {
        return List.copyOf(byId.values());
    }

    public Optional<ModelStrategy> find(String id) {
        return Optional.ofNullable(byId.getOrDefault(id, byEndpoint.get(id)));
    }

    public ModelStrategy require(String id) {
        if (id == null || id.isBlank()) {
            throw Problem.invalid("missing-model", "Missing model", "Name a model: one of " + byId.keySet());
        }
        return find(id).orElseThrow(() -> Problem.invalid("unknown-model", "Unknown model",
                "There is no model '" + id + "'. Models: " + byId.keySet()));
    }

    /**
     * Checks a request's parameters against a model: every name must be tunable, a locked field may
     * only be repeated with its locked value, and every value must be in range.
     *
     * @return the values fal will receive, converted to fal's types
     */
    public static Map<String, Object> check(ModelStrategy model, Map<String, Object> params) {
        Map<String, Object> tuned = new LinkedHashMap<>();
        if (params == null) {
            return tuned;
        }
        Map<String, ParamSpec> tunable = new LinkedHashMap<>();
        model.tunable().forEach(p -> tunable.put(p.name(), p));
        for (Map.Entry<String, Object> e : params.entrySet()) {
            String name = e.getKey();
            ParamSpec spec = tunable.get(name);
            if (spec != null) {
                if (e.getValue() == null) {
                    continue;
                }
                try {
                    tuned.put(name, spec.coerce(e.getValue()));
                } catch (IllegalArgumentException bad) {
                    throw Problem.invalid("invalid-parameter", "Invalid parameter",
                            "Parameter '" + name + "' of model " + model.id() + " " + bad.getMessage()).with("parameter", name);
                }
                continue;
            }
            Optional<Object> locked = lockedValue(model, name);
            if (locked.isPresent()) {
                if (!sameValue(locked.get(), e.getValue())) {
                    throw Problem.invalid("locked-parameter", "Locked parameter",
                            "Parameter '" + name + "' is locked to " + locked.get() + " for model " + model.id()
                                    + " and cannot be changed").with("parameter", name);
                }
                continue;
            }
            throw Problem.invalid("unknown-parameter", "Unknown parameter",
                    "Model " + model.id() + " has no parameter '" + name + "'. Tunable: " + tunable.keySet()).with("parameter", name);
        }
        return tuned;
    }

    private static Optional<Object> lockedValue(ModelStrategy model, String name) {
        Map<String, Object> locked = model.locked();
        if (locked.containsKey(name)) {
            return Optional.of(locked.get(name));
        }
        return locked.entrySet().stream().filter(e -> e.getKey().endsWith("." + name)).map(Map.Entry::getValue).findFirst();
    }

    private static boolean sameValue(Object locked, Object sent) {
        if (locked instanceof Number a && sent instanceof Number b) {
            return a.doubleValue() == b.doubleValue();
        }
        return locked.equals(sent);
    }
}
