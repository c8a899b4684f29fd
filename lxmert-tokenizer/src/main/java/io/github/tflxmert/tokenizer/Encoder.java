package io.github.tflxmert.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Set;

/**
 * The encoding layer over tokenized text (HF's {@code prepare_for_model} and {@code pad}; in Hugging Face's
 * tokenizers library the post-processor and padding): {@code [CLS] A [SEP] (B [SEP])} with type ids, offsets and
 * sequence ids; truncation and padding of batches; and the special-token helpers of HF's tokenizer page
 * ({@code build_inputs_with_special_tokens}, {@code get_special_tokens_mask},
 * {@code create_token_type_ids_from_sequences}). Immutable; thread-safe.
 */
final class Encoder {
  private static final System.Logger LOG = System.getLogger(LxmertTokenizer.class.getName());

  private final int clsId;
  private final int sepId;
  private final int padId;
  private final String clsToken;
  private final String sepToken;
  private final int modelMaxLength;
  private final Set<Integer> specialIds;

  Encoder(int clsId, int sepId, int padId, String clsToken, String sepToken, int modelMaxLength,
      Set<Integer> specialIds) {
    this.clsId = clsId;
    this.sepId = sepId;
    this.padId = padId;
    this.clsToken = clsToken;
    this.sepToken = sepToken;
    this.modelMaxLength = modelMaxLength;
    this.specialIds = specialIds;
  }

  /** {@code [CLS] a [SEP]} or {@code [CLS] a [SEP] b [SEP]} with tokens, offsets and sequence ids. */
  Encoding encode(Tokens a, Tokens b) {
    int n = a.size + 2 + (b == null ? 0 : b.size + 1);
    int[] ids = new int[n];
    int[] types = new int[n];
    int[] mask = new int[n];
    int[] offsets = new int[2 * n];
    int[] seq = new int[n];
    List<String> tokens = new ArrayList<>(n);
    Arrays.fill(mask, 1);
    int k = 0;
    ids[k] = clsId;
    seq[k++] = -1;
    tokens.add(clsToken);
    k = copy(a, 0, ids, types, offsets, seq, tokens, k);
    ids[k] = sepId;
    seq[k++] = -1;
    tokens.add(sepToken);
    if (b != null) {
      k = copy(b, 1, ids, types, offsets, seq, tokens, k);
      ids[k] = sepId;
      types[k] = 1;
      seq[k++] = -1;
      tokens.add(sepToken);
    }
    return new Encoding(ids, types, mask, Collections.unmodifiableList(tokens), offsets, seq);
  }

  private static int copy(Tokens t, int type, int[] ids, int[] types, int[] offsets, int[] seq, List<String> tokens,
      int k) {
    for (int i = 0; i < t.size; i++, k++) {
      ids[k] = t.ids[i];
      types[k] = type;
      seq[k] = type;
      offsets[2 * k] = t.starts[i];
      offsets[2 * k + 1] = t.ends[i];
      tokens.add(t.token(i));
    }
    return k;
  }

  /**
   * Rows of token ids ({@code pairs} null for single texts) truncated one by one, given their special tokens, then
   * padded together, with padding and truncation resolved as HF's {@code _get_padding_truncation_strategies}.
   */
  BatchEncoding batch(List<int[]> texts, List<int[]> pairs, EncodeOptions opts) {
    Padding padding = opts.padding();
    Truncation truncation = opts.truncation();
    int maxLength = opts.maxLength();
    if (maxLength == 0) {
      if (padding == Padding.MAX_LENGTH) {
        if (modelMaxLength == 0) {
          padding = Padding.NONE;
        } else {
          maxLength = modelMaxLength;
        }
      }
      if (truncation != Truncation.NONE) {
        if (modelMaxLength == 0) {
          truncation = Truncation.NONE;
        } else {
          maxLength = modelMaxLength;
        }
      }
    }
    int batch = texts.size();
    int[][] ids = new int[batch][];
    int[][] types = new int[batch][];
    for (int r = 0; r < batch; r++) {
      int[] a = texts.get(r);
      int[] b = pairs == null ? null : pairs.get(r);
      int total = a.length + (b == null ? 2 : b.length + 3);
      if (truncation != Truncation.NONE && maxLength > 0 && total > maxLength) {
        int[][] cut = truncate(a, b, total - maxLength, truncation);
        a = cut[0];
        b = cut[1];
      }
      ids[r] = withSpecialTokens(a, b);
      types[r] = tokenTypeIds(a, b);
    }
    int target = -1;
    if (padding == Padding.LONGEST) {
      for (int[] row : ids) {
        target = Math.max(target, row.length);
      }
    } else if (padding == Padding.MAX_LENGTH) {
      target = maxLength;
    }
    int[][] mask = new int[batch][];
    for (int r = 0; r < batch; r++) {
      int len = ids[r].length;
      int padded = Math.max(len, target);
      mask[r] = new int[padded];
      Arrays.fill(mask[r], 0, len, 1);
      if (padded > len) {
        ids[r] = Arrays.copyOf(ids[r], padded);
        Arrays.fill(ids[r], len, padded, padId);
        types[r] = Arrays.copyOf(types[r], padded); // pad_token_type_id = 0
      }
    }
    return new BatchEncoding(ids, types, mask);
  }

