package ai.atelier.simulator;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * fal's input schema for one endpoint, as published in its OpenAPI (May 2026 snapshot, see
 * fal-api.md section 10), and a validator that answers like fal's pydantic layer: a 422 {@code detail}
 * list. Unlike fal it also rejects unknown fields, so a payload fal would silently misread
 * ({@code image_strength}) fails here.
 */
public final class SimSchema {

    /**
     * Field types. {@code URL_OR_EMPTY} is bria's {@code ref_image_url}, whose default is "" (meaning absent);
     * {@code ASPECT_RATIO} is product photography's {@code {"ratio": ...}} object.
     */
    enum Kind { STRING, INT, NUMBER, BOOL, ENUM, IMAGE_SIZE, URL, URL_OR_EMPTY, URL_LIST, LORAS, ASPECT_RATIO }

    record Field(String name, Kind kind, boolean required, boolean nullable, Double min, Double max, Set<String> values,
            int maxItems, int sizeMin, int sizeMax) {
    }

    /** How the endpoint reports outputs: a list {@code images}, a single {@code image}, an LLM's text, or a {@code video} file. */
    enum Output { IMAGES, IMAGE, TEXT, VIDEO }

    /**
     * What a video endpoint makes, read from a request as fal reads it (fal-video.md §1): which field holds the duration
     * and its default, the resolution (a field, or the one the endpoint always makes), the aspect ratio (a field, else
     * the input image's shape, else 16:9), whether audio comes (a boolean field with fal's default, or the presence of
     * {@code audio_url}), and whether the file object carries fal's {@code VideoFile} extras (width, height, fps,
     * duration, num_frames).
     */
    record Video(String durationField, String defaultDuration, String resolutionField, String defaultResolution, String aspectField,
            String defaultAspect, String audioField, boolean audioDefault, boolean videoFile) {

        /** The clip's length in seconds: the request's duration, else fal's default. */
        double seconds(JsonObject body) {
            Object asked = body.getValue(durationField);
            return SimSchema.seconds(asked != null ? asked : defaultDuration);
        }

        String resolution(JsonObject body) {
            return resolutionField != null && body.getValue(resolutionField) instanceof String r ? r : defaultResolution;
        }

        /** The asked aspect ratio; null (or "auto") when the clip follows its photo. */
        String aspect(JsonObject body) {
            String asked = aspectField != null && body.getValue(aspectField) instanceof String a ? a : defaultAspect;
            return "auto".equals(asked) ? null : asked;
        }

        /** Whether the clip has sound: a boolean field (with fal's default), or a background track's URL. */
        boolean audio(JsonObject body) {
            if (audioField == null) {
                return false;
            }
            return audioField.endsWith("_url") ? body.getValue(audioField) != null : body.getBoolean(audioField, audioDefault);
        }
    }

    final String endpointId;
    final Output output;
    /** Where the output size comes from when no image_size is given: a preset, or "input" (follow the last image). */
    final String defaultSize;
    final Map<String, Field> fields = new LinkedHashMap<>();
    /** Rules across fields (pydantic model validators): each answers an error or nothing. */
    private final List<Function<JsonObject, Optional<JsonObject>>> rules = new ArrayList<>();
    /** The top-level keys of the output when fal returns fewer than the FLUX shape (§9); null: all of them. */
    Set<String> outputKeys;
    /** A video endpoint's reading of its request; null for the others. */
    Video video;

    /**
     * A video endpoint's list price, kept with its schema so one entry adds an endpoint: the unit price and unit as
     * fal's pricing API answers them, the units one call at fal's defaults bills (the typical call), and what one
     * second of output bills at each resolution, with and without audio.
     */
    record VideoPrice(String unitPrice, String unit, String typicalUnits, SimPricing.Rate rate) {
    }

    VideoPrice videoPrice;
    /**
     * The log lines a running request writes ({@code ?logs=1}): the first as it starts, the others spread over the run.
     * Pictures load weights and count denoising steps; fal's partner video models (Kling, Veo, MiniMax) write none
     * (fal-video.md §3), so a client cannot count on them.
     */
    List<String> logLines = PICTURE_LOGS;

