package io.github.tflxmert.tokenizer;

/** How a batch is padded, as HF's {@code padding=} argument ({@code False}, {@code True}/"longest", "max_length"). */
public enum Padding {
  /** No padding: rows keep their own lengths (HF {@code padding=False}). */
  NONE,
  /** Pad every row to the longest row of the batch (HF {@code padding=True} / "longest"). */
  LONGEST,
  /**
   * Pad every row to {@code max_length} (HF "max_length"); without a max length, to the tokenizer's
   * {@code model_max_length}, or not at all when it has none. Rows longer than that are left as they are.
   */
  MAX_LENGTH
}
