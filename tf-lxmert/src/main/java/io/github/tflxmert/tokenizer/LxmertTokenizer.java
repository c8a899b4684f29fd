package io.github.tflxmert.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * BERT WordPiece tokenization as Hugging Face's slow {@code LxmertTokenizer} (a copy of {@code BertTokenizer})
 * does it: special tokens split out first and kept whole; text cleaned (NUL, U+FFFD and control characters
 * dropped, whitespace mapped to a space); CJK ideographs surrounded by spaces; NFC; whitespace split; lower
 * case and accent stripping (NFD, combining marks dropped) as configured; punctuation split into single tokens;
 * greedy longest-match WordPiece with {@code ##} continuations, a word that cannot be matched (or is longer
 * than 100 characters) becoming {@code [UNK]}. Encodings add {@code [CLS] A [SEP] (B [SEP])}.
 *
 * <p>Character classes come from the JDK's Unicode tables (Unicode 13 in Java 17; Python 3.11 uses 14): text
 * with characters assigned between those versions may tokenize differently.
 *
 * <p>Immutable and thread-safe; holds no native resources.
 */
public final class LxmertTokenizer {
  /** HF's limit on the characters of one word before it becomes [UNK]. */
  public static final int MAX_CHARS_PER_WORD = 100;

  private static final java.util.regex.Pattern WHITESPACE = java.util.regex.Pattern.compile("(?U)\\s+");

  private final Map<String, Integer> vocab;
  private final List<String> idToToken;
  private final boolean lowerCase;
  private final Boolean stripAccents;
  private final boolean chineseChars;
  private final List<String> specials;
  private final String unk;
  private final String cls;
  private final String sep;
  private final String pad;
  private final String mask;

  private LxmertTokenizer(List<String> tokens, boolean lowerCase, Boolean stripAccents, boolean chineseChars) {
    Map<String, Integer> v = new HashMap<>(tokens.size() * 2);
    for (int i = 0; i < tokens.size(); i++) {
      v.putIfAbsent(tokens.get(i), i);
    }
    this.vocab = Collections.unmodifiableMap(v);
    this.idToToken = List.copyOf(tokens);
    this.lowerCase = lowerCase;
    this.stripAccents = stripAccents;
    this.chineseChars = chineseChars;
    this.unk = "[UNK]";
    this.cls = "[CLS]";
    this.sep = "[SEP]";
    this.pad = "[PAD]";
    this.mask = "[MASK]";
    this.specials = List.of(unk, sep, pad, cls, mask);
  }

  /** Reads a {@code vocab.txt} (one token per line, id = line number) with HF's defaults (lower case). */
  public static LxmertTokenizer fromVocab(Path vocabFile) throws IOException {
    return fromVocab(vocabFile, true, null, true);
  }

  /**
   * @param stripAccents null = follow {@code lowerCase} (HF's default)
   * @throws IllegalArgumentException if the file is missing, empty, or has no {@code [UNK]} entry
   */
  public static LxmertTokenizer fromVocab(Path vocabFile, boolean lowerCase, Boolean stripAccents,
                                          boolean tokenizeChineseChars) throws IOException {
    if (!Files.isRegularFile(vocabFile)) {
      throw new IllegalArgumentException(vocabFile + ": vocabulary file not found");
    }
    List<String> tokens = new ArrayList<>();
    for (String line : Files.readAllLines(vocabFile, StandardCharsets.UTF_8)) {
      tokens.add(line.strip());
    }
    while (!tokens.isEmpty() && tokens.get(tokens.size() - 1).isEmpty()) {
      tokens.remove(tokens.size() - 1);
    }
    if (tokens.isEmpty()) {
      throw new IllegalArgumentException(vocabFile + ": expected one token per line, found an empty file");
    }
    if (!tokens.contains("[UNK]")) {
      throw new IllegalArgumentException(vocabFile + ": expected the special token [UNK] in the vocabulary, found none");
    }
    return new LxmertTokenizer(tokens, lowerCase, stripAccents, tokenizeChineseChars);
  }

  /** Ids, token types and attention mask of one encoded text (or pair), with the tokens they stand for. */
  public record Encoding(List<String> tokens, int[] ids, int[] typeIds, int[] attentionMask) {}

  public int vocabSize() {
    return idToToken.size();
  }

  public String maskToken() {
    return mask;
  }

  public String idToToken(int id) {
    return id >= 0 && id < idToToken.size() ? idToToken.get(id) : unk;
  }

  public int tokenToId(String token) {
    Integer id = vocab.get(token);
    return id != null ? id : vocab.get(unk);
  }

  /** {@code [CLS] text [SEP]}. */
  public Encoding encode(String text) {
    return encode(text, null);
  }