    static final List<String> PICTURE_LOGS = List.of("Loading model weights", "Denoising step 1/4", "Denoising step 2/4",
            "Denoising step 3/4", "Denoising step 4/4");

    private SimSchema(String endpointId, Output output, String defaultSize) {
        this.endpointId = endpointId;
        this.output = output;
        this.defaultSize = defaultSize;
    }

    static SimSchema endpoint(String id, Output output, String defaultSize) {
        return new SimSchema(id, output, defaultSize);
    }

    SimSchema required(String name, Kind kind) {
        fields.put(name, new Field(name, kind, true, false, null, null, Set.of(), 0, 1, 14142));
        return this;
    }

    SimSchema optional(String name, Kind kind) {
        fields.put(name, new Field(name, kind, false, true, null, null, Set.of(), 0, 1, 14142));
        return this;
    }

    SimSchema range(String name, Kind kind, double min, double max) {
        fields.put(name, new Field(name, kind, false, kind == Kind.INT && name.equals("seed"), min, max, Set.of(), 0, 1, 14142));
        return this;
    }

    /** An optional string that, when given, must have at least {@code minLength} characters. */
    SimSchema text(String name, int minLength) {
        fields.put(name, new Field(name, Kind.STRING, false, true, (double) minLength, null, Set.of(), 0, 1, 14142));
        return this;
    }

    /** A required prompt of {@code minLength} to {@code maxLength} characters (0: no maximum). */
    SimSchema prompt(int minLength, int maxLength) {
        fields.put("prompt", new Field("prompt", Kind.STRING, true, false, minLength > 0 ? (double) minLength : null,
                maxLength > 0 ? (double) maxLength : null, Set.of(), 0, 1, 14142));
        return this;
    }

    /** An optional, nullable string of at most {@code maxLength} characters. */
    SimSchema string(String name, int maxLength) {
        fields.put(name, new Field(name, Kind.STRING, false, true, null, (double) maxLength, Set.of(), 0, 1, 14142));
        return this;
    }

    /** A video endpoint: how it reads duration, resolution, aspect ratio and audio; fal's partner models write no logs. */
    SimSchema video(Video video) {
        this.video = video;
        return this;
    }

    SimSchema priced(String unitPrice, String unit, String typicalUnits, SimPricing.Rate rate) {
        this.videoPrice = new VideoPrice(unitPrice, unit, typicalUnits, rate);
        return this;
    }

    SimSchema logs(String... lines) {
        this.logLines = List.of(lines);
        return this;
    }

    SimSchema aspectRatio() {
        fields.put("aspect_ratio", new Field("aspect_ratio", Kind.ASPECT_RATIO, false, true, null, null, RATIOS.keySet(), 0, 1, 14142));
        return this;
    }

    SimSchema rule(Function<JsonObject, Optional<JsonObject>> rule) {
        rules.add(rule);
        return this;
    }

    SimSchema returns(String... keys) {
        outputKeys = Set.of(keys);
        return this;
    }

    /**
     * fal's answer from this endpoint around finished pictures, in its shape: the first under {@code image} or all
     * under {@code images}, then {@code extra} (seed, timings, …), only the keys the endpoint returns.
     */
    JsonObject answer(JsonArray images, JsonObject extra) {
        JsonObject out = new JsonObject();
        if (output == Output.IMAGE) {
            out.put("image", images.getJsonObject(0));
        } else {
            out.put("images", images);
        }
        out.mergeIn(extra);
        if (outputKeys != null) {
            out.fieldNames().removeIf(key -> !outputKeys.contains(key));
        }
        return out;
    }

    /** A string literal among {@code values}, kept in fal's order for pydantic's message ("'5' or '10'"). */
    SimSchema oneOf(String name, String... values) {
        fields.put(name, new Field(name, Kind.ENUM, false, false, null, null, new java.util.LinkedHashSet<>(List.of(values)), 0, 1, 14142));
        return this;
    }

