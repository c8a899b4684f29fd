package io.github.tflxmert.tokenizer;

import java.text.Normalizer;
import java.util.HashSet;
import java.util.Set;
import java.util.function.ToIntFunction;

/**
 * HF's {@code BasicTokenizer} on the text between special tokens, each word handed to {@link WordPiece}:
 * <ol>
 *   <li>{@code _clean_text}: drop U+0000, U+FFFD and C* except \t\n\r; whitespace (and Zs) separates words;</li>
 *   <li>{@code _tokenize_chinese_chars}: CJK ideographs become words of their own;</li>
 *   <li>per word: NFC; a word in {@code never_split} (special tokens and the configured list) is kept whole; else
 *       lower case and strip accents (NFD, drop Mn) as configured, then split off punctuation (ASCII symbols and
 *       P*).</li>
 * </ol>
 * With {@code do_basic_tokenize=False} it only splits on Python whitespace, as HF then runs WordPiece on
 * {@code str.split()} words of the raw text. Character classes come from Python's tables ({@link UnicodeTable}).
 *
 * <p>Offsets: each char of a word carries the [start, end) of the input code point it came from; normalisation
 * that merges code points gives every result char the span of the whole merged run.
 *
 * <p>Immutable; thread-safe (per-call state lives in {@link Word.Scratch} and {@link Tokens}).
 */
final class BasicTokenizer {
  private final boolean doBasicTokenize;
  private final boolean lower;
  private final boolean strip;
  private final boolean splitChinese;
  /** never_split during tokenize(): special tokens plus configured never_split. */
  private final Set<String> neverSplit;
  /** Configured never_split only: these are also kept whole by _tokenize (not WordPiece'd). */
  private final Set<String> configNeverSplit;
  private final int neverSplitMaxLength;
  private final ToIntFunction<String> tokenToId;
  private final WordPiece wordPiece;

  BasicTokenizer(TokenizerOptions options, Set<String> specialTokens, ToIntFunction<String> tokenToId,
      WordPiece wordPiece) {
    this.doBasicTokenize = options.doBasicTokenize();
    this.lower = options.doBasicTokenize() && options.doLowerCase();
    this.strip = options.stripsAccents();
    this.splitChinese = options.tokenizeChineseChars();
    this.configNeverSplit = Set.copyOf(options.neverSplit());
    Set<String> all = new HashSet<>(options.neverSplit());
    all.addAll(specialTokens);
    this.neverSplit = Set.copyOf(all);
    this.neverSplitMaxLength = all.stream().mapToInt(String::length).max().orElse(0);
    this.tokenToId = tokenToId;
    this.wordPiece = wordPiece;
  }

  /** Whether words are lower-cased (HF: only when the basic tokenizer runs). */
  boolean lowerCases() {
    return lower;
  }

  /**
   * Tokenizes s[from, to), one chunk between special tokens. {@code lowerHere}: lower-case while reading (false
   * when the caller already lower-cased the whole text). {@code ms}/{@code me}: per char of {@code s}, the span in
   * the caller's original text it came from, or null when {@code s} is that text.
   */
  void tokenize(String s, int from, int to, boolean lowerHere, int[] ms, int[] me, Word.Scratch scratch,
      Tokens out) {
    if (!doBasicTokenize) {
      whitespaceWordPiece(s, from, to, ms, me, scratch, out);
      return;
    }
    scratch.word.clear();
    int i = from;
    while (i < to) {
      char ch = s.charAt(i);
      int cp = ch;
      int len = 1;
      if (Character.isHighSurrogate(ch) && i + 1 < to && Character.isLowSurrogate(s.charAt(i + 1))) {
        cp = Character.toCodePoint(ch, s.charAt(i + 1));
        len = 2;
      } // an unpaired surrogate stays a surrogate code point: category Cs, dropped as Python drops it
      int start = ms == null ? i : ms[i];
      int end = me == null ? i + len : me[i + len - 1];
      int f = UnicodeTable.flags(cp);
      if (lowerHere && (f & UnicodeTable.LOWER) != 0) {
        for (int c : UnicodeTable.lower(cp)) {
          accept(c, UnicodeTable.flags(c), start, end, scratch, out);
        }
      } else {
        accept(cp, f, start, end, scratch, out);
      }
      i += len;
    }
    finishWord(scratch, out);
  }

  /** HF with {@code do_basic_tokenize=False}: WordPiece on {@code str.split()} words of the raw text. */
  private void whitespaceWordPiece(String s, int from, int to, int[] ms, int[] me, Word.Scratch scratch,
      Tokens out) {
    Word w = scratch.word;
    w.clear();
    for (int i = from; i < to; ) {
      int cp = s.codePointAt(i);
      int len = Math.min(Character.charCount(cp), to - i);
      if (PythonStrings.isSpace(cp)) {
        wordPiece.tokenize(w, 0, w.length, out);
        w.clear();
      } else {
        w.add(cp, ms == null ? i : ms[i], me == null ? i + len : me[i + len - 1], 0);
      }
      i += len;
    }
    wordPiece.tokenize(w, 0, w.length, out);
    w.clear();
  }

  /** _clean_text, whitespace split and _tokenize_chinese_chars for one code point. */
  private void accept(int cp, int f, int start, int end, Word.Scratch scratch, Tokens out) {
    if ((f & (UnicodeTable.DROP | UnicodeTable.SEP | UnicodeTable.CJK)) == 0) {
      scratch.word.add(cp, start, end, f);
    } else if ((f & UnicodeTable.DROP) != 0) {
      // dropped: U+0000, U+FFFD, control/format/unassigned/private use
    } else if ((f & UnicodeTable.SEP) != 0) {
      finishWord(scratch, out);
    } else if (splitChinese) {
      finishWord(scratch, out);
      scratch.word.add(cp, start, end, f);
      finishWord(scratch, out);
    } else {
      scratch.word.add(cp, start, end, f);
    }
  }

