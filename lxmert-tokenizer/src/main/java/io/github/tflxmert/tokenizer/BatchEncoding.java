package io.github.tflxmert.tokenizer;

import io.github.tflxmert.array.IntArray;
import java.util.Arrays;

/**
 * A batch as HF's tokenizer {@code __call__} returns it: one row per input, padded as asked. Without padding (or
 * when a row is longer than {@code max_length} and was not truncated) rows may differ in length, as HF's lists do;
 * {@link #inputIds()} and friends then refuse, naming the row lengths. Immutable by contract (arrays shared);
 * thread-safe for reading.
 *
 * @param inputIdRows       [B][S_b] ids
 * @param tokenTypeIdRows   [B][S_b] 0/1
 * @param attentionMaskRows [B][S_b] 1 real token, 0 padding
 */
public record BatchEncoding(int[][] inputIdRows, int[][] tokenTypeIdRows, int[][] attentionMaskRows) {

  public int batchSize() {
    return inputIdRows.length;
  }

  /** True when every row has the same length (always so after padding to the longest row). */
  public boolean isRectangular() {
    for (int[] row : inputIdRows) {
      if (row.length != inputIdRows[0].length) {
        return false;
      }
    }
    return true;
  }

  /** {@code input_ids} [B,S] for {@code LxmertInputs}. */
  public IntArray inputIds() {
    return matrix("input_ids", inputIdRows);
  }

  /** {@code token_type_ids} [B,S] for {@code LxmertInputs}. */
  public IntArray tokenTypeIds() {
    return matrix("token_type_ids", tokenTypeIdRows);
  }

  /** {@code attention_mask} [B,S] for {@code LxmertInputs}. */
  public IntArray attentionMask() {
    return matrix("attention_mask", attentionMaskRows);
  }

  private IntArray matrix(String name, int[][] rows) {
    if (!isRectangular()) {
      int[] lengths = Arrays.stream(rows).mapToInt(r -> r.length).toArray();
      throw new IllegalStateException(name + ": expected rows of one length (encode with Padding.LONGEST or "
          + "MAX_LENGTH), found row lengths " + Arrays.toString(lengths));
    }
    return IntArray.of(rows);
  }
}