  /** HF {@code truncate_sequences} with {@code truncation_side="right"}, {@code stride=0}. */
  private static int[][] truncate(int[] a, int[] b, int remove, Truncation strategy) {
    if (strategy == Truncation.ONLY_FIRST || (strategy == Truncation.LONGEST_FIRST && b == null)) {
      if (a.length > remove) {
        a = Arrays.copyOf(a, a.length - remove);
      } else {
        LOG.log(System.Logger.Level.ERROR, "We need to remove " + remove + " tokens to truncate the input but the "
            + "first sequence has a length " + a.length + "; nothing was truncated (as in HF)");
      }
    } else if (strategy == Truncation.LONGEST_FIRST) {
      // HF's closed form: take the length difference from the longer one, then split the rest.
      int firstRemove = Math.min(Math.abs(b.length - a.length), remove);
      int secondRemove = remove - firstRemove;
      int fromA;
      int fromB;
      if (a.length > b.length) {
        fromA = firstRemove + secondRemove / 2;
        fromB = secondRemove - secondRemove / 2;
      } else {
        fromA = secondRemove / 2;
        fromB = firstRemove + secondRemove - secondRemove / 2;
      }
      a = Arrays.copyOf(a, Math.max(0, a.length - fromA));
      b = Arrays.copyOf(b, Math.max(0, b.length - fromB));
    } else if (strategy == Truncation.ONLY_SECOND && b != null) {
      if (b.length > remove) {
        b = Arrays.copyOf(b, b.length - remove);
      } else {
        LOG.log(System.Logger.Level.ERROR, "We need to remove " + remove + " tokens to truncate the input but the "
            + "second sequence has a length " + b.length + "; nothing was truncated (as in HF)");
      }
    }
    return new int[][] {a, b};
  }

  /** HF {@code build_inputs_with_special_tokens}: {@code [CLS] a [SEP]} or {@code [CLS] a [SEP] b [SEP]}. */
  int[] withSpecialTokens(int[] a, int[] b) {
    int n = a.length + 2 + (b == null ? 0 : b.length + 1);
    int[] ids = new int[n];
    ids[0] = clsId;
    System.arraycopy(a, 0, ids, 1, a.length);
    ids[a.length + 1] = sepId;
    if (b != null) {
      System.arraycopy(b, 0, ids, a.length + 2, b.length);
      ids[n - 1] = sepId;
    }
    return ids;
  }

  /** HF {@code create_token_type_ids_from_sequences}: 0 for {@code [CLS] a [SEP]}, 1 for {@code b [SEP]}. */
  int[] tokenTypeIds(int[] a, int[] b) {
    int first = a.length + 2;
    int[] types = new int[first + (b == null ? 0 : b.length + 1)];
    Arrays.fill(types, first, types.length, 1);
    return types;
  }

  /**
   * HF {@code get_special_tokens_mask}: 1 where {@link #withSpecialTokens} puts [CLS]/[SEP]; with
   * {@code alreadyHasSpecialTokens}, 1 for every id in {@code all_special_ids} (then {@code b} must be null).
   */
  int[] specialTokensMask(int[] a, int[] b, boolean alreadyHasSpecialTokens) {
    if (alreadyHasSpecialTokens) {
      if (b != null) {
        throw new IllegalArgumentException("getSpecialTokensMask: expected no second sequence when the ids already "
            + "have special tokens (alreadyHasSpecialTokens=true), found one of " + b.length + " ids");
      }
      int[] mask = new int[a.length];
      for (int i = 0; i < a.length; i++) {
        mask[i] = specialIds.contains(a[i]) ? 1 : 0;
      }
      return mask;
    }
    int[] mask = new int[a.length + 2 + (b == null ? 0 : b.length + 1)];
    mask[0] = 1;
    mask[a.length + 1] = 1;
    mask[mask.length - 1] = 1;
    return mask;
  }
}