    SimSchema loras(int maxItems) {
        fields.put("loras", new Field("loras", Kind.LORAS, false, false, 0.0, 4.0, Set.of(), maxItems, 1, 14142));
        return this;
    }

    SimSchema imageSize(int min, int max) {
        fields.put("image_size", new Field("image_size", Kind.IMAGE_SIZE, false, true, null, null, Set.of(), 0, min, max));
        return this;
    }

    SimSchema urls(String name, int maxItems) {
        fields.put(name, new Field(name, Kind.URL_LIST, true, false, null, null, Set.of(), maxItems, 1, 14142));
        return this;
    }

    /** The common tail of FLUX/Qwen schemas: seed, sync_mode, enable_safety_checker. */
    SimSchema common() {
        range("seed", Kind.INT, 0, Double.MAX_VALUE);
        optional("sync_mode", Kind.BOOL);
        optional("enable_safety_checker", Kind.BOOL);
        return this;
    }

    static final Map<String, int[]> PRESETS = Map.of(
            "square_hd", new int[] { 1024, 1024 }, "square", new int[] { 512, 512 },
            "portrait_4_3", new int[] { 768, 1024 }, "portrait_16_9", new int[] { 576, 1024 },
            "landscape_4_3", new int[] { 1024, 768 }, "landscape_16_9", new int[] { 1024, 576 });

    /** Product photography's ratios, in fal's order, with the size the simulator paints (long side 1024, not fal's 4K). */
    static final Map<String, int[]> RATIOS = ratios();

    private static Map<String, int[]> ratios() {
        Map<String, int[]> r = new LinkedHashMap<>();
        r.put("1:1", new int[] { 1024, 1024 });
        r.put("16:9", new int[] { 1024, 576 });
        r.put("9:16", new int[] { 576, 1024 });
        r.put("4:3", new int[] { 1024, 768 });
        r.put("3:4", new int[] { 768, 1024 });
        return Collections.unmodifiableMap(r);
    }

    /** Validates a request body; an empty list means fal would accept it. */
    List<JsonObject> validate(JsonObject body) {
        List<JsonObject> errors = new ArrayList<>();
        for (Field f : fields.values()) {
            if (f.required && (!body.containsKey(f.name) || body.getValue(f.name) == null)) {
                errors.add(error(f.name, "Field required", "missing", null));
            }
        }
        for (String name : body.fieldNames()) {
            Field f = fields.get(name);
            Object v = body.getValue(name);
            if (f == null) {
                errors.add(error(name, "Extra inputs are not permitted", "extra_forbidden", v));
                continue;
            }
            if (v == null) {
                if (!f.nullable && f.required) {
                    errors.add(error(name, "Input should not be None", "none_forbidden", null));
                }
                continue;
            }
            check(f, v, errors);
        }
        if (errors.isEmpty()) { // like pydantic's "after" validators: only a body whose fields are valid gets here
            rules.forEach(rule -> rule.apply(body).ifPresent(errors::add));
        }
        return errors;
    }

