package io.github.tflxmert.tokenizer;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Reads the fields of a Hugging Face {@code tokenizer_config.json} that change what {@code LxmertTokenizer} does.
 * Unknown fields are ignored here (HF writes many: {@code name_or_path}, {@code tokenizer_class}...) and kept in
 * {@link Loaded#source} so that {@code savePretrained} writes them back, as HF does; a known field with the wrong
 * type, or an added token the Java tokenizer cannot honour, is an error naming the file and field.
 */
final class TokenizerConfig {
  /** Model lengths above this mean "no limit" (HF's LARGE_INTEGER; HF writes int(1e30)). */
  static final BigDecimal LARGE_INTEGER = new BigDecimal("1e20");

  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private TokenizerConfig() {}

  /**
   * The options a config sets over {@code base}, and the config as read (treat as read-only).
   *
   * @param options the tokenizer options
   * @param source  the whole JSON object of the file
   */
  record Loaded(TokenizerOptions options, ObjectNode source) {}

  static Loaded read(Path file, TokenizerOptions base) throws IOException {
    String src = file.toString();
    JsonNode root;
    try {
      root = JSON.readTree(file.toFile());
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      throw new IllegalArgumentException(src + ": invalid JSON" + (at == null ? "" : " at line " + at.getLineNr()
          + ", column " + at.getColumnNr()) + ": " + e.getOriginalMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException(src + ": expected a JSON object, found " + kind(root));
    }
    ObjectNode m = (ObjectNode) root;
    TokenizerOptions o = base;
    if (m.has("do_lower_case")) {
      o = o.withDoLowerCase(bool(src, "do_lower_case", m.get("do_lower_case")));
    }
    if (m.has("strip_accents")) {
      JsonNode v = m.get("strip_accents");
      o = o.withStripAccents(v.isNull() ? null : bool(src, "strip_accents", v));
    }
    if (m.has("tokenize_chinese_chars")) {
      o = o.withTokenizeChineseChars(bool(src, "tokenize_chinese_chars", m.get("tokenize_chinese_chars")));
    }
    if (m.has("do_basic_tokenize")) {
      o = o.withDoBasicTokenize(bool(src, "do_basic_tokenize", m.get("do_basic_tokenize")));
    }
    if (m.has("clean_up_tokenization_spaces")) {
      o = o.withCleanUpTokenizationSpaces(
          bool(src, "clean_up_tokenization_spaces", m.get("clean_up_tokenization_spaces")));
    }
    if (present(m, "never_split")) {
      o = o.withNeverSplit(tokenList(src, "never_split", m.get("never_split")));
    }
    if (present(m, "model_max_length")) {
      o = o.withModelMaxLength(modelMaxLength(src, m.get("model_max_length")));
    }
    String unk = token(src, "unk_token", m.get("unk_token"), o.unkToken());
    String sep = token(src, "sep_token", m.get("sep_token"), o.sepToken());
    String pad = token(src, "pad_token", m.get("pad_token"), o.padToken());
    String cls = token(src, "cls_token", m.get("cls_token"), o.clsToken());
    String mask = token(src, "mask_token", m.get("mask_token"), o.maskToken());
    List<String> additional = present(m, "additional_special_tokens")
        ? tokenList(src, "additional_special_tokens", m.get("additional_special_tokens"))
        : o.additionalSpecialTokens();
    o = o.withSpecialTokens(unk, sep, pad, cls, mask, additional);
    checkAddedTokens(src, m.get("added_tokens_decoder"), o);
    return new Loaded(o, m);
  }

  /** {@code model_max_length} as the options hold it: 0 for HF's "no limit" (above 1e20). */
  static int modelMaxLength(String src, JsonNode v) {
    BigDecimal d = v.isNumber() ? v.decimalValue() : null;
    if (d == null || d.signum() < 0 || d.stripTrailingZeros().scale() > 0) {
      throw new IllegalArgumentException(src + ": model_max_length: expected a non-negative integer, found "
          + kind(v));
    }
    if (d.compareTo(LARGE_INTEGER) > 0) {
      return 0;
    }
    return d.compareTo(BigDecimal.valueOf(Integer.MAX_VALUE)) > 0 ? Integer.MAX_VALUE : d.intValueExact();
  }

  private static boolean present(JsonNode m, String field) {
    return m.has(field) && !m.get(field).isNull();
  }

  /** Newer configs list every added token with flags; refuse behaviour this tokenizer does not implement. */
  private static void checkAddedTokens(String src, JsonNode decoder, TokenizerOptions o) {
    if (decoder == null || decoder.isNull()) {
      return;
    }
    if (!decoder.isObject()) {
      throw new IllegalArgumentException(src + ": added_tokens_decoder: expected an object, found " + kind(decoder));
    }
    List<String> specials = new ArrayList<>(List.of(o.unkToken(), o.sepToken(), o.padToken(), o.clsToken(),
        o.maskToken()));
    specials.addAll(o.additionalSpecialTokens());
    for (var it = decoder.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String field = "added_tokens_decoder." + e.getKey();
      JsonNode t = e.getValue();
      if (!t.isObject() || !t.path("content").isTextual()) {
        throw new IllegalArgumentException(src + ": " + field + ": expected an object with a string 'content', "
            + "found " + kind(t));
      }
      String content = t.get("content").asText();
      if (!specials.contains(content)) {
        throw new IllegalArgumentException(src + ": " + field + ": expected only the special tokens "
            + specials + ", found non-special added token '" + content + "' (not supported)");
      }
      for (String flag : List.of("lstrip", "rstrip", "single_word")) {
        if (t.path(flag).isBoolean() && t.get(flag).asBoolean()) {
          throw new IllegalArgumentException(src + ": " + field + "." + flag + ": expected false, found true "
              + "(added tokens that strip or match single words are not supported)");
        }
      }
    }
  }

  private static boolean bool(String src, String field, JsonNode v) {
    if (v.isBoolean()) {
      return v.asBoolean();
    }
    throw new IllegalArgumentException(src + ": " + field + ": expected true or false, found " + kind(v));
  }

  /** A special token given as a string or as HF's serialised AddedToken {"content": ...}. */
  private static String token(String src, String field, JsonNode v, String fallback) {
    if (v == null || v.isNull()) {
      return fallback;
    }
    if (v.isTextual()) {
      return v.asText();
    }
    if (v.isObject() && v.path("content").isTextual()) {
      return v.get("content").asText();
    }
    throw new IllegalArgumentException(src + ": " + field + ": expected a string or {\"content\": string}, found "
        + kind(v));
  }

  private static List<String> tokenList(String src, String field, JsonNode v) {
    if (!v.isArray()) {
      throw new IllegalArgumentException(src + ": " + field + ": expected a list of tokens, found " + kind(v));
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < v.size(); i++) {
      out.add(token(src, field + "[" + i + "]", v.get(i), null));
    }
    return out;
  }

  private static String kind(JsonNode v) {
    if (v == null || v.isMissingNode()) {
      return "no JSON value (an empty file)";
    }
    if (v.isNull()) {
      return "null";
    }
    if (v.isObject()) {
      return "an object";
    }
    if (v.isArray()) {
      return "a list";
    }
    if (v.isTextual()) {
      return "the string \"" + v.asText() + "\"";
    }
    return (v.isBoolean() ? "boolean " : "number ") + v;
  }
}
