package io.github.tflxmert.tokenizer;

import java.util.Arrays;

/**
 * A word under construction in {@link BasicTokenizer}: UTF-16 chars, and for each the [start, end) in the original
 * text of the code point it came from. Flags ({@link UnicodeTable}) OR-ed over its code points decide which costly
 * steps (NFC, lower case, NFD) can be skipped. Scratch space of one call; not thread-safe.
 */
final class Word {
  char[] chars = new char[64];
  int[] starts = new int[64];
  int[] ends = new int[64];
  int length;
  int flags;

  void clear() {
    length = 0;
    flags = 0;
  }

  void add(int cp, int start, int end, int f) {
    if (length + 2 > chars.length) {
      int n = chars.length * 2;
      chars = Arrays.copyOf(chars, n);
      starts = Arrays.copyOf(starts, n);
      ends = Arrays.copyOf(ends, n);
    }
    if (cp < 0x10000) {
      chars[length] = (char) cp;
      starts[length] = start;
      ends[length++] = end;
    } else {
      chars[length] = Character.highSurrogate(cp);
      chars[length + 1] = Character.lowSurrogate(cp);
      starts[length] = start;
      starts[length + 1] = start;
      ends[length] = end;
      ends[length + 1] = end;
      length += 2;
    }
    flags |= f;
  }

  /** Two words that the normalisation steps transform into each other, so a call allocates them once. */
  static final class Scratch {
    Word word = new Word();
    Word spare = new Word();

    /** After a step wrote {@code spare} from {@code word}: the result becomes the current word. */
    Word swap() {
      Word t = word;
      word = spare;
      spare = t;
      return word;
    }
  }
}
