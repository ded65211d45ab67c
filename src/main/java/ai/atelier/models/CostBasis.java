package ai.atelier.models;

import java.util.Map;

/**
 * How the billable units of one call to an endpoint are reckoned before the call, so its cost can be quoted
 * (units × the unit price fal's pricing API gives for the endpoint). Pictures are counted in whatever unit fal
 * prices the endpoint in: output megapixels rounded up per image (plus the inputs' where the model says fal bills
 * them), or images; a token-priced LLM call by fal's estimate of a typical call. Video is counted in seconds of
 * output at the requested duration, times what one second bills at the requested resolution, with or without
 * audio ({@link PerSecond}): fal bills the output's length, in the endpoint's own unit (fal-video.md §4).
 *
 * @param inputsBilled for {@link Kind#PRICING_UNIT}: whether the input pictures' megapixels are billed too
 * @param perSecond    for {@link Kind#SECONDS}: the rates
 */
public record CostBasis(Kind kind, boolean inputsBilled, PerSecond perSecond) {

    /** What a call is counted in. */
    public enum Kind {
        /** The unit fal's pricing API names: megapixels (outputs, and inputs when billed), images, or the dollars of a token-priced call. */
        PRICING_UNIT,
        /** Seconds of video output at the requested duration and resolution, with or without audio. */
        SECONDS
    }

    /** Counted as fal's pricing API names the endpoint's unit (every picture model and the LLM). */
    public static CostBasis pricingUnit(boolean inputsBilled) {
        return new CostBasis(Kind.PRICING_UNIT, inputsBilled, null);
    }

    /** Counted in seconds of output. */
    public static CostBasis seconds(PerSecond perSecond) {
        return new CostBasis(Kind.SECONDS, false, perSecond);
    }

    /**
     * What one second of a video endpoint's output bills, in the endpoint's pricing unit, read from the payload fal
     * receives (where a strategy sets duration, resolution and audio explicitly, so the quote is that of exactly what
     * was asked).
     *
     * @param durationParam   the payload field with the duration, as the endpoint takes it: {@code "5"}, {@code "8s"} or {@code 6}
     * @param resolutionParam the payload field with the resolution, or null where the endpoint has none
     * @param resolution      the resolution billed when the payload names none (the endpoint's only one, or fal's default)
     * @param audioParam      the boolean payload field that turns audio on, or null where audio does not change the price
     * @param silent          units a second by resolution; key {@code "*"} for any
     * @param withAudio       units a second by resolution when audio is on
     */
    public record PerSecond(String durationParam, String resolutionParam, String resolution, String audioParam, Map<String, Double> silent,
            Map<String, Double> withAudio) {

        /** The same rate at every resolution, audio or not. */
        public static PerSecond flat(String durationParam, double unitsPerSecond) {
            return new PerSecond(durationParam, null, "*", null, Map.of("*", unitsPerSecond), Map.of("*", unitsPerSecond));
        }

        /** The billable units of one call with this payload. */
        public double units(Map<String, Object> payload) {
            double seconds = seconds(payload.get(durationParam));
            String tier = resolutionParam != null && payload.get(resolutionParam) instanceof String r ? r : resolution;
            boolean audio = audioParam != null && Boolean.TRUE.equals(payload.get(audioParam));
            Map<String, Double> rates = audio ? withAudio : silent;
            Double rate = rates.getOrDefault(tier, rates.get("*"));
            if (rate == null) {
                throw new IllegalArgumentException("no rate for resolution " + tier + (audio ? " with audio" : ""));
            }
            return seconds * rate;
        }

        /** A duration as an endpoint takes it: {@code "5"}, {@code "8s"}, {@code 6}; in seconds. */
        public static double seconds(Object duration) {
            if (duration instanceof Number n) {
                return n.doubleValue();
            }
            if (duration instanceof String s && s.matches("\\d+(\\.\\d+)?s?")) {
                return Double.parseDouble(s.endsWith("s") ? s.substring(0, s.length() - 1) : s);
            }
            throw new IllegalArgumentException("not a duration: " + duration);
        }
    }
}
