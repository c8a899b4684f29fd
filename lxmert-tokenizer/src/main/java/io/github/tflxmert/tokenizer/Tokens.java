package io.github.tflxmert.tokenizer;

import java.util.Arrays;

/**
 * The tokens of one text as the pipeline emits them: ids, UTF-16 [start, end) offsets into that text, and the token
 * string where it is not the vocabulary entry of its id ([UNK] for an unmatched word, a special token missing from
 * the vocabulary). One instance per call; not thread-safe.
 */
final class Tokens {
  private final Vocabulary vocab;
  int size;
  int[] ids = new int[16];
  int[] starts = new int[16];
  int[] ends = new int[16];
  private String[] literals; // null until some token is not vocab.token(id)

  Tokens(Vocabulary vocab) {
    this.vocab = vocab;
  }

  void add(int id, int start, int end, String literal) {
    if (size == ids.length) {
      ids = Arrays.copyOf(ids, size * 2);
      starts = Arrays.copyOf(starts, size * 2);
      ends = Arrays.copyOf(ends, size * 2);
      if (literals != null) {
        literals = Arrays.copyOf(literals, size * 2);
      }
    }
    if (literal != null) {
      if (literals == null) {
        literals = new String[ids.length];
      }
      literals[size] = literal;
    }
    ids[size] = id;
    starts[size] = start;
    ends[size] = end;
    size++;
  }

  /** Drops every token from {@code mark} on (WordPiece undoing a word that turned out to be [UNK]). */
  void truncate(int mark) {
    size = mark;
    if (literals != null) {
      Arrays.fill(literals, mark, literals.length, null);
    }
  }

  String token(int i) {
    String s = literals == null ? null : literals[i];
    return s != null ? s : vocab.token(ids[i]);
  }

  int[] idArray() {
    return Arrays.copyOf(ids, size);
  }
}
