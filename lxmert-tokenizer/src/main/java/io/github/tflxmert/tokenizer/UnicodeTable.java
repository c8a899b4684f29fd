package io.github.tflxmert.tokenizer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.HashMap;
import java.util.Map;

/**
 * Character classes and case mappings exactly as Python 3.11's {@code unicodedata} (Unicode 14.0.0) and
 * {@code str.lower()} give them, read from {@code unicode-data.txt} (written by
 * {@code parity-tests/python/gen_unicode_tables.py}). The slow HF tokenizer decides everything with those, and Java
 * 17's {@code Character} is Unicode 13: it calls 838 code points "unassigned" that Python keeps (🫠 U+1FAE0, the
 * Vithkuqi letters...), disagrees on U+1734's category, does not lower-case 40 new capitals, and lower-cases
 * U+0130 'İ' to one code point where Python gives "i\u0307". Reading Python's table makes the tokenizer independent of
 * the JDK's Unicode version.
 *
 * <p>Immutable after class initialisation; thread-safe. Holds one byte per code point (1.1 MB) so that every lookup
 * is a single array read.
 */
final class UnicodeTable {
  /** Removed by BasicTokenizer._clean_text: U+0000, U+FFFD, category C* except \t \n \r. */
  static final int DROP = 1;
  /** Ends a word: _is_whitespace (→ ' ') or, surviving cleaning, {@code str.isspace()} (U+2028, U+2029). */
  static final int SEP = 2;
  /** _is_punctuation: ASCII 33–47, 58–64, 91–96, 123–126 or category P*. */
  static final int PUNCT = 4;
  /** _is_chinese_char: surrounded by spaces when tokenize_chinese_chars is on. */
  static final int CJK = 8;
  /** Category Mn: removed by _run_strip_accents after NFD. */
  static final int MN = 16;
  /** {@code chr(cp).lower() != chr(cp)}. */
  static final int LOWER = 32;
  /** NFC or NFD may change this code point or combine it with the previous one; words without any skip both. */
  static final int NORM = 64;

  /** Normalisation may merge this code point with the one before it; a word is normalised in pieces cut elsewhere. */
  static final int COMBINES = 128;

  private static final byte[] FLAGS = new byte[0x110000];
  /** Simple lower case for BMP code points; {@code MULTI_LOWER} holds the rest. */
  private static final char[] LOWER_BMP = new char[0x10000];
  private static final Map<Integer, int[]> MULTI_LOWER = new HashMap<>();
  /** Canonical combining class of the marks Java's Normalizer may not know (see {@link #normalize}). */
  private static final Map<Integer, Integer> CCC = new HashMap<>();
  static final String UNICODE_VERSION;

  /**
   * Marks that Java's Normalizer must order like the given combining class and that no canonical decomposition
   * produces or composes with, so they can stand in for marks the JDK does not know (see {@link #normalize}).
   */
  private static final Map<Integer, Integer> PLACEHOLDER_BY_CCC =
      Map.of(230, 0x0305, 220, 0x0316, 7, 0x0ABC, 9, 0x094D, 218, 0x302A);

