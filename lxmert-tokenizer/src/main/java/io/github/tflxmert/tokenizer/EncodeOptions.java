package io.github.tflxmert.tokenizer;

/**
 * Padding and truncation for {@link LxmertTokenizer#encodeBatch}, resolved as HF's
 * {@code _get_padding_truncation_strategies} resolves {@code padding=}, {@code truncation=}, {@code max_length=}:
 * when {@code maxLength} is 0 (unset), {@link Padding#MAX_LENGTH} and truncation use the tokenizer's
 * {@code model_max_length} and are switched off when it has none. {@link Padding#LONGEST} ignores
 * {@code maxLength} except as the truncation length. Immutable.
 *
 * @param padding    how rows are padded (with [PAD], type id 0, mask 0, on the right)
 * @param truncation how over-long rows are cut (special tokens count towards the length)
 * @param maxLength  the length in tokens, special tokens included; 0 = unset
 */
public record EncodeOptions(Padding padding, Truncation truncation, int maxLength) {
  /** No padding, no truncation: HF's defaults. */
  public static final EncodeOptions NONE = new EncodeOptions(Padding.NONE, Truncation.NONE, 0);

  public EncodeOptions {
    if (padding == null || truncation == null) {
      throw new IllegalArgumentException("EncodeOptions: expected non-null padding and truncation, found padding="
          + padding + ", truncation=" + truncation);
    }
    if (maxLength < 0) {
      throw new IllegalArgumentException("EncodeOptions.maxLength: expected >= 0 (0 = unset), found " + maxLength);
    }
  }
}
