package ai.atelier.http;

import java.io.IOException;

import jakarta.inject.Singleton;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.deser.std.StdScalarDeserializer;
import com.fasterxml.jackson.databind.deser.std.StringDeserializer;
import com.fasterxml.jackson.databind.module.SimpleModule;

import io.quarkus.jackson.ObjectMapperCustomizer;

/**
 * How strictly request bodies are read as JSON, for every route (v1, seeds, LLM): a key given twice is
 * refused (otherwise the last one silently wins, so {@code {"model":"llm","model":"flux-schnell"}} would
 * mean something other than what a reviewer of the request sees), so is anything after the document,
 * and every string, at any depth (also inside free-form {@code params}), passes {@link TextRules}.
 */
@Singleton
public class JsonRules implements ObjectMapperCustomizer {

    @Override
    public void customize(ObjectMapper mapper) {
        mapper.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        mapper.enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        SimpleModule strings = new SimpleModule("atelier-text-rules");
        strings.addDeserializer(String.class, new CheckedStrings());
        mapper.registerModule(strings);
    }

    /** A string TextRules refuses; its path (filled in by Jackson as it unwinds) names the field. */
    public static final class RefusedText extends JsonMappingException {
        private final String refusal;

        RefusedText(JsonParser p, String refusal) {
            super(p, refusal);
            this.refusal = refusal;
        }

        public String refusal() {
            return refusal;
        }
    }

    /**
     * Jackson's own string reading, then the rules. Registered as a custom String deserializer, it is also
     * used for strings inside maps and lists of untyped values.
     */
    static final class CheckedStrings extends StdScalarDeserializer<String> {
        CheckedStrings() {
            super(String.class);
        }

        @Override
        public String deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
            String s = StringDeserializer.instance.deserialize(p, ctxt);
            String refusal = TextRules.refusal(s);
            if (refusal != null) {
                throw new RefusedText(p, refusal);
            }
            return s;
        }
    }
}
