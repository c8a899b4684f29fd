package io.github.tflxmert.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * HF's {@code save_vocabulary} and the slow tokenizer's {@code save_pretrained} (transformers 4.57): the same
 * files with the same bytes ({@link PythonJson}). Stateless; thread-safe (two calls writing one directory at the
 * same time leave whichever wrote last).
 */
final class TokenizerFiles {
  /** HF's VERY_LARGE_INTEGER, int(1e30): what it writes as model_max_length when there is no limit. */
  private static final BigInteger NO_LIMIT = new BigInteger("1000000000000000019884624838656");
  /**
   * Fields of a config read from a directory that HF's save_pretrained does not write back: computed again
   * (added_tokens_decoder, tokenizer_class), or dropped as private or as file names.
   */
  private static final Set<String> NOT_WRITTEN_BACK = Set.of("added_tokens_decoder", "tokenizer_class",
      "name_or_path", "special_tokens_map_file", "tokenizer_file", "device_map", "vocab_file", "init_inputs");
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private TokenizerFiles() {}

  /**
   * {@code save_vocabulary}: one token a line, in id order, UTF-8 with \n. Into {@code dir/[prefix-]vocab.txt} when
   * {@code dir} is a directory; otherwise {@code dir} is taken as the file to write (HF's behaviour), with
   * {@code prefix-} put before its file name.
   */
  static Path saveVocabulary(Vocabulary vocab, Path dir, String prefix) throws IOException {
    String pre = prefix == null || prefix.isEmpty() ? "" : prefix + "-";
    Path file = Files.isDirectory(dir) ? dir.resolve(pre + "vocab.txt")
        : dir.resolveSibling(pre + dir.getFileName());
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null && !Files.isDirectory(parent)) {
      throw new NoSuchFileException(file.toString(), null, "expected an existing directory to write the "
          + "vocabulary into, found " + (Files.exists(parent) ? "a file at " : "no ") + parent);
    }
    StringBuilder b = new StringBuilder(vocab.size() * 8);
    for (int id = 0; id < vocab.size(); id++) {
      b.append(vocab.token(id)).append('\n');
    }
    Files.writeString(file, b, StandardCharsets.UTF_8);
    return file;
  }

  /**
   * {@code save_pretrained}: tokenizer_config.json, special_tokens_map.json, vocab.txt and, when special tokens are
   * missing from the vocabulary, added_tokens.json; the directory is created if needed. {@code source}: the
   * tokenizer_config.json the tokenizer was read from (null for none); its fields this tokenizer does not know
   * are written back, as HF writes back every init kwarg. Returns the files written, in HF's order.
   */
  static List<Path> savePretrained(Path dir, Vocabulary vocab, TokenizerOptions o, AddedTokens added,
      ObjectNode source) throws IOException {
    if (Files.exists(dir) && !Files.isDirectory(dir)) {
      throw new FileAlreadyExistsException(dir.toString(), null, "expected a directory to save the tokenizer "
          + "into, found a file");
    }
    Files.createDirectories(dir);
    List<Path> written = new ArrayList<>();
    Path config = dir.resolve("tokenizer_config.json");
    Files.writeString(config, PythonJson.write(tokenizerConfig(o, added, source), Set.of("added_tokens_decoder")),
        StandardCharsets.UTF_8);
    written.add(config);
    Path map = dir.resolve("special_tokens_map.json");
    Files.writeString(map, PythonJson.write(specialTokensMap(o), Set.of()), StandardCharsets.UTF_8);
    written.add(map);
    written.add(saveVocabulary(vocab, dir, null));
    ObjectNode beyond = NODES.objectNode();
    for (Map.Entry<String, Integer> e : added.asMap().entrySet()) {
      if (e.getValue() >= vocab.size()) {
        beyond.put(e.getKey(), e.getValue());
      }
    }
    if (!beyond.isEmpty()) {
      Path file = dir.resolve("added_tokens.json");
      Files.writeString(file, PythonJson.write(beyond, Set.of()), StandardCharsets.UTF_8);
      written.add(file);
    }
    return written;
  }

  private static ObjectNode tokenizerConfig(TokenizerOptions o, AddedTokens added, ObjectNode source) {
    ObjectNode c = NODES.objectNode();
    if (source != null) {
      source.fields().forEachRemaining(e -> {
        if (!NOT_WRITTEN_BACK.contains(e.getKey())) {
          c.set(e.getKey(), e.getValue().deepCopy());
        }
      });
    }
    c.put("do_lower_case", o.doLowerCase());
    c.put("do_basic_tokenize", o.doBasicTokenize());
    c.put("tokenize_chinese_chars", o.tokenizeChineseChars());
    if (o.stripAccents() == null) {
      c.putNull("strip_accents");
    } else {
      c.put("strip_accents", o.stripAccents());
    }
    c.put("clean_up_tokenization_spaces", o.cleanUpTokenizationSpaces());
    JsonNode sourceNeverSplit = source == null ? null : source.get("never_split");
    if (!o.neverSplit().isEmpty() || (sourceNeverSplit != null && sourceNeverSplit.isArray())) {
      c.set("never_split", strings(o.neverSplit()));
    } else {
      c.putNull("never_split");
    }
    c.set("model_max_length", modelMaxLength(o, source));
    putSpecialTokens(c, o);
    if (source != null && source.has("additional_special_tokens")) {
      c.set("additional_special_tokens", strings(o.additionalSpecialTokens()));
    }
    if (!c.has("extra_special_tokens")) {
      c.set("extra_special_tokens", NODES.objectNode());
    }
    ObjectNode decoder = c.putObject("added_tokens_decoder");
    for (Map.Entry<String, Integer> e : added.asMap().entrySet()) {
      ObjectNode t = decoder.putObject(Integer.toString(e.getValue()));
      t.put("content", e.getKey());
      t.put("lstrip", false);
      t.put("normalized", false);
      t.put("rstrip", false);
      t.put("single_word", false);
      t.put("special", true);
    }
    c.put("tokenizer_class", "LxmertTokenizer");
    return c;
  }

  /** The number as read when it means the options' value (HF keeps e.g. 1e+30 as written), else the options'. */
  private static JsonNode modelMaxLength(TokenizerOptions o, ObjectNode source) {
    JsonNode v = source == null ? null : source.get("model_max_length");
    if (v != null && v.isNumber() && TokenizerConfig.modelMaxLength("", v) == o.modelMaxLength()) {
      return v;
    }
    return o.modelMaxLength() == 0 ? NODES.numberNode(NO_LIMIT) : NODES.numberNode(o.modelMaxLength());
  }

  /** HF's {@code special_tokens_map}: the five tokens, and additional ones when there are any. */
  private static ObjectNode specialTokensMap(TokenizerOptions o) {
    return putSpecialTokens(NODES.objectNode(), o);
  }

  private static ObjectNode putSpecialTokens(ObjectNode c, TokenizerOptions o) {
    c.put("unk_token", o.unkToken());
    c.put("sep_token", o.sepToken());
    c.put("pad_token", o.padToken());
    c.put("cls_token", o.clsToken());
    c.put("mask_token", o.maskToken());
    if (!o.additionalSpecialTokens().isEmpty()) {
      c.set("additional_special_tokens", strings(o.additionalSpecialTokens()));
    }
    return c;
  }

  private static ArrayNode strings(List<String> values) {
    ArrayNode a = NODES.arrayNode();
    values.forEach(a::add);
    return a;
  }
}