    private void check(Field f, Object v, List<JsonObject> errors) {
        switch (f.kind) {
            case STRING -> {
                if (!(v instanceof String s)) {
                    errors.add(error(f.name, "Input should be a valid string", "string_type", v));
                } else if (f.min != null && s.length() < f.min) {
                    int n = f.min.intValue();
                    errors.add(error(f.name, "String should have at least " + n + (n == 1 ? " character" : " characters"),
                            "string_too_short", v).put("ctx", new JsonObject().put("min_length", n)));
                } else if (f.max != null && s.length() > f.max) {
                    int n = f.max.intValue();
                    errors.add(error(f.name, "String should have at most " + n + (n == 1 ? " character" : " characters"),
                            "string_too_long", v).put("ctx", new JsonObject().put("max_length", n)));
                }
            }
            case URL, URL_OR_EMPTY -> {
                boolean empty = f.kind == Kind.URL_OR_EMPTY && "".equals(v);
                if (!empty && (!(v instanceof String s) || !(s.startsWith("http://") || s.startsWith("https://") || s.startsWith("data:")))) {
                    errors.add(error(f.name, "Input should be a valid URL", "url_parsing", v));
                }
            }
            case ASPECT_RATIO -> checkAspectRatio(f, v, errors);
            case BOOL -> {
                if (!(v instanceof Boolean)) {
                    errors.add(error(f.name, "Input should be a valid boolean", "bool_parsing", v));
                }
            }
            case INT -> {
                if (!(v instanceof Integer || v instanceof Long || v instanceof java.math.BigInteger)) {
                    errors.add(error(f.name, "Input should be a valid integer", "int_type", v));
                } else {
                    bounds(f, ((Number) v).doubleValue(), v, errors);
                }
            }
            case NUMBER -> {
                if (!(v instanceof Number n)) {
                    errors.add(error(f.name, "Input should be a valid number", "float_type", v));
                } else {
                    bounds(f, n.doubleValue(), v, errors);
                }
            }
            case ENUM -> {
                // a Literal of strings: the number 5 is refused like "7" ("5" is not 5), as pydantic does in strict literals
                if (!(v instanceof String s) || !f.values.contains(s)) {
                    String expected = expected(f.values);
                    errors.add(error(f.name, "Input should be " + expected, "literal_error", v).put("ctx", new JsonObject().put("expected", expected)));
                }
            }
            case IMAGE_SIZE -> {
                if (v instanceof String s) {
                    if (!PRESETS.containsKey(s)) {
                        errors.add(error(f.name, "Input should be a valid image size preset", "enum", v));
                    }
                } else if (v instanceof JsonObject o) {
                    for (String side : List.of("width", "height")) {
                        Object d = o.getValue(side);
                        if (!(d instanceof Integer i) || i < f.sizeMin || i > f.sizeMax) {
                            errors.add(error(List.of(f.name, side), "Input should be an integer from " + f.sizeMin + " to " + f.sizeMax,
                                    "value_error", d));
                        }
                    }
                    for (String key : o.fieldNames()) {
                        if (!key.equals("width") && !key.equals("height")) {
                            errors.add(error(List.of(f.name, key), "Extra inputs are not permitted", "extra_forbidden", o.getValue(key)));
                        }
                    }
                } else {
                    errors.add(error(f.name, "Input should be a preset name or {width, height}", "model_type", v));
                }
            }
            case URL_LIST -> {
                if (!(v instanceof JsonArray a) || a.isEmpty()) {
                    errors.add(error(f.name, "List should have at least 1 item", "too_short", v));
                } else {
                    for (int i = 0; i < a.size(); i++) {
                        if (!(a.getValue(i) instanceof String s) || !(s.startsWith("http") || s.startsWith("data:"))) {
                            errors.add(error(List.of(f.name, i), "Input should be a valid URL", "url_parsing", a.getValue(i)));
                        }
                    }
                }
            }
            case LORAS -> {
                if (!(v instanceof JsonArray a)) {
                    errors.add(error(f.name, "Input should be a valid list", "list_type", v));
                } else {
                    if (f.maxItems > 0 && a.size() > f.maxItems) {
                        errors.add(error(f.name, "List should have at most " + f.maxItems + " items", "too_long", v));
                    }
                    for (int i = 0; i < a.size(); i++) {
                        if (!(a.getValue(i) instanceof JsonObject l) || !(l.getValue("path") instanceof String)) {
                            errors.add(error(List.of(f.name, i, "path"), "Field required", "missing", null));
                            continue;
                        }
                        Object scale = l.getValue("scale");
                        if (scale != null && (!(scale instanceof Number n) || n.doubleValue() < 0 || n.doubleValue() > 4)) {
                            errors.add(error(List.of(f.name, i, "scale"), "Input should be between 0 and 4", "value_error", scale));
                        }
                        for (String key : l.fieldNames()) {
                            if (!key.equals("path") && !key.equals("scale")) {
                                errors.add(error(List.of(f.name, i, key), "Extra inputs are not permitted", "extra_forbidden", l.getValue(key)));
                            }
                        }
                    }
                }
            }
        }
    }