  /** {@code [CLS] a [SEP] b [SEP]}, token type 1 for {@code b [SEP]}. */
  public Encoding encode(String a, String b) {
    List<String> tokens = new ArrayList<>();
    List<Integer> types = new ArrayList<>();
    tokens.add(cls);
    types.add(0);
    for (String t : tokenize(a)) {
      tokens.add(t);
      types.add(0);
    }
    tokens.add(sep);
    types.add(0);
    if (b != null) {
      for (String t : tokenize(b)) {
        tokens.add(t);
        types.add(1);
      }
      tokens.add(sep);
      types.add(1);
    }
    int[] ids = new int[tokens.size()];
    int[] tt = new int[tokens.size()];
    int[] am = new int[tokens.size()];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = tokenToId(tokens.get(i));
      tt[i] = types.get(i);
      am[i] = 1;
    }
    return new Encoding(List.copyOf(tokens), ids, tt, am);
  }

  /** The WordPiece tokens of a text, without [CLS]/[SEP]. */
  public List<String> tokenize(String text) {
    List<String> out = new ArrayList<>();
    for (String chunk : splitSpecials(text)) {
      if (specials.contains(chunk)) {
        out.add(chunk);
        continue;
      }
      for (String word : basic(chunk)) {
        wordPiece(word, out);
      }
    }
    return out;
  }

  /** Ids back to text: tokens joined with spaces, {@code " ##"} removed, specials optionally skipped. */
  public String decode(int[] ids, boolean skipSpecialTokens) {
    StringBuilder sb = new StringBuilder();
    for (int id : ids) {
      String t = idToToken(id);
      if (skipSpecialTokens && specials.contains(t)) {
        continue;
      }
      if (t.startsWith("##")) {
        sb.append(t, 2, t.length());
      } else {
        if (sb.length() > 0) {
          sb.append(' ');
        }
        sb.append(t);
      }
    }
    return sb.toString().replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",")
        .replace(" ' ", "'").replace(" n't", "n't").replace(" 'm", "'m").replace(" 's", "'s")
        .replace(" 've", "'ve").replace(" 're", "'re");
  }

  /** Splits out special tokens (exact, case-sensitive match as HF's trie does), keeping the rest. */
  private List<String> splitSpecials(String text) {
    List<String> parts = new ArrayList<>();
    int start = 0;
    int i = 0;
    outer:
    while (i < text.length()) {
      if (text.charAt(i) == '[') {
        for (String s : specials) {
          if (text.startsWith(s, i)) {
            if (i > start) {
              parts.add(text.substring(start, i));
            }
            parts.add(s);
            i += s.length();
            start = i;
            continue outer;
          }
        }
      }
      i++;
    }
    if (start < text.length()) {
      parts.add(text.substring(start));
    }
    return parts;
  }

  private List<String> basic(String text) {
    StringBuilder clean = new StringBuilder(text.length());
    text.codePoints().forEach(cp -> {
      if (cp == 0 || cp == 0xFFFD || isControl(cp)) {
        return;
      }
      if (isWhitespace(cp)) {
        clean.append(' ');
      } else if (chineseChars && isCjk(cp)) {
        clean.append(' ').appendCodePoint(cp).append(' ');
      } else {
        clean.appendCodePoint(cp);
      }
    });
    String normal = Normalizer.normalize(clean, Normalizer.Form.NFC);
    List<String> out = new ArrayList<>();
    // Python's str.split() splits on Unicode White_Space (U+2028, U+0085, ... too), not only ASCII spaces.
    for (String tok : WHITESPACE.split(normal)) {
      if (tok.isEmpty()) {
        continue;
      }
      String t = tok;
      if (lowerCase) {
        t = lower(t);
        if (!Boolean.FALSE.equals(stripAccents)) {
          t = stripAccents(t);
        }
      } else if (Boolean.TRUE.equals(stripAccents)) {
        t = stripAccents(t);
      }
      splitPunctuation(t, out);
    }
    return out;
  }

  /**
   * Python's {@code str.lower()}: per code point, without Java's context-sensitive final sigma, with the one
   * unconditional multi-character mapping (U+0130 → "i̇").
   */
  static String lower(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    s.codePoints().forEach(cp -> {
      if (cp == 0x130) {
        sb.append("i\u0307");
      } else {
        sb.appendCodePoint(Character.toLowerCase(cp));
      }
    });
    return sb.toString();
  }

  private static String stripAccents(String s) {
    String nfd = Normalizer.normalize(s, Normalizer.Form.NFD);
    StringBuilder sb = new StringBuilder(nfd.length());
    nfd.codePoints().filter(cp -> Character.getType(cp) != Character.NON_SPACING_MARK).forEach(sb::appendCodePoint);
    return sb.toString();
  }

  private static void splitPunctuation(String s, List<String> out) {
    StringBuilder cur = new StringBuilder();
    s.codePoints().forEach(cp -> {
      if (isPunctuation(cp)) {
        if (cur.length() > 0) {
          out.add(cur.toString());
          cur.setLength(0);
        }
        out.add(new String(Character.toChars(cp)));
      } else {
        cur.appendCodePoint(cp);
      }
    });
    if (cur.length() > 0) {
      out.add(cur.toString());
    }
  }

  private void wordPiece(String word, List<String> out) {
    int chars = word.codePointCount(0, word.length());
    if (chars > MAX_CHARS_PER_WORD) {
      out.add(unk);
      return;
    }
    List<String> pieces = new ArrayList<>();
    int start = 0;
    while (start < word.length()) {
      int end = word.length();
      String found = null;
      while (start < end) {
        String sub = (start > 0 ? "##" : "") + word.substring(start, end);
        if (vocab.containsKey(sub)) {
          found = sub;
          break;
        }
        end = word.offsetByCodePoints(end, -1);
      }
      if (found == null) {
        out.add(unk);
        return;
      }
      pieces.add(found);
      start = end;
    }
    out.addAll(pieces);
  }

  static boolean isWhitespace(int cp) {
    return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || Character.getType(cp) == Character.SPACE_SEPARATOR;
  }

  static boolean isControl(int cp) {
    if (cp == '\t' || cp == '\n' || cp == '\r') {
      return false;
    }
    int t = Character.getType(cp);
    return t == Character.CONTROL || t == Character.FORMAT || t == Character.SURROGATE
        || t == Character.PRIVATE_USE || t == Character.UNASSIGNED;
  }

  static boolean isPunctuation(int cp) {
    if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
      return true;
    }
    return switch (Character.getType(cp)) {
      case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
          Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
          Character.OTHER_PUNCTUATION -> true;
      default -> false;
    };
  }

  static boolean isCjk(int cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
        || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF)
        || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
  }
}
