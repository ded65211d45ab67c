package ai.atelier.usage;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;

import ai.atelier.fal.FalPricing;
import ai.atelier.models.CostBasis;
import ai.atelier.models.FalCall;
import ai.atelier.models.LlmCompletion;
import ai.atelier.models.ModelStrategy;
import ai.atelier.models.ParamSpec;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

/**
 * What a request is expected to cost before anything is paid: each fal call it will make, priced as
 * fal prices it (the account's unit price × the units fal will bill: output megapixels rounded up per
 * image, plus the inputs' where the endpoint bills them; images; or, for an LLM, fal's estimate of a
 * typical call; a video, seconds at the asked duration times what a second bills at the asked resolution, with or
 * without sound). A submit reserves this against the tenant's budget; {@code dry_run} answers it.
 */
@Singleton
public class Quotes {

    /** One expected fal call. */
    public record Line(String stage, String endpoint, Double units, String unit, BigDecimal unitPrice, BigDecimal usd) {
    }

    /** The expected cost and how it was reckoned. */
    public record Quote(BigDecimal totalUsd, List<Line> calls, List<String> assumptions) {
    }

    private static final Map<String, int[]> PRESETS = Map.of("square_hd", new int[] { 1024, 1024 }, "square", new int[] { 512, 512 },
            "portrait_4_3", new int[] { 768, 1024 }, "portrait_16_9", new int[] { 576, 1024 }, "landscape_4_3", new int[] { 1024, 768 },
            "landscape_16_9", new int[] { 1024, 576 });
    private static final int[] UNKNOWN_SIZE = { 1024, 1024 };

    private final FalPricing pricing;

    public Quotes(FalPricing pricing) {
        this.pricing = pricing;
    }

    /**
     * @param inputs the request's photos' sizes, when known ({width, height}); unknown ones are assumed 1024×1024
     * @param styles a product shoot's styles (0 for one generation)
     */
    public Uni<Quote> of(ModelStrategy model, Map<String, Object> tuned, List<int[]> inputs, Map<String, Object> options, int styles) {
        List<Uni<Line>> lines = new ArrayList<>();
        List<String> assumptions = new ArrayList<>();
        if (Boolean.TRUE.equals(options.get("categorise"))) {
            lines.add(typical("categorise", LlmCompletion.VISION));
        }
        boolean llmPrompt = "llm".equals(options.get("prompt_mode"));
        int generations = Math.max(1, styles);
        for (int g = 0; g < generations; g++) {
            if (llmPrompt) {
                lines.add(typical(styles > 0 ? "shoot" : "prompt", LlmCompletion.ROUTER));
            }
            List<FalCall> plan = model.plan(model.acceptsPrompt() ? "quote" : null, tuned, styles > 0 ? 1 : inputs.size());
            if (styles > 0) {
                plan = plan.subList(0, 1);
            }
            List<int[]> in = styles > 0 ? inputs.subList(0, Math.min(1, inputs.size())) : inputs;
            for (FalCall call : plan) {
                CostBasis basis = model.costBasis(call.endpointId());
                if (basis.kind() == CostBasis.Kind.SECONDS) {
                    // the payload fal would get sets duration, resolution and audio explicitly: its units are what was asked
                    List<String> photos = java.util.Collections.nCopies(Math.max(1, in.size()), "https://quote.invalid/photo");
                    double units = basis.perSecond().units(call.payload().apply(photos).getMap());
                    lines.add(pricedUnits(styles > 0 ? "shoot" : "infer", call.endpointId(), units));
                    continue;
                }
                int[] out = outputSize(model, tuned, in);
                int count = tuned.get("num_images") instanceof Number n ? n.intValue() : 1;
                List<int[]> billedInputs = model.billsInputs(call.endpointId()) ? in.subList(0, Math.min(3, in.size())) : List.of();
                lines.add(priced(styles > 0 ? "shoot" : "infer", call.endpointId(), out, count, billedInputs));
                in = java.util.Collections.nCopies(count, out); // a later call (generate, then turn) gets these pictures
            }
        }
        if (llmPrompt || Boolean.TRUE.equals(options.get("categorise")) || model.output() == ModelStrategy.Output.TEXT) {
            assumptions.add("LLM calls are priced as fal estimates a typical call; they are billed by the tokens used");
        }
        if (model.output() == ModelStrategy.Output.VIDEO) {
            assumptions.add("a video is quoted at the duration, resolution and sound asked; fal bills the clip's own length, which may run a fraction of a second longer");
        }
        if (inputs.stream().anyMatch(s -> s == UNKNOWN_SIZE)) {
            assumptions.add("photos whose size is not known yet are counted as 1024x1024");
        }
        return Multi.createFrom().iterable(lines).onItem().transformToUniAndConcatenate(u -> u).collect().asList()
                .map(all -> new Quote(all.stream().map(Line::usd).reduce(BigDecimal.ZERO, BigDecimal::add), all, assumptions));
    }

    /** The size a photo of unknown size is counted as. */
    public static int[] unknownSize() {
        return UNKNOWN_SIZE;
    }

    private Uni<Line> typical(String stage, String endpoint) {
        return pricing.typicalCall(endpoint).map(usd -> new Line(stage, endpoint, null, "usd", null, usd));
    }

    /** A call whose billable units are known before it is made (a video: seconds times what one bills at its tier). */
    private Uni<Line> pricedUnits(String stage, String endpoint, double units) {
        return pricing.price(endpoint).map(price -> price == null ? new Line(stage, endpoint, units, null, null, BigDecimal.ZERO)
                : new Line(stage, endpoint, units, price.unit(), price.unitPrice(), FalPricing.cost(price, units)));
    }

    private Uni<Line> priced(String stage, String endpoint, int[] out, int count, List<int[]> billedInputs) {
        return pricing.price(endpoint).chain(price -> {
            if (price == null) {
                return Uni.createFrom().item(new Line(stage, endpoint, null, null, null, BigDecimal.ZERO));
            }
            if (price.perDollar()) {
                return typical(stage, endpoint);
            }
            double units;
            if (price.perMegapixel()) {
                units = count * megapixels(out) + billedInputs.stream().mapToDouble(Quotes::megapixels).sum();
            } else {
                units = count; // per image (or per request)
            }
            return Uni.createFrom().item(new Line(stage, endpoint, units, price.unit(), price.unitPrice(), FalPricing.cost(price, units)));
        });
    }

    /** fal counts megapixels rounded up per image. */
    private static double megapixels(int[] size) {
        return Math.ceil(size[0] * (double) size[1] / 1_000_000.0);
    }

    /** The size fal will make: the request's image_size, the model's default, else the first photo's. */
    @SuppressWarnings("unchecked")
    private static int[] outputSize(ModelStrategy model, Map<String, Object> tuned, List<int[]> inputs) {
        Object size = tuned.get("image_size");
        if (size == null) {
            size = model.tunable().stream().filter(p -> p.type() == ParamSpec.Type.IMAGE_SIZE).map(ParamSpec::defaultValue).filter(v -> v != null)
                    .findFirst().orElse(null);
        }
        if (size instanceof String preset && PRESETS.containsKey(preset)) {
            return PRESETS.get(preset);
        }
        if (size instanceof Map<?, ?> m && m.get("width") instanceof Number w && m.get("height") instanceof Number h) {
            return new int[] { w.intValue(), h.intValue() };
        }
        return inputs.isEmpty() ? UNKNOWN_SIZE : inputs.get(0);
    }
}