    /** pydantic's list of literals: "'a'", "'a' or 'b'", "'a', 'b' or 'c'". */
    private static String expected(java.util.Collection<String> values) {
        List<String> quoted = values.stream().map(x -> "'" + x + "'").toList();
        return quoted.size() == 1 ? quoted.get(0) : String.join(", ", quoted.subList(0, quoted.size() - 1)) + " or " + quoted.get(quoted.size() - 1);
    }

    private static void checkAspectRatio(Field f, Object v, List<JsonObject> errors) {
        if (!(v instanceof JsonObject o)) {
            errors.add(error(f.name, "Input should be a valid dictionary or object to extract fields from", "model_attributes_type", v));
            return;
        }
        Object ratio = o.getValue("ratio");
        if (o.containsKey("ratio") && !(ratio instanceof String r && RATIOS.containsKey(r))) {
            List<String> quoted = RATIOS.keySet().stream().map(x -> "'" + x + "'").toList();
            String expected = String.join(", ", quoted.subList(0, quoted.size() - 1)) + " or " + quoted.get(quoted.size() - 1);
            errors.add(error(List.of(f.name, "ratio"), "Input should be " + expected, "literal_error", ratio)
                    .put("ctx", new JsonObject().put("expected", expected)));
        }
        for (String key : o.fieldNames()) {
            if (!key.equals("ratio")) {
                errors.add(error(List.of(f.name, key), "Extra inputs are not permitted", "extra_forbidden", o.getValue(key)));
            }
        }
    }

    /** bria's replace takes a prompt or a reference picture to describe the new background, never both. */
    private static Optional<JsonObject> promptOrReference(JsonObject body) {
        boolean prompt = body.getValue("prompt") != null;
        boolean reference = body.getValue("ref_image_url") instanceof String s && !s.isEmpty();
        if (prompt == reference) {
            return Optional.of(error(List.of(), prompt ? "Provide either prompt or ref_image_url, not both"
                    : "Provide either prompt or ref_image_url", "value_error", null));
        }
        return Optional.empty();
    }

    /** The OpenRouter fields both router endpoints share; prices and answers are the simulator's (SimLlm). */
    private static SimSchema router(String id) {
        return endpoint(id, Output.TEXT, null)
                .required("prompt", Kind.STRING).required("model", Kind.STRING).optional("system_prompt", Kind.STRING)
                .range("temperature", Kind.NUMBER, 0, 2).range("max_tokens", Kind.INT, 1, Double.MAX_VALUE)
                .optional("reasoning", Kind.BOOL);
    }

    private void bounds(Field f, double d, Object v, List<JsonObject> errors) {
        if (f.min != null && d < f.min) {
            errors.add(error(f.name, "Input should be greater than or equal to " + fmt(f.min), "greater_than_equal", v)
                    .put("ctx", new JsonObject().put("ge", f.min)));
        }
        if (f.max != null && d > f.max) {
            errors.add(error(f.name, "Input should be less than or equal to " + fmt(f.max), "less_than_equal", v)
                    .put("ctx", new JsonObject().put("le", f.max)));
        }
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }

    static JsonObject error(Object loc, String msg, String type, Object input) {
        JsonArray l = new JsonArray().add("body");
        if (loc instanceof List<?> parts) {
            parts.forEach(l::add);
        } else {
            l.add(loc);
        }
        JsonObject e = new JsonObject().put("loc", l).put("msg", msg).put("type", type);
        if (input != null) {
            e.put("input", input);
        }
        return e;
    }

