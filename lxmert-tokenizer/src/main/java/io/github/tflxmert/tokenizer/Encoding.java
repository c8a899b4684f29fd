package io.github.tflxmert.tokenizer;

import java.util.List;

/**
 * One encoded sequence or pair, special tokens included: {@code [CLS] A [SEP]} or {@code [CLS] A [SEP] B [SEP]}.
 *
 * <p>{@code offsets} has two entries per token, start and end, as UTF-16 indices into the Java string the token came
 * from ({@code text.substring(start, end)}), so a token after a surrogate pair starts one index later than the
 * code point offset HF's fast tokenizer reports; {@link #codePointOffsets} converts. {@code [CLS]}/{@code [SEP]}
 * have (0, 0); tokens of the second sequence index into the second string. When normalisation merges characters
 * (NFC, a decomposed accent) every token made from them spans all of them. Immutable by contract: the arrays are
 * shared, not copied; thread-safe for reading.
 *
 * @param inputIds      vocabulary ids
 * @param tokenTypeIds  0 for [CLS] A [SEP], 1 for B [SEP]
 * @param attentionMask all ones (padding happens in {@link BatchEncoding})
 * @param tokens        the token strings
 * @param offsets       [start0, end0, start1, end1, ...] in UTF-16 units
 * @param sequenceIds   per token: -1 special, 0 first sequence, 1 second
 */
public record Encoding(int[] inputIds, int[] tokenTypeIds, int[] attentionMask, List<String> tokens, int[] offsets,
    int[] sequenceIds) {

  public int length() {
    return inputIds.length;
  }

  /**
   * The offsets as code point indices (what Python and HF's fast tokenizer report), given the strings that were
   * encoded ({@code pair} null for a single sequence).
   */
  public int[] codePointOffsets(String text, String pair) {
    int[] out = new int[offsets.length];
    for (int t = 0; t < sequenceIds.length; t++) {
      String s = sequenceIds[t] == 1 ? pair : text;
      if (sequenceIds[t] < 0) {
        continue;
      }
      out[2 * t] = s.codePointCount(0, offsets[2 * t]);
      out[2 * t + 1] = s.codePointCount(0, offsets[2 * t + 1]);
    }
    return out;
  }
}
