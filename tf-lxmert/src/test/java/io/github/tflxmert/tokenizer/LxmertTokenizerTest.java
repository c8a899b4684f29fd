package io.github.tflxmert.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LxmertTokenizerTest {
  @TempDir Path tmp;

  /** The tiny vocabulary of HF's tokenizer test, ids in line order. */
  LxmertTokenizer tiny() throws IOException {
    Path v = tmp.resolve("vocab.txt");
    Files.write(v, List.of("[UNK]", "[CLS]", "[SEP]", "want", "##want", "##ed", "wa", "un", "runn", "##ing", ",",
        "low", "lowest"));
    return LxmertTokenizer.fromVocab(v);
  }

  @Test
  void hfTestExample() throws IOException {
    LxmertTokenizer t = tiny();
    assertEquals(List.of("un", "##want", "##ed", ",", "runn", "##ing"), t.tokenize("UNwant\u00E9d,running"));
    LxmertTokenizer.Encoding e = t.encode("UNwant\u00E9d,running");
    assertArrayEquals(new int[] {1, 7, 4, 5, 10, 8, 9, 2}, e.ids());
    assertEquals("unwanted, running", t.decode(new int[] {7, 4, 5, 10, 8, 9}, true));
  }

  @Test
  void unknownWordsBecomeOneUnkAndSpecialTokensStayWhole() throws IOException {
    LxmertTokenizer t = tiny();
    assertEquals(List.of("[UNK]", "low"), t.tokenize("wantx low"));
    // Special tokens are split out whole even when the vocabulary lacks them ([MASK] then maps to [UNK]'s id).
    assertEquals(List.of("[CLS]", "low", "[MASK]"), t.tokenize("[CLS]low [MASK]"));
    assertEquals(0, t.tokenToId("[MASK]"));
    assertEquals(List.of("[UNK]"), t.tokenize("a".repeat(101)));
    assertEquals(List.of(), t.tokenize(" \t\u00A0\u200B"));
  }

  @Test
  void pairsGetTokenTypeOne() throws IOException {
    LxmertTokenizer.Encoding e = tiny().encode("low", "lowest");
    assertArrayEquals(new int[] {1, 11, 2, 12, 2}, e.ids());
    assertArrayEquals(new int[] {0, 0, 0, 1, 1}, e.typeIds());
    assertArrayEquals(new int[] {1, 1, 1, 1, 1}, e.attentionMask());
  }

  @Test
  void vocabularyErrorsNameTheFile() throws IOException {
    Path v = tmp.resolve("bad.txt");
    Files.write(v, List.of("a", "b"));
    String m = assertThrows(IllegalArgumentException.class, () -> LxmertTokenizer.fromVocab(v)).getMessage();
    assertTrue(m.contains("bad.txt") && m.contains("[UNK]"), m);
    assertThrows(IllegalArgumentException.class, () -> LxmertTokenizer.fromVocab(tmp.resolve("missing.txt")));
  }
}
