package io.github.tflxmert.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.array.IntArray;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Unit tests on the spec's tiny vocabulary (tests/models/lxmert/test_tokenization_lxmert.py). */
class TokenizerTest {
  static final List<String> TINY = List.of("[UNK]", "[CLS]", "[SEP]", "want", "##want", "##ed", "wa", "un", "runn",
      "##ing", ",", "low", "lowest");

  @TempDir
  Path tmp;

  static LxmertTokenizer tiny() {
    return LxmertTokenizer.fromTokens(TINY, TokenizerOptions.defaults());
  }

  @Test
  void specExample() {
    LxmertTokenizer t = tiny();
    assertEquals(List.of("un", "##want", "##ed", ",", "runn", "##ing"), t.tokenize("UNwant\u00E9d,running"));
    assertArrayEquals(new int[] {7, 4, 5, 10, 8, 9}, t.tokenizeToIds("UNwant\u00E9d,running"));
    Encoding e = t.encode("UNwant\u00E9d,running");
    assertArrayEquals(new int[] {1, 7, 4, 5, 10, 8, 9, 2}, e.inputIds());
    assertEquals("unwanted, running", t.decode(new int[] {7, 4, 5, 10, 8, 9}));
    // Offsets are UTF-16 indices into the input: "un" = [0,2), "##want" = [2,6), "##ed" = [6,8) ("é" is one char).
    assertArrayEquals(new int[] {0, 0, 0, 2, 2, 6, 6, 8, 8, 9, 9, 13, 13, 16, 0, 0}, e.offsets());
  }

  @Test
  void missingSpecialTokensGetIdsAfterTheVocabularyAsInHf() {
    LxmertTokenizer t = tiny();
    assertEquals(13, t.padTokenId());
    assertEquals(14, t.maskTokenId());
    assertEquals(15, t.size());
    assertArrayEquals(new int[] {1, 14, 13, 3, 2}, t.encode("[MASK] [PAD] want").inputIds());
    assertEquals("[UNK] [CLS] [PAD] [MASK] wantwant", t.decode(new int[] {0, 1, 13, 14, 3, 4}));
    assertEquals("wantwant", t.decode(new int[] {0, 1, 13, 14, 3, 4}, true, true));
  }

  @Test
  void pairsPaddingAndTruncation() {
    LxmertTokenizer t = tiny();
    Encoding e = t.encode("want", "low lowest");
    assertArrayEquals(new int[] {1, 3, 2, 11, 12, 2}, e.inputIds());
    assertArrayEquals(new int[] {0, 0, 0, 1, 1, 1}, e.tokenTypeIds());
    // No pair is one sequence, as HF's tokenizer(text, None) (`lxmert tokenize --text` without --pair).
    Encoding single = t.encode("want", null);
    assertArrayEquals(t.encode("want").inputIds(), single.inputIds());
    assertArrayEquals(t.encode("want").offsets(), single.offsets());
    assertEquals(List.of("[CLS]", "want", "[SEP]"), single.tokens());
    IllegalArgumentException noText = assertThrows(IllegalArgumentException.class, () -> t.encode(null));
    assertTrue(noText.getMessage().contains("text"), noText.getMessage());
    BatchEncoding b = t.encodeBatch(List.of("want", "want want want"),
        new EncodeOptions(Padding.LONGEST, Truncation.NONE, 0));
    assertEquals(new IntArray(new long[] {2, 5}, new int[] {1, 3, 2, 13, 13, 1, 3, 3, 3, 2}), b.inputIds());
    assertEquals(new IntArray(new long[] {2, 5}, new int[] {1, 1, 1, 0, 0, 1, 1, 1, 1, 1}), b.attentionMask());
    BatchEncoding cut = t.encodeBatch(List.of("want want want"), List.of("low low"),
        new EncodeOptions(Padding.MAX_LENGTH, Truncation.LONGEST_FIRST, 6));
    assertEquals(1, cut.batchSize());
    assertArrayEquals(new int[] {1, 3, 3, 2, 11, 2}, cut.inputIdRows()[0]);
    assertArrayEquals(new int[] {0, 0, 0, 0, 1, 1}, cut.tokenTypeIdRows()[0]);
    assertArrayEquals(new int[] {1, 1, 1, 1, 1, 1}, cut.attentionMaskRows()[0]);
    BatchEncoding ragged = t.encodeBatch(List.of("want", "want want"), EncodeOptions.NONE);
    IllegalStateException ex = assertThrows(IllegalStateException.class, ragged::inputIds);
    assertTrue(ex.getMessage().contains("[3, 4]"), ex.getMessage());
  }

  @Test
  void hostileCharacters() {
    LxmertTokenizer t = tiny();
    // Control and zero-width characters vanish; U+3000 and U+2028 separate words; İ lower-cases to i + U+0307.
    assertEquals(List.of("want", "want"), t.tokenize("wa\u200Bnt\u3000want"));
    assertEquals(List.of("low", "low"), t.tokenize("low\u2028low"));
    assertEquals(List.of("[UNK]"), t.tokenize("x".repeat(101)));
    assertEquals(List.of(), t.tokenize(" \t\n\u00A0"));
    assertEquals(List.of("[UNK]", "[UNK]"), t.tokenize("\uD83E\uDEE0 \uD83D\uDE00"));
    assertEquals(List.of("[CLS]", "want", "[SEP]"), t.tokenize("[CLS]want[SEP]"));
    assertEquals(List.of("[UNK]", "[UNK]", "[UNK]"), t.tokenize("[mask]"));
  }