  /** One whitespace-delimited word: NFC, never_split, lower case, strip accents, punctuation split, WordPiece. */
  private void finishWord(Word.Scratch scratch, Tokens out) {
    Word w = scratch.word;
    if (w.length == 0) {
      return;
    }
    if ((w.flags & UnicodeTable.NORM) != 0) {
      normalize(w, scratch.spare, Normalizer.Form.NFC, false);
      w = scratch.swap();
    }
    if (keptWhole(w, out)) {
      return;
    }
    boolean changed = false;
    if (lower && (w.flags & UnicodeTable.LOWER) != 0) {
      lowerWord(w, scratch.spare);
      w = scratch.swap();
      changed = true;
    }
    if (strip && (w.flags & (UnicodeTable.NORM | UnicodeTable.MN)) != 0) {
      normalize(w, scratch.spare, Normalizer.Form.NFD, true);
      w = scratch.swap();
      changed = true;
    }
    if (changed && keptWhole(w, out)) {
      return;
    }
    if ((w.flags & UnicodeTable.PUNCT) == 0) {
      piece(w, 0, w.length, out);
    } else {
      int pieceStart = 0;
      for (int i = 0; i < w.length; ) {
        int cp = Character.codePointAt(w.chars, i, w.length);
        int len = Character.charCount(cp);
        if ((UnicodeTable.flags(cp) & UnicodeTable.PUNCT) != 0) {
          piece(w, pieceStart, i, out);
          piece(w, i, i + len, out);
          pieceStart = i + len;
        }
        i += len;
      }
      piece(w, pieceStart, w.length, out);
    }
    w.clear();
  }

  /**
   * A word in never_split is not split at punctuation; _tokenize then keeps it (configured never_split) or
   * WordPieces it (a special token BasicTokenizer met whole). Returns true (and clears the word) when it was.
   */
  private boolean keptWhole(Word w, Tokens out) {
    if (w.length > neverSplitMaxLength) {
      return false;
    }
    String whole = new String(w.chars, 0, w.length);
    if (!neverSplit.contains(whole)) {
      return false;
    }
    if (configNeverSplit.contains(whole)) {
      out.add(tokenToId.applyAsInt(whole), w.starts[0], w.ends[w.length - 1], whole);
    } else {
      wordPiece.tokenize(w, 0, w.length, out);
    }
    w.clear();
    return true;
  }

  private void piece(Word w, int from, int to, Tokens out) {
    if (to <= from) {
      return;
    }
    if (!configNeverSplit.isEmpty()) {
      String s = new String(w.chars, from, to - from);
      if (configNeverSplit.contains(s)) {
        out.add(tokenToId.applyAsInt(s), w.starts[from], w.ends[to - 1], s);
        return;
      }
    }
    wordPiece.tokenize(w, from, to, out);
  }

  /** Python's per-code-point lower() of a word into {@code dst}, keeping origins. */
  private static void lowerWord(Word src, Word dst) {
    dst.clear();
    for (int i = 0; i < src.length; ) {
      int cp = Character.codePointAt(src.chars, i, src.length);
      int len = Character.charCount(cp);
      int f = UnicodeTable.flags(cp);
      if ((f & UnicodeTable.LOWER) == 0) {
        dst.add(cp, src.starts[i], src.ends[i], f);
      } else {
        for (int c : UnicodeTable.lower(cp)) {
          dst.add(c, src.starts[i], src.ends[i], UnicodeTable.flags(c));
        }
      }
      i += len;
    }
  }

  /**
   * NFC or NFD (then, when {@code dropMn}, without category Mn) of a word into {@code dst}. The word is cut before
   * every code point that normalisation cannot merge with its predecessor (no COMBINES flag: a starter that is not
   * the second half of a composition and does not decompose into one); normalisation never crosses such a point, so
   * normalising the pieces separately equals normalising the word, and every output char of a piece gets the
   * piece's original span (so "e\u0301" maps to both code points, "é" to itself).
   */
  private static void normalize(Word src, Word dst, Normalizer.Form form, boolean dropMn) {
    dst.clear();
    int i = 0;
    while (i < src.length) {
      int segStart = i;
      int cp = Character.codePointAt(src.chars, i, src.length);
      i += Character.charCount(cp);
      boolean needs = (UnicodeTable.flags(cp) & UnicodeTable.NORM) != 0;
      while (i < src.length) {
        int c = Character.codePointAt(src.chars, i, src.length);
        int fc = UnicodeTable.flags(c);
        if ((fc & UnicodeTable.COMBINES) == 0) {
          break;
        }
        needs |= (fc & UnicodeTable.NORM) != 0;
        i += Character.charCount(c);
      }
      if (!needs) {
        int f = UnicodeTable.flags(cp);
        if (!(dropMn && (f & UnicodeTable.MN) != 0)) {
          dst.add(cp, src.starts[segStart], src.ends[segStart], f);
        }
        continue;
      }
      int start = src.starts[segStart];
      int end = src.ends[i - 1];
      String norm = UnicodeTable.normalize(new String(src.chars, segStart, i - segStart), form);
      for (int k = 0; k < norm.length(); ) {
        int c = norm.codePointAt(k);
        int f = UnicodeTable.flags(c);
        if (!(dropMn && (f & UnicodeTable.MN) != 0)) {
          dst.add(c, start, end, f);
        }
        k += Character.charCount(c);
      }
    }
  }
}
