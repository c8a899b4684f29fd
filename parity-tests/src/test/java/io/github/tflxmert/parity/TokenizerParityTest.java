package io.github.tflxmert.parity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.tflxmert.tokenizer.BatchEncoding;
import io.github.tflxmert.tokenizer.EncodeOptions;
import io.github.tflxmert.tokenizer.Encoding;
import io.github.tflxmert.tokenizer.LxmertTokenizer;
import io.github.tflxmert.tokenizer.Padding;
import io.github.tflxmert.tokenizer.TokenizerOptions;
import io.github.tflxmert.tokenizer.Truncation;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java tokenizer against Hugging Face's slow {@code LxmertTokenizer} on the committed hostile corpus
 * ({@code fixtures/tokenizer}, written by {@code python/export_tokenizer_reference.py}): tokens, ids, type ids and
 * masks must be identical on every string of every configuration, batch and decode case. Offsets are compared with
 * the fast tokenizer's (the slow one has none) on strings of plain text, where both tokenizers' normalisers agree
 * character by character; the agreement on the rest is printed. HF's special-token helpers
 * ({@code build_inputs_with_special_tokens}, {@code get_special_tokens_mask}, {@code create_token_type_ids_from_
 * sequences}) must give the same lists, and {@code save_pretrained} / {@code save_vocabulary} the same files, byte
 * for byte.
 */
class TokenizerParityTest {
  private static final Path DIR = References.root().resolve("tokenizer");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int SHOWN = 5;

  @TempDir
  Path tmp;

  @TestFactory
  Stream<DynamicTest> everyConfiguration() throws IOException {
    JsonNode manifest = JSON.readTree(DIR.resolve("manifest.json").toFile());
    Map<Integer, JsonNode> corpus = new HashMap<>();
    for (JsonNode e : readGz(DIR.resolve("corpus.jsonl.gz"))) {
      corpus.put(e.get("i").asInt(), e);
    }
    assertTrue(corpus.size() >= 5000, "corpus: expected at least 5000 strings, found " + corpus.size());
    List<DynamicTest> tests = new ArrayList<>();
    manifest.get("configs").fields().forEachRemaining(c -> {
      String name = c.getKey();
      JsonNode cfg = c.getValue();
      tests.add(DynamicTest.dynamicTest(name + ": encode", () -> checkCases(name, cfg, corpus)));
      tests.add(DynamicTest.dynamicTest(name + ": batch", () -> checkBatches(name, cfg)));
      tests.add(DynamicTest.dynamicTest(name + ": decode", () -> checkDecodes(name, cfg)));
    });
    return tests.stream();
  }

  @Test
  void specialTokenHelpers() throws IOException {
    JsonNode manifest = JSON.readTree(DIR.resolve("manifest.json").toFile());
    Map<String, LxmertTokenizer> tokenizers = new HashMap<>();
    Map<String, Integer> counts = new HashMap<>();
    for (JsonNode c : readGz(DIR.resolve("methods.jsonl.gz"))) {
      String name = c.get("config").asText();
      LxmertTokenizer tok = tokenizers.get(name);
      if (tok == null) {
        tok = tokenizer(manifest.get("configs").get(name));
        tokenizers.put(name, tok);
      }
      counts.merge(name, 1, Integer::sum);
      int[] ids0 = ints(c.get("ids0"));
      int[] ids1 = c.get("ids1").isNull() ? null : ints(c.get("ids1"));
      String where = name + " ids0=" + Arrays.toString(ids0) + " ids1=" + Arrays.toString(ids1) + ": ";
      assertArrayEquals(ints(c.get("build_inputs_with_special_tokens")), ids1 == null
          ? tok.buildInputsWithSpecialTokens(ids0) : tok.buildInputsWithSpecialTokens(ids0, ids1),
          where + "build_inputs_with_special_tokens");
      assertArrayEquals(ints(c.get("get_special_tokens_mask")), tok.getSpecialTokensMask(ids0, ids1, false),
          where + "get_special_tokens_mask");
      assertArrayEquals(ints(c.get("get_special_tokens_mask_already")), tok.getSpecialTokensMask(ids0, null, true),
          where + "get_special_tokens_mask(already_has_special_tokens=True)");
      assertArrayEquals(ints(c.get("create_token_type_ids_from_sequences")), ids1 == null
          ? tok.createTokenTypeIdsFromSequences(ids0) : tok.createTokenTypeIdsFromSequences(ids0, ids1),
          where + "create_token_type_ids_from_sequences");
      if (ids1 != null) {
        LxmertTokenizer t = tok;
        assertThrows(IllegalArgumentException.class, () -> t.getSpecialTokensMask(ids0, ids1, true),
            where + "HF raises ValueError for a pair that already has special tokens");
      }
    }
    Map<String, Integer> expected = new HashMap<>();
    manifest.get("method_cases").fields().forEachRemaining(e -> expected.put(e.getKey(), e.getValue().asInt()));
    assertEquals(expected, counts, "methods.jsonl.gz: cases per config read vs manifest.json method_cases");
    assertTrue(counts.values().stream().allMatch(n -> n > 0), "expected method cases for every config: " + counts);
  }

