package ai.atelier.http;

/**
 * What no text Atelier accepts may contain, wherever it comes from (a JSON string at any depth, a
 * multipart field, a query parameter): a NUL (PostgreSQL refuses it in text and jsonb, which surfaced as
 * a 500), other C0 control characters but tab, line feed and carriage return (no prompt or name needs
 * them; logs and fal's tokenizers do not expect them), and UTF-16 surrogates that are not a pair (they
 * cannot be encoded as UTF-8: fal would receive '?').
 */
public final class TextRules {

    private TextRules() {
    }

    /** Why the text is refused, in words that finish "The field 'x' …", or null when it is fine. */
    public static String refusal(String s) {
        if (s == null) {
            return null;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
                return c == 0 ? "contains a NUL character (U+0000), which no text may contain"
                        : String.format("contains the control character U+%04X, which no text may contain", (int) c);
            }
            if (Character.isHighSurrogate(c)) {
                if (i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                    i++;
                    continue;
                }
                return String.format("contains a lone UTF-16 surrogate (U+%04X), which is not a character", (int) c);
            }
            if (Character.isLowSurrogate(c)) {
                return String.format("contains a lone UTF-16 surrogate (U+%04X), which is not a character", (int) c);
            }
        }
        return null;
    }

    /** The text with anything the rules refuse replaced by U+FFFD, to quote it back safely. */
    public static String printable(String s) {
        if (s == null || refusal(s) == null) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                b.append(c).append(s.charAt(++i));
            } else if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || Character.isSurrogate(c)) {
                b.append('\uFFFD');
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
