package io.github.tflxmert.tokenizer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.CharacterEscapes;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Jackson set up to write what Python's {@code json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) +
 * "\n"} writes, byte for byte, as HF's {@code save_pretrained} does: two-space indent with arrays one element a
 * line, {@code "key": value}, empty containers as {@code {}} and {@code []}, keys sorted by code point, only
 * {@code "}, {@code \} and U+0000..U+001F escaped (lower-case hex), floats as Python's {@code repr}. The
 * objects under the root fields named in {@code intKeyed} have keys sorted as numbers (HF's
 * {@code added_tokens_decoder} is a dict with int keys). Stateless; thread-safe.
 */
final class PythonJson {
  private static final JsonFactory FACTORY = new JsonFactory();
  private static final CharacterEscapes ESCAPES = new CharacterEscapes() {
    private final int[] table = standardAsciiEscapesForJSON();

    {
      for (int c = 0; c < 0x20; c++) {
        table[c] = ESCAPE_CUSTOM;
      }
    }

    @Override
    public int[] getEscapeCodesForAscii() {
      return table;
    }

    /** Called for the control chars marked above and for every non-ASCII char (null: written as it is). */
    @Override
    public SerializableString getEscapeSequence(int ch) {
      if (ch >= 0x20) {
        return null;
      }
      String e = switch (ch) {
        case '\n' -> "\\n";
        case '\r' -> "\\r";
        case '\t' -> "\\t";
        case '\b' -> "\\b";
        case '\f' -> "\\f";
        default -> String.format("\\u%04x", ch);
      };
      return new SerializedString(e);
    }
  };

  private PythonJson() {}

  /** The text of {@code node} as Python writes it, ending with a newline. */
  static String write(JsonNode node, Set<String> intKeyed) {
    StringWriter out = new StringWriter();
    try (JsonGenerator g = FACTORY.createGenerator(out)) {
      g.setCharacterEscapes(ESCAPES);
      DefaultIndenter indent = new DefaultIndenter("  ", "\n");
      g.setPrettyPrinter(new DefaultPrettyPrinter(Separators.createDefaultInstance()
          .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
          .withObjectEmptySeparator("").withArrayEmptySeparator(""))
          .withObjectIndenter(indent).withArrayIndenter(indent));
      write(g, node, intKeyed, false);
    } catch (IOException e) {
      throw new UncheckedIOException("writing JSON to a string", e);
    }
    return out + "\n";
  }

  private static void write(JsonGenerator g, JsonNode node, Set<String> intKeyed, boolean numericKeys)
      throws IOException {
    if (node.isObject()) {
      List<Map.Entry<String, JsonNode>> fields = new ArrayList<>();
      node.fields().forEachRemaining(fields::add);
      fields.sort(numericKeys ? (a, b) -> new BigInteger(a.getKey()).compareTo(new BigInteger(b.getKey()))
          : (a, b) -> compareCodePoints(a.getKey(), b.getKey()));
      g.writeStartObject();
      for (Map.Entry<String, JsonNode> e : fields) {
        g.writeFieldName(e.getKey());
        write(g, e.getValue(), Set.of(), intKeyed.contains(e.getKey()));
      }
      g.writeEndObject();
    } else if (node.isArray()) {
      g.writeStartArray();
      for (JsonNode e : node) {
        write(g, e, Set.of(), false);
      }
      g.writeEndArray();
    } else if (node.isTextual()) {
      g.writeString(node.asText());
    } else if (node.isBoolean()) {
      g.writeBoolean(node.asBoolean());
    } else if (node.isNull()) {
      g.writeNull();
    } else if (node.isIntegralNumber()) {
      g.writeNumber(node.bigIntegerValue());
    } else if (node.isNumber()) {
      g.writeNumber(pythonRepr(node.doubleValue()));
    } else {
      throw new IllegalArgumentException("JSON node of type " + node.getNodeType() + " cannot be written");
    }
  }

  /** Python's {@code str} sort order: by code point (Java's compareTo is by UTF-16 unit). */
  private static int compareCodePoints(String a, String b) {
    int i = 0;
    int j = 0;
    while (i < a.length() && j < b.length()) {
      int ca = a.codePointAt(i);
      int cb = b.codePointAt(j);
      if (ca != cb) {
        return Integer.compare(ca, cb);
      }
      i += Character.charCount(ca);
      j += Character.charCount(cb);
    }
    return Integer.compare(a.length() - i, b.length() - j);
  }

  /**
   * Python's {@code repr(float)}: the shortest digits that read back to the same double, in fixed notation for
   * decimal exponents -4..15 (with ".0" when integral), else as {@code d.ddde+XX}.
   */
  static String pythonRepr(double d) {
    if (Double.isNaN(d) || Double.isInfinite(d)) {
      return Double.isNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity"; // what json.dumps writes
    }
    if (d == 0) {
      return (1 / d < 0) ? "-0.0" : "0.0";
    }
    BigDecimal exact = new BigDecimal(d);
    BigDecimal shortest = exact;
    for (int digits = 1; digits <= 17; digits++) {
      BigDecimal r = exact.round(new MathContext(digits, RoundingMode.HALF_EVEN));
      if (r.doubleValue() == d) {
        shortest = r;
        break;
      }
    }
    shortest = shortest.stripTrailingZeros();
    String digits = shortest.unscaledValue().abs().toString();
    int exponent = digits.length() - 1 - shortest.scale(); // of the first digit
    String sign = d < 0 ? "-" : "";
    if (exponent < -4 || exponent >= 16) {
      String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
      return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + String.format("%02d", Math.abs(exponent));
    }
    String plain = shortest.abs().toPlainString();
    return sign + (plain.contains(".") ? plain : plain + ".0");
  }
}