  @TestFactory
  Stream<DynamicTest> savePretrained() throws IOException {
    JsonNode cases = JSON.readTree(DIR.resolve("save_pretrained.json").toFile());
    JsonNode manifest = JSON.readTree(DIR.resolve("manifest.json").toFile());
    List<String> names = new ArrayList<>();
    cases.fieldNames().forEachRemaining(names::add);
    assertEquals(strings(manifest.get("save_cases")), names.stream().sorted().toList(),
        "save_pretrained.json: cases vs manifest.json save_cases");
    return names.stream().map(name -> DynamicTest.dynamicTest(name, () -> checkSave(name, cases.get(name))));
  }

  private void checkSave(String name, JsonNode c) throws IOException {
    LxmertTokenizer tok = c.get("kwargs").isNull() ? LxmertTokenizer.fromDirectory(DIR.resolve("save-input"))
        : LxmertTokenizer.fromVocab(DIR.resolve(c.get("vocab").asText()), options(c.get("kwargs")));
    Path dir = tmp.resolve(name).resolve("saved");
    List<Path> written = tok.savePretrained(dir);
    assertEquals(strings(c.get("written")), written.stream().map(p -> p.getFileName().toString()).toList(),
        name + ": files save_pretrained wrote, in order");
    List<String> onDisk;
    try (Stream<Path> files = Files.list(dir)) {
      onDisk = files.map(p -> p.getFileName().toString()).sorted().toList();
    }
    List<String> expectedFiles = new ArrayList<>();
    c.get("files").fieldNames().forEachRemaining(expectedFiles::add);
    assertEquals(expectedFiles.stream().sorted().toList(), onDisk, name + ": files in the saved directory");
    for (String file : expectedFiles) {
      checkFile(name, dir.resolve(file), c.get("files").get(file));
    }
    Path vocabDir = Files.createDirectories(tmp.resolve(name).resolve("vocab"));
    Path vocab = tok.saveVocabulary(vocabDir, c.get("save_vocabulary_prefix").asText());
    var prefixed = c.get("save_vocabulary").fields().next();
    assertEquals(vocabDir.resolve(prefixed.getKey()), vocab, name + ": save_vocabulary's file");
    checkFile(name, vocab, prefixed.getValue());
  }

