package ai.atelier.simulator;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import ai.atelier.ingest.ImageInfo;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * What fal charges (fal-api.md section 12): a price per endpoint as fal's platform pricing API answers it
 * ({@code GET https://api.fal.ai/v1/models/pricing}, {@code POST …/pricing/estimate}), and the billed quantity of
 * one successful output, which fal puts in {@code x-fal-billable-units}. Cost = units × unit_price, so the two must
 * agree on the unit: megapixels are counted rounded up per image, per-image endpoints count output images, and the
 * token-priced routers bill dollars at a unit price of 1.
 */
final class SimPricing {

    /** How an endpoint's billable units are counted. */
    enum Basis {
        /** ceil(width × height / 1e6) per output image. */
        OUTPUT_MEGAPIXELS,
        /** Output megapixels plus the input images' megapixels, each rounded up per image (FLUX i2i, FLUX.2 edit). */
        INPUT_AND_OUTPUT_MEGAPIXELS,
        /** The number of output images. */
        IMAGES,
        /** The dollars the call cost ({@code usage.cost}): token-priced models. */
        DOLLARS,
        /** Seconds of output video times the endpoint's units per second at its resolution, with or without audio ({@link Rate}). */
        VIDEO_SECONDS
    }

    /**
     * What one second of video bills on an endpoint, in its pricing unit: per resolution ("*" for any), silent and with
     * audio. fal bills the output's length (fal-video.md §4); the rates reproduce the list prices of §2 with one unit
     * price per endpoint, as the pricing API has it (Veo 3.1 Fast: $0.05 a unit, 2 a second at 720p/1080p, 3 with audio,
     * 6 and 7 at 4k, so $0.10/$0.15/$0.30/$0.35 a second).
     */
    record Rate(Map<String, BigDecimal> silent, Map<String, BigDecimal> withAudio) {

        /** One unit a second, whatever the resolution or audio. */
        static Rate perSecond() {
            return new Rate(Map.of("*", BigDecimal.ONE), Map.of("*", BigDecimal.ONE));
        }

        /** Units a second by resolution ("720p", "4k"), alternating names and numbers; the same with audio. */
        static Rate tiers(Object... resolutionsAndUnits) {
            Map<String, BigDecimal> t = new LinkedHashMap<>();
            for (int i = 0; i < resolutionsAndUnits.length; i += 2) {
                t.put((String) resolutionsAndUnits[i], new BigDecimal(resolutionsAndUnits[i + 1].toString()));
            }
            return new Rate(t, t);
        }

        /** The same tiers, with other units a second when the clip has audio. */
        Rate withAudio(Object... resolutionsAndUnits) {
            return new Rate(silent, tiers(resolutionsAndUnits).silent());
        }

        BigDecimal perSecond(String resolution, boolean audio) {
            Map<String, BigDecimal> table = audio ? withAudio : silent;
            BigDecimal rate = table.getOrDefault(resolution, table.get("*"));
            if (rate == null) {
                throw new IllegalArgumentException("no rate for " + resolution + (audio ? " with audio" : ""));
            }
            return rate;
        }
    }


    /**
     * One endpoint's list price. {@code typicalUnits} is what one ordinary call is billed, used by the
     * {@code historical_api_price} estimate (fal derives it from past calls; the simulator has none).
     */
    record Price(String endpointId, BigDecimal unitPrice, String unit, Basis basis, BigDecimal typicalUnits) {
    }

    /** fal uses at most the first three of flux-2/lora/edit's image_urls (fal-api.md section 10): only those are billed. */
    static final int MAX_BILLED_INPUTS = 3;
    static final int MAX_IDS = 50;

    /** What a second of video bills, by endpoint; filled with the prices below, from the video endpoints' schema entries. */
    private static final Map<String, Rate> RATES = new LinkedHashMap<>();
    private static final Map<String, Price> DEFAULTS = defaults();

    /** The price table in use: list prices, changed at run time by {@code PUT /_sim/pricing}. */
    private final Map<String, BigDecimal> unitPrices = new ConcurrentHashMap<>();

    SimPricing(Set<String> endpoints) {
        for (String id : endpoints) {
            if (!DEFAULTS.containsKey(id)) {
                // every endpoint the simulator answers must be priceable, or a cost test would silently read nothing
                throw new IllegalStateException("No simulated price for " + id);
            }
        }
        reset();
    }

    private static Map<String, Price> defaults() {
        Map<String, Price> p = new LinkedHashMap<>();
        // fal-api.md section 12, where fal's figure is known
        put(p, "fal-ai/flux/schnell", "0.003", "megapixels", Basis.OUTPUT_MEGAPIXELS, "1"); // typical: landscape_4_3, 0.79 MP -> 1
        put(p, "fal-ai/flux-general/image-to-image", "0.075", "megapixels", Basis.INPUT_AND_OUTPUT_MEGAPIXELS, "4"); // 1024² in + out
        put(p, "fal-ai/flux-2/lora/edit", "0.012", "megapixels", Basis.INPUT_AND_OUTPUT_MEGAPIXELS, "4");
        // fal publishes 0.03/MP for qwen-image-edit; the plus-lora variant is taken to cost the same
        put(p, "fal-ai/qwen-image-edit-plus-lora", "0.03", "megapixels", Basis.OUTPUT_MEGAPIXELS, "2");
        put(p, "fal-ai/bria/background/replace", "0.04", "images", Basis.IMAGES, "1");
        put(p, "fal-ai/bria/background/remove", "0.018", "images", Basis.IMAGES, "1");
        // No fal price found (fal-api.md section 12): plausible figures, a LoRA on qwen edit plus and a 4K product shot
        put(p, "fal-ai/qwen-image-edit-plus-lora-gallery/multiple-angles", "0.035", "megapixels", Basis.OUTPUT_MEGAPIXELS, "2");
        put(p, "fal-ai/image-apps-v2/product-photography", "0.04", "images", Basis.IMAGES, "1");
        // Token-priced: the units are the dollars the call cost, so the unit price is 1. The typical call is a short
        // prompt (text) or a categorisation of one picture (vision) at SimLlm's prices: plausible, not fal's.
        put(p, "openrouter/router", "1.0", "usd", Basis.DOLLARS, "0.0002");
        put(p, "openrouter/router/vision", "1.0", "usd", Basis.DOLLARS, "0.0003");
        // video endpoints carry their price in their schema entry (SimSchema.priced): one entry adds an endpoint
        SimSchema.catalogue().values().stream().filter(schema -> schema.videoPrice != null).forEach(schema -> {
            put(p, schema.endpointId, schema.videoPrice.unitPrice(), schema.videoPrice.unit(), Basis.VIDEO_SECONDS, schema.videoPrice.typicalUnits());
            RATES.put(schema.endpointId, schema.videoPrice.rate());
        });
        return p;
    }

    private static void put(Map<String, Price> p, String id, String price, String unit, Basis basis, String typical) {
        p.put(id, new Price(id, new BigDecimal(price), unit, basis, new BigDecimal(typical)));
    }

    void reset() {
        DEFAULTS.forEach((id, price) -> unitPrices.put(id, price.unitPrice()));
    }

    Price price(String endpointId) {
        Price list = DEFAULTS.get(endpointId);
        return list == null ? null : new Price(endpointId, unitPrices.get(endpointId), list.unit(), list.basis(), list.typicalUnits());
    }

    // ---- the platform API ------------------------------------------------------------------------

    /** A request the platform API rejects: a 422 with a pydantic-style {@code detail} list, as fal's APIs answer. */
    static final class Invalid extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final transient JsonArray detail;

        Invalid(JsonArray loc, String msg, String type) {
            super(msg, null, false, false);
            this.detail = new JsonArray().add(new JsonObject().put("loc", loc).put("msg", msg).put("type", type));
        }
    }

    /**
     * {@code GET /v1/models/pricing?endpoint_id=a,b}: ids comma-separated and/or repeated, 1 to 50 of them; unknown
     * ids are left out. The simulator has a single page, so there is never a next cursor.
     */
    JsonObject prices(List<String> params) {
        Set<String> ids = new LinkedHashSet<>();
        for (String param : params) {
            for (String id : param.split(",")) {
                if (!id.isBlank()) {
                    ids.add(id.trim());
                }
            }
        }
        JsonArray loc = new JsonArray().add("query").add("endpoint_id");
        if (ids.isEmpty()) {
            throw new Invalid(loc, "Field required", "missing");
        }
        if (ids.size() > MAX_IDS) {
            throw new Invalid(loc, "List should have at most " + MAX_IDS + " items after validation, not " + ids.size(), "too_long");
        }
        JsonArray prices = new JsonArray();
        ids.stream().map(this::price).filter(p -> p != null).forEach(p -> prices.add(toJson(p)));
        return new JsonObject().put("prices", prices).put("next_cursor", null).put("has_more", false);
    }

    private static JsonObject toJson(Price p) {
        return new JsonObject().put("endpoint_id", p.endpointId()).put("unit_price", p.unitPrice().doubleValue())
                .put("unit", p.unit()).put("currency", "USD");
    }

    /**
     * {@code POST /v1/models/pricing/estimate}: {@code unit_price} multiplies each endpoint's unit price by
     * {@code unit_quantity}; {@code historical_api_price} multiplies it by one typical call's units and
     * {@code call_quantity}. Unknown endpoint ids add nothing, as the pricing lookup leaves them out.
     */
    JsonObject estimate(JsonObject body) {
        if (body == null) {
            throw new Invalid(new JsonArray().add("body"), "Field required", "missing");
        }
        Object type = body.getValue("estimate_type");
        if (!"unit_price".equals(type) && !"historical_api_price".equals(type)) {
            throw new Invalid(new JsonArray().add("body").add("estimate_type"), "Input should be 'historical_api_price' or 'unit_price'",
                    type == null ? "missing" : "literal_error");
        }
        boolean perUnit = "unit_price".equals(type);
        String quantityKey = perUnit ? "unit_quantity" : "call_quantity";
        if (!(body.getValue("endpoints") instanceof JsonObject endpoints) || endpoints.isEmpty()) {
            throw new Invalid(new JsonArray().add("body").add("endpoints"), "Dictionary should have at least 1 item", "too_short");
        }
        BigDecimal total = BigDecimal.ZERO;
        for (String id : endpoints.fieldNames()) {
            JsonArray loc = new JsonArray().add("body").add("endpoints").add(id).add(quantityKey);
            Object quantity = endpoints.getValue(id) instanceof JsonObject e ? e.getValue(quantityKey) : null;
            if (!(quantity instanceof Number n)) {
                throw new Invalid(loc, quantity == null ? "Field required" : "Input should be a valid number",
                        quantity == null ? "missing" : "float_type");
            }
            BigDecimal q = new BigDecimal(n.toString());
            if (q.signum() < 0) {
                throw new Invalid(loc, "Input should be greater than or equal to 0", "greater_than_equal");
            }
            Price p = price(id);
            if (p != null) {
                total = total.add(p.unitPrice().multiply(perUnit ? q : q.multiply(p.typicalUnits())));
            }
        }
        return new JsonObject().put("estimate_type", type).put("total_cost", total.doubleValue()).put("currency", "USD");
    }

    /**
     * {@code PUT /_sim/pricing {"<endpoint id>": {"unit_price": 0.005}}}: all changes or none; the changed prices as
     * the pricing API answers them. IllegalArgumentException names what is wrong.
     */
    JsonObject change(JsonObject body) {
        if (body == null || body.isEmpty()) {
            throw new IllegalArgumentException("Expected {\"<endpoint id>\": {\"unit_price\": <number>}}");
        }
        Map<String, BigDecimal> changes = new LinkedHashMap<>();
        for (String id : body.fieldNames()) {
            if (!DEFAULTS.containsKey(id)) {
                throw new IllegalArgumentException("Unknown endpoint " + id + "; known: " + DEFAULTS.keySet());
            }
            Object price = body.getValue(id) instanceof JsonObject o ? o.getValue("unit_price") : null;
            if (!(price instanceof Number n) || new BigDecimal(n.toString()).signum() < 0) {
                throw new IllegalArgumentException(id + ": unit_price must be a number of at least 0");
            }
            changes.put(id, new BigDecimal(n.toString()));
        }
        unitPrices.putAll(changes);
        JsonArray prices = new JsonArray();
        changes.keySet().forEach(id -> prices.add(toJson(price(id))));
        return new JsonObject().put("prices", prices);
    }

    // ---- billable units --------------------------------------------------------------------------

    /**
     * The {@code x-fal-billable-units} of a successful output, a plain decimal string. {@code inputs} are the input
     * pictures as fetched ({@code image_url}, then {@code image_urls}); only the endpoints that bill inputs read them.
     */
    static String billableUnits(String endpointId, JsonObject output, List<ImageInfo> inputs) {
        Price price = DEFAULTS.get(endpointId);
        if (price == null) {
            return null;
        }
        BigDecimal units = switch (price.basis()) {
            case DOLLARS -> {
                JsonObject usage = output.getJsonObject("usage");
                yield usage != null && usage.getValue("cost") instanceof Number cost ? new BigDecimal(cost.toString()) : BigDecimal.ZERO;
            }
            case IMAGES -> BigDecimal.valueOf(outputs(output).size());
            case VIDEO_SECONDS -> throw new IllegalArgumentException(endpointId + " bills video seconds: see videoUnits");
            case OUTPUT_MEGAPIXELS -> BigDecimal.valueOf(outputs(output).stream().mapToLong(i -> megapixels(i.getInteger("width", 0), i.getInteger("height", 0))).sum());
            case INPUT_AND_OUTPUT_MEGAPIXELS -> BigDecimal.valueOf(outputs(output).stream().mapToLong(i -> megapixels(i.getInteger("width", 0), i.getInteger("height", 0))).sum()
                    + inputs.stream().mapToLong(i -> megapixels(i.width(), i.height())).sum());
        };
        return units.stripTrailingZeros().toPlainString();
    }

    /**
     * The {@code x-fal-billable-units} of a video: its length in seconds times what a second bills at its resolution,
     * with or without audio ({@link Rate}).
     */
    static String videoUnits(String endpointId, double seconds, String resolution, boolean audio) {
        Rate rate = RATES.get(endpointId);
        if (rate == null) {
            throw new IllegalArgumentException("No video rate for " + endpointId);
        }
        return BigDecimal.valueOf(seconds).multiply(rate.perSecond(resolution, audio)).stripTrailingZeros().toPlainString();
    }

    /** Megapixels rounded up per image, as fal bills them: a 1024×1024 picture (1.05 MP) is 2. */
    static long megapixels(int width, int height) {
        return ((long) width * height + 999_999) / 1_000_000;
    }

    private static List<JsonObject> outputs(JsonObject output) {
        List<JsonObject> images = new ArrayList<>();
        if (output.getValue("images") instanceof JsonArray a) {
            a.forEach(i -> {
                if (i instanceof JsonObject o) {
                    images.add(o);
                }
            });
        } else if (output.getValue("image") instanceof JsonObject o) {
            images.add(o);
        }
        return images;
    }
}
