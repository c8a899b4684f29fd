package io.github.tflxmert.tokenizer;

/** HF's truncation strategies ({@code truncation=} argument); tokens are removed from the right. */
public enum Truncation {
  /** No truncation (HF {@code truncation=False}). */
  NONE,
  /**
   * Remove tokens from the longer sequence first (HF {@code True} / "longest_first"); for a pair, HF's closed form:
   * first the difference in length from the longer one, then the rest split between both (the second gets the
   * extra token when the first is not longer).
   */
  LONGEST_FIRST,
  /** Remove only from the first sequence; when it is too short HF logs an error and truncates nothing. */
  ONLY_FIRST,
  /** Remove only from the second sequence of a pair; when it is too short (or absent) nothing is truncated. */
  ONLY_SECOND
}