  @Test
  void readsDirectoryWithConfig() throws IOException {
    Files.write(tmp.resolve("vocab.txt"), TINY, StandardCharsets.UTF_8);
    Files.writeString(tmp.resolve("tokenizer_config.json"),
        "{\"do_lower_case\": false, \"model_max_length\": 7, \"mask_token\": {\"content\": \"[MASK]\"}}");
    LxmertTokenizer t = LxmertTokenizer.fromDirectory(tmp);
    // Cased: "UNwanted" has no vocabulary prefix ("un" is lower case), so the whole word is one [UNK].
    assertEquals(List.of("[UNK]"), t.tokenize("UNwanted"));
    assertEquals(List.of("un", "##want", "##ed"), t.tokenize("unwanted"));
    assertEquals(7, t.options().modelMaxLength());
    BatchEncoding padded = t.encodeBatch(List.of("want"), new EncodeOptions(Padding.MAX_LENGTH, Truncation.NONE, 0));
    assertEquals(new IntArray(new long[] {1, 7}, new int[] {1, 3, 2, 13, 13, 13, 13}), padded.inputIds());
    assertEquals(new IntArray(new long[] {1, 7}, new int[] {1, 1, 1, 0, 0, 0, 0}), padded.attentionMask());
  }

  @Test
  void clearErrors() throws IOException {
    NoSuchFileException missing = assertThrows(NoSuchFileException.class, () -> LxmertTokenizer.fromDirectory(tmp));
    assertTrue(missing.getMessage().contains("vocab.txt"), missing.getMessage());
    Files.write(tmp.resolve("vocab.txt"), List.of("[CLS]", "[SEP]", "hello"), StandardCharsets.UTF_8);
    IllegalArgumentException noUnk = assertThrows(IllegalArgumentException.class,
        () -> LxmertTokenizer.fromDirectory(tmp));
    assertTrue(noUnk.getMessage().contains("vocab.txt") && noUnk.getMessage().contains("[UNK]"), noUnk.getMessage());
    Files.write(tmp.resolve("vocab.txt"), List.of("[UNK]", "a", "a"), StandardCharsets.UTF_8);
    IllegalArgumentException dup = assertThrows(IllegalArgumentException.class,
        () -> LxmertTokenizer.fromDirectory(tmp));
    assertTrue(dup.getMessage().contains("lines 2 and 3"), dup.getMessage());
    Files.write(tmp.resolve("vocab.txt"), TINY, StandardCharsets.UTF_8);
    Files.writeString(tmp.resolve("tokenizer_config.json"), "{\"do_lower_case\": \"yes\"}");
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
        () -> LxmertTokenizer.fromDirectory(tmp));
    assertTrue(bad.getMessage().contains("tokenizer_config.json") && bad.getMessage().contains("do_lower_case")
        && bad.getMessage().contains("\"yes\""), bad.getMessage());
    Files.writeString(tmp.resolve("tokenizer_config.json"), "{\"do_lower_case\": tru}");
    IllegalArgumentException json = assertThrows(IllegalArgumentException.class,
        () -> LxmertTokenizer.fromDirectory(tmp));
    assertTrue(json.getMessage().contains("tokenizer_config.json") && json.getMessage().contains("invalid JSON")
        && json.getMessage().contains("line 1"), json.getMessage());
    Files.writeString(tmp.resolve("tokenizer_config.json"), "");
    IllegalArgumentException empty = assertThrows(IllegalArgumentException.class,
        () -> LxmertTokenizer.fromDirectory(tmp));
    assertTrue(empty.getMessage().contains("tokenizer_config.json") && empty.getMessage().contains("empty file"),
        empty.getMessage());
    Files.writeString(tmp.resolve("tokenizer_config.json"), "{\"model_max_length\": 1.5}");
    IllegalArgumentException length = assertThrows(IllegalArgumentException.class,
        () -> LxmertTokenizer.fromDirectory(tmp));
    assertTrue(length.getMessage().contains("model_max_length") && length.getMessage().contains("1.5"),
        length.getMessage());
    Files.write(tmp.resolve("vocab.txt"), new byte[] {'[', 'U', 'N', 'K', ']', '\n', (byte) 0xC3});
    IOException utf8 = assertThrows(IOException.class, () -> LxmertTokenizer.fromVocab(tmp.resolve("vocab.txt"),
        TokenizerOptions.defaults()));
    assertTrue(utf8.getMessage().contains("UTF-8"), utf8.getMessage());
  }

  @Test
  void specialTokenHelpers() {
    LxmertTokenizer t = tiny();
    assertArrayEquals(new int[] {1, 7, 4, 2}, t.buildInputsWithSpecialTokens(new int[] {7, 4}));
    assertArrayEquals(new int[] {1, 7, 4, 2, 11, 2}, t.buildInputsWithSpecialTokens(new int[] {7, 4}, new int[] {11}));
    assertArrayEquals(new int[] {1, 0, 0, 1}, t.getSpecialTokensMask(new int[] {7, 4}, null, false));
    assertArrayEquals(new int[] {1, 0, 0, 1, 0, 1}, t.getSpecialTokensMask(new int[] {7, 4}, new int[] {11}, false));
    // Already formatted: every special id counts, wherever it is ([UNK]=0 and the added [PAD]=13 included).
    assertArrayEquals(new int[] {1, 0, 1, 1, 0, 1}, t.getSpecialTokensMask(new int[] {1, 7, 0, 13, 99, 2}, null,
        true));
    IllegalArgumentException two = assertThrows(IllegalArgumentException.class,
        () -> t.getSpecialTokensMask(new int[] {1, 2}, new int[] {3}, true));
    assertTrue(two.getMessage().contains("alreadyHasSpecialTokens"), two.getMessage());
    assertArrayEquals(new int[] {0, 0, 0}, t.createTokenTypeIdsFromSequences(new int[] {7}));
    assertArrayEquals(new int[] {0, 0, 0, 1, 1, 1}, t.createTokenTypeIdsFromSequences(new int[] {7}, new int[] {8, 9}));
    assertArrayEquals(t.encode("want", "low lowest").tokenTypeIds(),
        t.createTokenTypeIdsFromSequences(t.tokenizeToIds("want"), t.tokenizeToIds("low lowest")));
  }

  @Test
  void savesWhatItReads() throws IOException {
    LxmertTokenizer t = LxmertTokenizer.fromTokens(TINY, TokenizerOptions.defaults().withDoLowerCase(false)
        .withModelMaxLength(9).withNeverSplit(List.of("[X]")));
    Path dir = tmp.resolve("saved");
    List<Path> files = t.savePretrained(dir);
    assertEquals(List.of(dir.resolve("tokenizer_config.json"), dir.resolve("special_tokens_map.json"),
        dir.resolve("vocab.txt"), dir.resolve("added_tokens.json")), files);
    assertEquals(TINY, Files.readAllLines(dir.resolve("vocab.txt"), StandardCharsets.UTF_8));
    assertEquals("{\n  \"[MASK]\": 14,\n  \"[PAD]\": 13\n}\n",
        Files.readString(dir.resolve("added_tokens.json"), StandardCharsets.UTF_8));
    LxmertTokenizer back = LxmertTokenizer.fromDirectory(dir);
    assertEquals(t.options(), back.options());
    assertEquals(t.tokenize("UNwanted [X] low"), back.tokenize("UNwanted [X] low"));
    // Read back and saved again: the same bytes.
    back.savePretrained(tmp.resolve("again"));
    for (Path f : files) {
      assertEquals(Files.readString(f), Files.readString(tmp.resolve("again").resolve(f.getFileName())), f.toString());
    }
    Path named = t.saveVocabulary(tmp, "pre");
    assertEquals(tmp.resolve("pre-vocab.txt"), named);
    assertEquals(TINY, Files.readAllLines(named, StandardCharsets.UTF_8));
    NoSuchFileException noParent = assertThrows(NoSuchFileException.class,
        () -> t.saveVocabulary(tmp.resolve("missing").resolve("v.txt")));
    assertTrue(noParent.getMessage().contains("missing"), noParent.getMessage());
  }

  @Test
  void jsonAsPythonWritesIt() {
    // Python's repr(float) for the shapes json.dumps meets (checked against CPython 3.11).
    assertEquals(List.of("1e+30", "1e+16", "1000000000000000.0", "0.0001", "1e-05", "2.5", "1e-07",
            "1.2345678901234568e+17", "0.30000000000000004", "-0.0", "5e-324"),
        java.util.stream.DoubleStream.of(1e30, 1e16, 1e15, 0.0001, 0.00001, 2.5, 1e-7, 123456789012345678.0,
            0.1 + 0.2, -0.0, 5e-324).mapToObj(PythonJson::pythonRepr).toList());
  }

  @Test
  void threadSafe() throws Exception {
    LxmertTokenizer t = tiny();
    List<String> inputs = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      inputs.add("UNwant\u00E9d,running low".repeat(1 + i % 7) + " lowest\u0301 " + i);
    }
    List<List<String>> expected = inputs.stream().map(t::tokenize).toList();
    ExecutorService pool = Executors.newFixedThreadPool(6);
    try {
      List<Future<Boolean>> results = new ArrayList<>();
      for (int th = 0; th < 12; th++) {
        results.add(pool.submit(() -> {
          for (int round = 0; round < 50; round++) {
            for (int i = 0; i < inputs.size(); i++) {
              if (!t.tokenize(inputs.get(i)).equals(expected.get(i))) {
                return false;
              }
            }
          }
          return true;
        }));
      }
      for (Future<Boolean> f : results) {
        assertTrue(f.get());
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