  /** A JSON file as its exact text; a vocabulary as its sha256 and size. */
  private static void checkFile(String name, Path file, JsonNode expected) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    if (expected.isTextual()) {
      assertEquals(expected.asText(), new String(bytes, StandardCharsets.UTF_8), name + ": " + file.getFileName());
      return;
    }
    assertEquals(expected.get("bytes").asInt(), bytes.length, name + ": size of " + file.getFileName());
    try {
      assertEquals(expected.get("sha256").asText(),
          HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)),
          name + ": sha256 of " + file.getFileName());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JDK", e);
    }
  }

  /** The options of HF {@code LxmertTokenizer(vocab, **kwargs)}; a kwarg this test does not know fails it. */
  private static TokenizerOptions options(JsonNode kwargs) {
    TokenizerOptions o = TokenizerOptions.defaults();
    String unk = o.unkToken();
    String sep = o.sepToken();
    String pad = o.padToken();
    String cls = o.clsToken();
    String mask = o.maskToken();
    List<String> additional = o.additionalSpecialTokens();
    for (var it = kwargs.fields(); it.hasNext(); ) {
      var e = it.next();
      JsonNode v = e.getValue();
      switch (e.getKey()) {
        case "do_lower_case" -> o = o.withDoLowerCase(v.asBoolean());
        case "strip_accents" -> o = o.withStripAccents(v.isNull() ? null : v.asBoolean());
        case "tokenize_chinese_chars" -> o = o.withTokenizeChineseChars(v.asBoolean());
        case "do_basic_tokenize" -> o = o.withDoBasicTokenize(v.asBoolean());
        case "never_split" -> o = o.withNeverSplit(strings(v));
        case "model_max_length" -> o = o.withModelMaxLength(v.asInt());
        case "clean_up_tokenization_spaces" -> o = o.withCleanUpTokenizationSpaces(v.asBoolean());
        case "unk_token" -> unk = v.asText();
        case "sep_token" -> sep = v.asText();
        case "pad_token" -> pad = v.asText();
        case "cls_token" -> cls = v.asText();
        case "mask_token" -> mask = v.asText();
        case "additional_special_tokens" -> additional = strings(v);
        default -> fail("save_pretrained.json: kwarg '" + e.getKey() + "' is not mapped to TokenizerOptions");
      }
    }
    return o.withSpecialTokens(unk, sep, pad, cls, mask, additional);
  }

  static LxmertTokenizer tokenizer(JsonNode cfg) throws IOException {
    JsonNode o = cfg.get("options");
    TokenizerOptions options = TokenizerOptions.defaults()
        .withDoLowerCase(o.get("do_lower_case").asBoolean())
        .withStripAccents(o.get("strip_accents").isNull() ? null : o.get("strip_accents").asBoolean())
        .withTokenizeChineseChars(o.get("tokenize_chinese_chars").asBoolean())
        .withModelMaxLength(o.get("model_max_length").isNull() ? 0 : o.get("model_max_length").asInt());
    return LxmertTokenizer.fromVocab(DIR.resolve(cfg.get("vocab").asText()), options);
  }

  private static void checkCases(String name, JsonNode cfg, Map<Integer, JsonNode> corpus) throws IOException {
    LxmertTokenizer tok = tokenizer(cfg);
    List<String> failures = new ArrayList<>();
    int cases = 0;
    int plain = 0;
    int offsetsCompared = 0;
    int offsetsEqual = 0;
    List<String> plainFailures = new ArrayList<>();
    for (JsonNode rec : readGz(DIR.resolve("cases-" + name + ".jsonl.gz"))) {
      cases++;
      JsonNode entry = corpus.get(rec.get("i").asInt());
      String text = entry.get("text").asText();
      String pair = entry.has("pair") ? entry.get("pair").asText() : null;
      List<String> tokens = tok.tokenize(text);
      List<String> pairTokens = pair == null ? null : tok.tokenize(pair);
      Encoding enc = pair == null ? tok.encode(text) : tok.encode(text, pair);
      String diff = firstDiff(
          "tokens", strings(rec.get("tokens")), tokens,
          "pair_tokens", pair == null ? null : strings(rec.get("pair_tokens")), pairTokens,
          "ids", ints(rec.get("ids")), enc.inputIds(),
          "type_ids", ints(rec.get("type_ids")), enc.tokenTypeIds(),
          "mask", ints(rec.get("mask")), enc.attentionMask());
      if (diff != null) {
        failures.add(describe(text, pair) + "\n    " + diff);
        continue;
      }
      if (rec.has("offsets")) {
        int[] expected = flatten(rec.get("offsets"));
        int[] actual = enc.codePointOffsets(text, pair);
        offsetsCompared++;
        boolean same = Arrays.equals(expected, actual);
        if (same) {
          offsetsEqual++;
        }
        if (isPlain(text) && (pair == null || isPlain(pair))) {
          plain++;
          if (!same) {
            plainFailures.add(describe(text, pair) + "\n    offsets java " + Arrays.toString(actual) + "\n    "
                + "offsets fast " + Arrays.toString(expected));
          }
        }
      }
    }
    System.out.printf("tokenizer parity %s: %d strings, %d identical to the slow tokenizer; offsets equal to the "
            + "fast tokenizer's on %d of %d compared (%d plain-text strings, all must match)%n", name, cases,
        cases - failures.size(), offsetsEqual, offsetsCompared, plain);
    if (!failures.isEmpty()) {
      fail(name + ": " + failures.size() + " of " + cases + " strings differ from HF's slow LxmertTokenizer; first "
          + Math.min(SHOWN, failures.size()) + ":\n  " + String.join("\n  ", failures.subList(0,
          Math.min(SHOWN, failures.size()))));
    }
    if (!plainFailures.isEmpty()) {
      fail(name + ": offsets differ from the fast tokenizer on " + plainFailures.size() + " plain-text strings; "
          + "first:\n  " + String.join("\n  ", plainFailures.subList(0, Math.min(SHOWN, plainFailures.size()))));
    }
    assertTrue(plain > 0, name + ": expected some plain-text strings to compare offsets on, found none");
    assertEquals(cfg.get("cases").asInt(), cases, name + ": cases read vs manifest.json cases");
  }

  /**
   * Text where the slow and fast normalisers cannot differ: printable ASCII and spaces only (no accents, no
   * characters whose Unicode category changed between the Unicode versions of Python and of the Rust crates).
   */
  private static boolean isPlain(String s) {
    return s.chars().allMatch(c -> c == ' ' || (c >= 0x21 && c <= 0x7E));
  }

  private static void checkBatches(String name, JsonNode cfg) throws IOException {
    LxmertTokenizer tok = tokenizer(cfg);
    int n = 0;
    for (JsonNode c : readGz(DIR.resolve("batch-" + name + ".jsonl.gz"))) {
      n++;
      List<String> texts = strings(c.get("texts"));
      List<String> pairs = c.has("pairs") ? strings(c.get("pairs")) : null;
      JsonNode p = c.get("padding");
      Padding padding = p.isBoolean() ? (p.asBoolean() ? Padding.LONGEST : Padding.NONE)
          : p.asText().equals("longest") ? Padding.LONGEST : Padding.MAX_LENGTH;
      JsonNode t = c.get("truncation");
      Truncation truncation = t.isBoolean() ? (t.asBoolean() ? Truncation.LONGEST_FIRST : Truncation.NONE)
          : Truncation.valueOf(t.asText().toUpperCase(java.util.Locale.ROOT));
      int maxLength = c.get("max_length").isNull() ? 0 : c.get("max_length").asInt();
      BatchEncoding b = tok.encodeBatch(texts, pairs, new EncodeOptions(padding, truncation, maxLength));
      String where = name + " batch '" + c.get("name").asText() + "'";
      assertEquals(rows(c.get("ids")), rows(b.inputIdRows()), where + ": input_ids");
      assertEquals(rows(c.get("type_ids")), rows(b.tokenTypeIdRows()), where + ": token_type_ids");
      assertEquals(rows(c.get("mask")), rows(b.attentionMaskRows()), where + ": attention_mask");
    }
    assertEquals(cfg.get("batch_cases").asInt(), n, name + ": batch cases read vs manifest.json batch_cases");
    assertTrue(n > 0, name + ": expected batch cases, found none");
  }

  private static void checkDecodes(String name, JsonNode cfg) throws IOException {
    LxmertTokenizer tok = tokenizer(cfg);
    List<String> failures = new ArrayList<>();
    int n = 0;
    for (JsonNode c : readGz(DIR.resolve("decode-" + name + ".jsonl.gz"))) {
      n++;
      int[] ids = ints(c.get("ids"));
      boolean skip = c.get("skip_special_tokens").asBoolean();
      boolean clean = c.get("clean_up_tokenization_spaces").asBoolean();
      String expected = c.get("text").asText();
      String actual = tok.decode(ids, skip, clean);
      if (!expected.equals(actual)) {
        failures.add(Arrays.toString(ids) + " skip=" + skip + " clean=" + clean + "\n    python " + show(expected)
            + "\n    java   " + show(actual));
      }
    }
    if (!failures.isEmpty()) {
      fail(name + ": " + failures.size() + " of " + n + " decodes differ; first:\n  "
          + String.join("\n  ", failures.subList(0, Math.min(SHOWN, failures.size()))));
    }
    assertEquals(cfg.get("decode_cases").asInt(), n, name + ": decode cases read vs manifest.json decode_cases");
    assertTrue(n > 0, name + ": expected decode cases, found none");
  }

  // ------------------------------------------------------------------------------------------------------------

  private static String firstDiff(Object... triples) {
    for (int k = 0; k < triples.length; k += 3) {
      Object expected = triples[k + 1];
      Object actual = triples[k + 2];
      if (expected instanceof int[] e) {
        if (!Arrays.equals(e, (int[]) actual)) {
          return triples[k] + ": python " + Arrays.toString(e) + "\n    " + triples[k] + ": java   "
              + Arrays.toString((int[]) actual);
        }
      } else if (expected != null && !expected.equals(actual)) {
        return triples[k] + ": python " + expected + "\n    " + triples[k] + ": java   " + actual;
      }
    }
    return null;
  }

  private static String describe(String text, String pair) {
    return show(text) + (pair == null ? "" : " + pair " + show(pair));
  }

  /** A string with its code points, so invisible and look-alike characters can be told apart. */
  private static String show(String s) {
    StringBuilder b = new StringBuilder("\"");
    s.codePoints().limit(60).forEach(cp -> b.append(cp >= 0x20 && cp < 0x7F ? Character.toString(cp)
        : String.format("\\u{%X}", cp)));
    if (s.codePointCount(0, s.length()) > 60) {
      b.append("…");
    }
    b.append("\" [");
    s.codePoints().limit(24).forEach(cp -> b.append(String.format("U+%04X ", cp)));
    return b.toString().trim() + "]";
  }

  private static List<JsonNode> readGz(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      fail(file.toAbsolutePath() + ": expected a tokenizer reference file, found none (regenerate with "
          + "python/export_tokenizer_reference.py)");
    }
    List<JsonNode> out = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(
        new GZIPInputStream(Files.newInputStream(file)), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        out.add(JSON.readTree(line));
      }
    }
    return out;
  }

  private static List<String> strings(JsonNode a) {
    List<String> out = new ArrayList<>();
    a.forEach(x -> out.add(x.asText()));
    return out;
  }

  private static int[] ints(JsonNode a) {
    int[] out = new int[a.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = a.get(i).asInt();
    }
    return out;
  }

  private static int[] flatten(JsonNode pairs) {
    int[] out = new int[pairs.size() * 2];
    for (int i = 0; i < pairs.size(); i++) {
      out[2 * i] = pairs.get(i).get(0).asInt();
      out[2 * i + 1] = pairs.get(i).get(1).asInt();
    }
    return out;
  }

  private static List<List<Integer>> rows(JsonNode m) {
    List<List<Integer>> out = new ArrayList<>();
    m.forEach(r -> out.add(Arrays.stream(ints(r)).boxed().toList()));
    return out;
  }

  private static List<List<Integer>> rows(int[][] m) {
    return Arrays.stream(m).map(r -> Arrays.stream(r).boxed().toList()).toList();
  }
}