    /** The endpoints the simulator knows, with fal's field names, defaults' ranges and output shapes. */
    static Map<String, SimSchema> catalogue() {
        Map<String, SimSchema> all = new LinkedHashMap<>();
        List.of(
                endpoint("fal-ai/flux/schnell", Output.IMAGES, "landscape_4_3")
                        .required("prompt", Kind.STRING).imageSize(1, 14142)
                        .range("num_inference_steps", Kind.INT, 1, 12).range("guidance_scale", Kind.NUMBER, 1, 20)
                        .range("num_images", Kind.INT, 1, 4).oneOf("output_format", "jpeg", "png")
                        .oneOf("acceleration", "none", "regular", "high").common(),
                endpoint("fal-ai/flux-general/image-to-image", Output.IMAGES, "input")
                        .required("prompt", Kind.STRING).required("image_url", Kind.URL)
                        .range("strength", Kind.NUMBER, 0.01, 1).loras(0)
                        .range("num_inference_steps", Kind.INT, 1, 50).range("guidance_scale", Kind.NUMBER, 0, 20)
                        .range("real_cfg_scale", Kind.NUMBER, 0, 5).optional("use_real_cfg", Kind.BOOL)
                        .range("num_images", Kind.INT, 1, 10).imageSize(1, 14142).optional("negative_prompt", Kind.STRING)
                        .oneOf("scheduler", "euler", "dpmpp_2m").range("base_shift", Kind.NUMBER, 0, 10)
                        .range("max_shift", Kind.NUMBER, 0, 10).optional("use_beta_schedule", Kind.BOOL)
                        .optional("use_cfg_zero", Kind.BOOL).oneOf("output_format", "jpeg", "png").common(),
                endpoint("fal-ai/flux-2/lora/edit", Output.IMAGES, "input")
                        .required("prompt", Kind.STRING).urls("image_urls", 0).loras(3)
                        .range("num_inference_steps", Kind.INT, 4, 50).range("guidance_scale", Kind.NUMBER, 0, 20)
                        .range("num_images", Kind.INT, 1, 4).imageSize(512, 2048)
                        .oneOf("acceleration", "none", "regular", "high").optional("enable_prompt_expansion", Kind.BOOL)
                        .oneOf("output_format", "jpeg", "png", "webp").common(),
                endpoint("fal-ai/qwen-image-edit-plus-lora", Output.IMAGES, "input")
                        .required("prompt", Kind.STRING).urls("image_urls", 0).loras(3)
                        .range("num_inference_steps", Kind.INT, 2, 50).range("guidance_scale", Kind.NUMBER, 0, 20)
                        .range("num_images", Kind.INT, 1, 4).optional("negative_prompt", Kind.STRING)
                        .oneOf("acceleration", "none", "regular").imageSize(1, 14142)
                        .oneOf("output_format", "jpeg", "png").common(),
                endpoint("fal-ai/qwen-image-edit-plus-lora-gallery/multiple-angles", Output.IMAGES, "input")
                        .urls("image_urls", 0).range("rotate_right_left", Kind.NUMBER, -90, 90)
                        .range("move_forward", Kind.NUMBER, 0, 10).range("vertical_angle", Kind.NUMBER, -1, 1)
                        .optional("wide_angle_lens", Kind.BOOL).range("lora_scale", Kind.NUMBER, 0, 4)
                        .range("guidance_scale", Kind.NUMBER, 0, 20).range("num_inference_steps", Kind.INT, 2, 50)
                        .oneOf("acceleration", "none", "regular").optional("negative_prompt", Kind.STRING)
                        .range("num_images", Kind.INT, 1, 4).imageSize(1, 14142)
                        .oneOf("output_format", "png", "jpeg", "webp").common(),
                router("openrouter/router"),
                router("openrouter/router/vision").urls("image_urls", 0),
                endpoint("fal-ai/bria/background/replace", Output.IMAGES, "input")
                        .required("image_url", Kind.URL).text("prompt", 1).optional("ref_image_url", Kind.URL_OR_EMPTY)
                        .optional("negative_prompt", Kind.STRING).optional("refine_prompt", Kind.BOOL).optional("fast", Kind.BOOL)
                        .range("num_images", Kind.INT, 1, 4).range("seed", Kind.INT, 0, Integer.MAX_VALUE)
                        .optional("sync_mode", Kind.BOOL).rule(SimSchema::promptOrReference).returns("images", "seed"),
                endpoint("fal-ai/bria/background/remove", Output.IMAGE, "input")
                        .required("image_url", Kind.URL).optional("sync_mode", Kind.BOOL).returns("image"),
                endpoint("fal-ai/image-apps-v2/product-photography", Output.IMAGES, "square_hd")
                        .required("product_image_url", Kind.URL).aspectRatio().returns("images"))
                .forEach(s -> all.put(s.endpointId, s));
        videoEndpoints().forEach(s -> all.put(s.endpointId, s));
        return all;
    }

