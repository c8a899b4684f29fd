package io.github.tflxmert.tokenizer;

/**
 * The few Python {@code str} operations whose exact behaviour the slow tokenizer depends on, with Python's Unicode
 * 14 tables ({@link UnicodeTable}) rather than the JDK's. Stateless; thread-safe.
 */
final class PythonStrings {
  private PythonStrings() {}

  /** Python {@code str.lower()}, code point by code point (no final-sigma context: HF lowers one char at a time). */
  static String lower(String s) {
    StringBuilder b = new StringBuilder(s.length());
    s.codePoints().forEach(cp -> {
      if ((UnicodeTable.flags(cp) & UnicodeTable.LOWER) != 0) {
        UnicodeTable.appendLower(cp, b);
      } else {
        b.appendCodePoint(cp);
      }
    });
    return b.toString();
  }

  /** Python {@code str.strip()}: removes leading and trailing {@link #isSpace} code points. */
  static String strip(String s) {
    int start = 0;
    int end = s.length();
    while (start < end) {
      int cp = s.codePointAt(start);
      if (!isSpace(cp)) {
        break;
      }
      start += Character.charCount(cp);
    }
    while (end > start) {
      int cp = s.codePointBefore(end);
      if (!isSpace(cp)) {
        break;
      }
      end -= Character.charCount(cp);
    }
    return s.substring(start, end);
  }

  /** Python {@code str.isspace()} of one code point (what {@code str.split()} and {@code strip()} use). */
  static boolean isSpace(int cp) {
    return (cp >= 9 && cp <= 13) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680
        || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F
        || cp == 0x3000;
  }
}