  static {
    String resource = "unicode-data.txt";
    for (int c = 0; c < 0x10000; c++) {
      LOWER_BMP[c] = (char) c;
    }
    String version = null;
    String[] cats = new String[0x110000];
    boolean[] isSpace = new boolean[0x110000];
    try (InputStream in = UnicodeTable.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("classpath resource io/github/tflxmert/tokenizer/" + resource
            + " is missing from the lxmert-tokenizer jar");
      }
      BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
      String line;
      int prevStart = -1;
      String prevCat = null;
      while ((line = r.readLine()) != null) {
        if (line.isEmpty() || line.charAt(0) == '#') {
          continue;
        }
        String[] f = line.split(" ");
        switch (f[0]) {
          case "version" -> version = f[1];
          case "cat" -> {
            int start = hex(f[1]);
            if (prevCat != null) {
              fill(cats, prevStart, start, prevCat);
            }
            prevStart = start;
            prevCat = f[2];
          }
          case "lower" -> {
            int cp = hex(f[1]);
            int[] low = new int[f.length - 2];
            for (int i = 0; i < low.length; i++) {
              low[i] = hex(f[i + 2]);
            }
            FLAGS[cp] |= LOWER;
            if (cp < 0x10000 && low.length == 1 && low[0] < 0x10000) {
              LOWER_BMP[cp] = (char) low[0];
            } else {
              MULTI_LOWER.put(cp, low);
            }
          }
          case "ccc" -> {
            for (int cp = hex(f[1]), end = hex(f[2]); cp <= end; cp++) {
              CCC.put(cp, Integer.parseInt(f[3]));
            }
          }
          case "norm" -> {
            for (int cp = hex(f[1]), end = hex(f[2]); cp <= end; cp++) {
              FLAGS[cp] |= NORM;
            }
          }
          case "comb" -> {
            for (int cp = hex(f[1]), end = hex(f[2]); cp <= end; cp++) {
              FLAGS[cp] |= (byte) COMBINES;
            }
          }
          case "space" -> isSpace[hex(f[1])] = true;
          default -> throw new IllegalStateException(resource + ": unknown record '" + f[0] + "' in line: " + line);
        }
      }
      if (prevCat == null || version == null) {
        throw new IllegalStateException(resource + ": expected 'version' and 'cat' records, found none");
      }
      fill(cats, prevStart, cats.length, prevCat);
    } catch (IOException e) {
      throw new UncheckedIOException("reading classpath resource " + resource, e);
    }
    UNICODE_VERSION = version;
    for (int cp = 0; cp < 0x110000; cp++) {
      String cat = cats[cp];
      boolean space = isSpace[cp];
      int flags = FLAGS[cp];
      boolean tabOrNewline = cp == '\t' || cp == '\n' || cp == '\r';
      if (cp == 0 || cp == 0xFFFD || (cat.charAt(0) == 'C' && !tabOrNewline)) {
        flags |= DROP;
      } else if (cp == ' ' || tabOrNewline || cat.startsWith("Zs") || space) {
        flags |= SEP;
      }
      if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)
          || cat.charAt(0) == 'P') {
        flags |= PUNCT;
      }
      if (isChinese(cp)) {
        flags |= CJK;
      }
      if (cat.startsWith("Mn")) {
        flags |= MN;
      }
      FLAGS[cp] = (byte) flags;
    }
  }

  private UnicodeTable() {}

  private static int hex(String s) {
    return Integer.parseInt(s, 16);
  }

  private static void fill(String[] cats, int from, int to, String cat) {
    for (int cp = from; cp < to; cp++) {
      cats[cp] = cat;
    }
  }

  static int flags(int cp) {
    return FLAGS[cp] & 0xFF;
  }

  /** The BERT CJK ranges of BasicTokenizer._is_chinese_char. */
  static boolean isChinese(int cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
        || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF)
        || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
  }

  /**
   * Appends Python's {@code chr(cp).lower()} (the full mapping: U+0130 gives "i\u0307") to {@code out}; returns the
   * number of code points appended. Only call for code points flagged {@link #LOWER}.
   */
  static int appendLower(int cp, StringBuilder out) {
    if (cp < 0x10000 && !MULTI_LOWER.containsKey(cp)) {
      out.append(LOWER_BMP[cp]);
      return 1;
    }
    int[] low = MULTI_LOWER.get(cp);
    for (int c : low) {
      out.appendCodePoint(c);
    }
    return low.length;
  }

  /** The lower-case code points of {@code cp} (Python {@code str.lower()}), as an array; cp itself if unchanged. */
  static int[] lower(int cp) {
    if ((flags(cp) & LOWER) == 0) {
      return new int[] {cp};
    }
    int[] multi = MULTI_LOWER.get(cp);
    return multi != null ? multi.clone() : new int[] {LOWER_BMP[cp]};
  }

  /**
   * Unicode 14 NFC/NFD of {@code s} with Java's {@link Normalizer}. Java 17's Normalizer treats the combining marks
   * that Unicode 14 added (U+0898..U+089F, U+1AC1.., U+1DFA, ...) as unassigned starters (class 0), so it would
   * neither reorder them nor let a following accent compose past them, where Python does. Such marks are swapped
   * for a stand-in of the same combining class that no decomposition or composition involves, normalised, then
   * put back in order: canonical reordering is stable and never moves a mark past one of the same class, so the
   * k-th stand-in in the output is the k-th in the input.
   */
  static String normalize(String s, Normalizer.Form form) {
    StringBuilder swapped = null;
    int[] originals = null;
    int count = 0;
    for (int i = 0; i < s.length(); ) {
      int cp = s.codePointAt(i);
      int n = Character.charCount(cp);
      Integer ccc = CCC.get(cp);
      Integer placeholder = ccc == null ? null : PLACEHOLDER_BY_CCC.get(ccc);
      boolean unknown = placeholder != null && Character.getType(cp) == Character.UNASSIGNED;
      boolean isPlaceholder = ccc != null && PLACEHOLDER_BY_CCC.containsValue(cp);
      if (unknown || isPlaceholder) {
        if (swapped == null) {
          swapped = new StringBuilder(s.length()).append(s, 0, i);
          originals = new int[s.length()];
        }
        originals[count++] = cp;
        swapped.appendCodePoint(unknown ? placeholder : cp);
      } else if (swapped != null) {
        swapped.appendCodePoint(cp);
      }
      i += n;
    }
    if (swapped == null) {
      return Normalizer.normalize(s, form);
    }
    String norm = Normalizer.normalize(swapped, form);
    StringBuilder out = new StringBuilder(norm.length());
    int k = 0;
    for (int i = 0; i < norm.length(); ) {
      int cp = norm.codePointAt(i);
      out.appendCodePoint(PLACEHOLDER_BY_CCC.containsValue(cp) && k < count ? originals[k++] : cp);
      i += Character.charCount(cp);
    }
    return out.toString();
  }
}