    /**
     * The video endpoints (fal-video.md §1): durations typed exactly as each takes them ("5", "8s"), the enums, the
     * expensive defaults as fal has them (Veo's audio on, Wan's 1080p, prompt rewriting on), so a payload that leaves
     * one to fal is billed as fal would bill it.
     */
    private static List<SimSchema> videoEndpoints() {
        String kling = "fal-ai/kling-video/v2.5-turbo/pro/";
        String hailuo = "fal-ai/minimax/hailuo-02/standard/";
        // Kling: $0.35 for 5 s and $0.07 each second more, so $0.07 a second; Kling outputs 1080p
        SimPricing.Rate klingRate = SimPricing.Rate.perSecond();
        // Hailuo 02: 768P at $0.045 a second; 512P at about $0.017 (0.38 of a 768P second)
        SimPricing.Rate hailuoRate = SimPricing.Rate.tiers("768P", 1, "512P", "0.38");
        return List.of(
                endpoint(kling + "text-to-video", Output.VIDEO, null).prompt(0, 2500).oneOf("duration", "5", "10")
                        .oneOf("aspect_ratio", "16:9", "9:16", "1:1").string("negative_prompt", 2500).range("cfg_scale", Kind.NUMBER, 0, 1)
                        .video(new Video("duration", "5", null, "1080p", "aspect_ratio", "16:9", null, false, false))
                        .priced("0.07", "seconds", "5", klingRate).logs().returns("video"),
                endpoint(kling + "image-to-video", Output.VIDEO, null).prompt(0, 2500).required("image_url", Kind.URL)
                        .oneOf("duration", "5", "10").string("negative_prompt", 2500).range("cfg_scale", Kind.NUMBER, 0, 1)
                        .optional("tail_image_url", Kind.URL)
                        .video(new Video("duration", "5", null, "1080p", null, null, null, false, false))
                        .priced("0.07", "seconds", "5", klingRate).logs().returns("video"),
                endpoint(hailuo + "text-to-video", Output.VIDEO, null).prompt(1, 2000).oneOf("duration", "6", "10")
                        .optional("prompt_optimizer", Kind.BOOL)
                        .video(new Video("duration", "6", null, "768P", null, "16:9", null, false, false))
                        .priced("0.045", "seconds", "6", hailuoRate).logs().returns("video"),
                endpoint(hailuo + "image-to-video", Output.VIDEO, null).prompt(0, 2000).required("image_url", Kind.URL)
                        .oneOf("duration", "6", "10").oneOf("resolution", "512P", "768P").optional("prompt_optimizer", Kind.BOOL)
                        .optional("end_image_url", Kind.URL)
                        .video(new Video("duration", "6", "resolution", "768P", null, null, null, false, false))
                        .priced("0.045", "seconds", "6", hailuoRate).logs().returns("video"),
                veo("fal-ai/veo3.1/fast").oneOf("aspect_ratio", "16:9", "9:16").optional("auto_fix", Kind.BOOL) // fal: true
                        .video(new Video("duration", "8s", "resolution", "720p", "aspect_ratio", "16:9", "generate_audio", true, false)),
                veo("fal-ai/veo3.1/fast/image-to-video").required("image_url", Kind.URL).oneOf("aspect_ratio", "auto", "16:9", "9:16")
                        .optional("auto_fix", Kind.BOOL) // fal: false
                        .video(new Video("duration", "8s", "resolution", "720p", "aspect_ratio", "auto", "generate_audio", true, false)),
                wan("fal-ai/wan-25-preview/text-to-video").oneOf("aspect_ratio", "16:9", "9:16", "1:1")
                        .video(new Video("duration", "5", "resolution", "1080p", "aspect_ratio", "16:9", "audio_url", false, true)),
                wan("fal-ai/wan-25-preview/image-to-video").required("image_url", Kind.URL)
                        .video(new Video("duration", "5", "resolution", "1080p", null, null, "audio_url", false, true)));
    }

