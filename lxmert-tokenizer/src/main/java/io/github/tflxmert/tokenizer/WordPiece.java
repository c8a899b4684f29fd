package io.github.tflxmert.tokenizer;

/**
 * HF's {@code WordpieceTokenizer}: greedy longest-match-first over the vocabulary with {@code ##} continuations; a
 * word of more than 100 code points, or one with a position no vocabulary entry matches, becomes one [UNK] spanning
 * the whole word. Immutable; thread-safe.
 */
final class WordPiece {
  /** HF's {@code max_input_chars_per_word}; Python counts code points. */
  static final int MAX_INPUT_CHARS_PER_WORD = 100;

  private final Vocabulary vocab;
  private final int unkId;
  private final String unkToken;

  WordPiece(Vocabulary vocab, int unkId, String unkToken) {
    this.vocab = vocab;
    this.unkId = unkId;
    this.unkToken = unkToken;
  }

  /** {@code WordpieceTokenizer.tokenize} of w[from, to) (one word without whitespace), appended to {@code out}. */
  void tokenize(Word w, int from, int to, Tokens out) {
    if (to <= from) {
      return;
    }
    int start = w.starts[from];
    int end = w.ends[to - 1];
    // Only a word of more than 100 UTF-16 chars can have more than 100 code points.
    if (to - from > MAX_INPUT_CHARS_PER_WORD
        && Character.codePointCount(w.chars, from, to - from) > MAX_INPUT_CHARS_PER_WORD) {
      out.add(unkId, start, end, unkToken);
      return;
    }
    int mark = out.size;
    int pos = from;
    while (pos < to) {
      long m = vocab.longestMatch(w.chars, pos, to, pos > from);
      if (m < 0) {
        out.truncate(mark);
        out.add(unkId, start, end, unkToken);
        return;
      }
      int matchEnd = (int) (m >>> 32);
      out.add((int) m, w.starts[pos], w.ends[matchEnd - 1], null);
      pos = matchEnd;
    }
  }
}
