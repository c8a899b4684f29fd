package io.github.tflxmert.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Reads the fields of a Hugging Face {@code tokenizer_config.json} that change what {@code LxmertTokenizer} does.
 * Unknown fields are ignored (HF writes many: {@code name_or_path}, {@code tokenizer_class}...); a known field with
 * the wrong type, or an added token the Java tokenizer cannot honour, is an error naming the file and field.
 */
final class TokenizerConfig {
  private TokenizerConfig() {}

  static TokenizerOptions read(Path file, TokenizerOptions base) throws IOException {
    String src = file.toString();
    Object root = MiniJson.parse(Files.readString(file, StandardCharsets.UTF_8), src);
    if (!(root instanceof Map<?, ?> m)) {
      throw new IllegalArgumentException(src + ": expected a JSON object, found " + kind(root));
    }
    TokenizerOptions o = base;
    if (m.containsKey("do_lower_case")) {
      o = o.withDoLowerCase(bool(src, "do_lower_case", m.get("do_lower_case")));
    }
    if (m.containsKey("strip_accents")) {
      Object v = m.get("strip_accents");
      o = o.withStripAccents(v == null ? null : bool(src, "strip_accents", v));
    }
    if (m.containsKey("tokenize_chinese_chars")) {
      o = o.withTokenizeChineseChars(bool(src, "tokenize_chinese_chars", m.get("tokenize_chinese_chars")));
    }
    if (m.containsKey("do_basic_tokenize")) {
      o = o.withDoBasicTokenize(bool(src, "do_basic_tokenize", m.get("do_basic_tokenize")));
    }
    if (m.containsKey("clean_up_tokenization_spaces")) {
      o = o.withCleanUpTokenizationSpaces(
          bool(src, "clean_up_tokenization_spaces", m.get("clean_up_tokenization_spaces")));
    }
    if (m.get("never_split") != null) {
      o = o.withNeverSplit(tokenList(src, "never_split", m.get("never_split")));
    }
    if (m.get("model_max_length") != null) {
      Object v = m.get("model_max_length");
      if (!(v instanceof Double d) || d < 0 || d != Math.floor(d)) {
        throw new IllegalArgumentException(src + ": model_max_length: expected a non-negative integer, found "
            + kind(v));
      }
      // HF writes int(1e30) for "no limit"; anything above LARGE_INTEGER (1e20) means the same.
      o = o.withModelMaxLength(d > 1e20 ? 0 : (int) Math.min(Integer.MAX_VALUE, d));
    }
    String unk = token(src, "unk_token", m.get("unk_token"), o.unkToken());
    String sep = token(src, "sep_token", m.get("sep_token"), o.sepToken());
    String pad = token(src, "pad_token", m.get("pad_token"), o.padToken());
    String cls = token(src, "cls_token", m.get("cls_token"), o.clsToken());
    String mask = token(src, "mask_token", m.get("mask_token"), o.maskToken());
    List<String> additional = m.get("additional_special_tokens") == null ? o.additionalSpecialTokens()
        : tokenList(src, "additional_special_tokens", m.get("additional_special_tokens"));
    o = o.withSpecialTokens(unk, sep, pad, cls, mask, additional);
    checkAddedTokens(src, m.get("added_tokens_decoder"), o);
    return o;
  }

  /** Newer configs list every added token with flags; refuse behaviour this tokenizer does not implement. */
  private static void checkAddedTokens(String src, Object decoder, TokenizerOptions o) {
    if (decoder == null) {
      return;
    }
    if (!(decoder instanceof Map<?, ?> entries)) {
      throw new IllegalArgumentException(src + ": added_tokens_decoder: expected an object, found " + kind(decoder));
    }
    List<String> specials = new ArrayList<>(List.of(o.unkToken(), o.sepToken(), o.padToken(), o.clsToken(),
        o.maskToken()));
    specials.addAll(o.additionalSpecialTokens());
    for (var e : entries.entrySet()) {
      String field = "added_tokens_decoder." + e.getKey();
      if (!(e.getValue() instanceof Map<?, ?> t) || !(t.get("content") instanceof String content)) {
        throw new IllegalArgumentException(src + ": " + field + ": expected an object with a string 'content', "
            + "found " + kind(e.getValue()));
      }
      if (!specials.contains(content)) {
        throw new IllegalArgumentException(src + ": " + field + ": expected only the special tokens "
            + specials + ", found non-special added token '" + content + "' (not supported)");
      }
      for (String flag : List.of("lstrip", "rstrip", "single_word")) {
        if (Boolean.TRUE.equals(t.get(flag))) {
          throw new IllegalArgumentException(src + ": " + field + "." + flag + ": expected false, found true "
              + "(added tokens that strip or match single words are not supported)");
        }
      }
    }
  }

  private static boolean bool(String src, String field, Object v) {
    if (v instanceof Boolean b) {
      return b;
    }
    throw new IllegalArgumentException(src + ": " + field + ": expected true or false, found " + kind(v));
  }

  /** A special token given as a string or as HF's serialised AddedToken {"content": ...}. */
  private static String token(String src, String field, Object v, String fallback) {
    if (v == null) {
      return fallback;
    }
    if (v instanceof String s) {
      return s;
    }
    if (v instanceof Map<?, ?> t && t.get("content") instanceof String s) {
      return s;
    }
    throw new IllegalArgumentException(src + ": " + field + ": expected a string or {\"content\": string}, found "
        + kind(v));
  }

  private static List<String> tokenList(String src, String field, Object v) {
    if (!(v instanceof List<?> list)) {
      throw new IllegalArgumentException(src + ": " + field + ": expected a list of tokens, found " + kind(v));
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      out.add(token(src, field + "[" + i + "]", list.get(i), null));
    }
    return out;
  }

  private static String kind(Object v) {
    if (v == null) {
      return "null";
    }
    if (v instanceof Map) {
      return "an object";
    }
    if (v instanceof List) {
      return "a list";
    }
    if (v instanceof String s) {
      return "the string \"" + s + "\"";
    }
    return v.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT) + " " + v;
  }
}