    /**
     * Wan 2.5 preview: fal's default is its dearest tier (1080p) with prompt expansion on; its answer carries the seed,
     * the expanded prompt and a VideoFile (width, height, fps, duration, frames). $0.05 / $0.10 / $0.15 a second at
     * 480p / 720p / 1080p: the unit is the 480p second; a background track (audio_url) changes nothing. The open model
     * fal runs itself writes one log line as it starts.
     */
    private static SimSchema wan(String id) {
        return endpoint(id, Output.VIDEO, null).prompt(1, 0).oneOf("duration", "5", "10").oneOf("resolution", "480p", "720p", "1080p")
                .optional("negative_prompt", Kind.STRING).range("seed", Kind.INT, 0, Double.MAX_VALUE)
                .optional("enable_prompt_expansion", Kind.BOOL).optional("enable_safety_checker", Kind.BOOL).optional("audio_url", Kind.URL)
                .priced("0.05", "seconds", "15", SimPricing.Rate.tiers("480p", 1, "720p", 2, "1080p", 3))
                .logs("Generating video").returns("video", "seed", "actual_prompt");
    }

    /**
     * Veo 3.1 Fast: $0.10 a second silent, $0.15 with audio at 720p and 1080p, $0.30 and $0.35 at 4k: one unit price
     * ($0.05) and 2, 3, 6 and 7 units a second. The typical call is fal's default: 8 s at 720p with audio.
     */
    private static SimSchema veo(String id) {
        return endpoint(id, Output.VIDEO, null).prompt(0, 20_000).oneOf("duration", "4s", "6s", "8s").oneOf("resolution", "720p", "1080p", "4k")
                .optional("generate_audio", Kind.BOOL).range("seed", Kind.INT, 0, Double.MAX_VALUE).optional("negative_prompt", Kind.STRING)
                .oneOf("safety_tolerance", "1", "2", "3", "4", "5", "6")
                .priced("0.05", "units", "24", SimPricing.Rate.tiers("720p", 2, "1080p", 2, "4k", 6).withAudio("720p", 3, "1080p", 3, "4k", 7))
                .logs().returns("video");
    }

    /** The size fal makes at a resolution ("720p", "768P", "4k") and aspect ratio: the short side is the resolution's. */
    static int[] videoSize(String resolution, String aspect) {
        String r = resolution.toLowerCase(java.util.Locale.ROOT);
        int side = r.equals("4k") ? 2160 : Integer.parseInt(r.substring(0, r.length() - 1));
        int wide = (int) Math.round(side * 16 / 9.0 / 2) * 2;
        return switch (aspect) {
            case "9:16" -> new int[] { side, wide };
            case "1:1" -> new int[] { side, side };
            default -> new int[] { wide, side };
        };
    }

    /** A duration as an endpoint takes it ("5", "8s", 6) in seconds. */
    static double seconds(Object duration) {
        if (duration instanceof Number n) {
            return n.doubleValue();
        }
        String s = String.valueOf(duration);
        return Double.parseDouble(s.endsWith("s") ? s.substring(0, s.length() - 1) : s);
    }
}
