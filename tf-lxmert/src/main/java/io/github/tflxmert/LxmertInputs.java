package io.github.tflxmert;

import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.array.IntArray;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.NpyArray;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One batch of LXMERT inputs, named and shaped as in Hugging Face's {@code TFLxmertModel.call}
 * (B batch, S text length, N regions, F = {@code visual_feat_dim}):
 * <ul>
 *   <li>{@code input_ids} int [B,S], each in [0, vocab_size)</li>
 *   <li>{@code attention_mask} int [B,S] of 0/1 (default all ones)</li>
 *   <li>{@code token_type_ids} int [B,S], each in [0, type_vocab_size) (default zeros)</li>
 *   <li>{@code visual_feats} float [B,N,F], finite</li>
 *   <li>{@code visual_pos} float [B,N,4], normalised boxes (x1, y1, x2, y2), finite; coordinates outside [0, 1]
 *       are accepted with a warning (see {@link #validate(LxmertConfig)})</li>
 *   <li>{@code visual_attention_mask} int [B,N] of 0/1, or absent (HF: no visual masking)</li>
 * </ul>
 * Construction checks only that the arrays agree with each other; {@link #validate(LxmertConfig)} checks them
 * against a model's config. Both throw {@link IllegalArgumentException} naming the field, expected and found.
 * Immutable (the arrays are shared, not copied); thread-safe; no native memory.
 */
public final class LxmertInputs {
  private static final Logger LOG = LoggerFactory.getLogger(LxmertInputs.class);
  private static final AtomicBoolean BOX_WARNING_LOGGED = new AtomicBoolean();

  private final IntArray inputIds;
  private final IntArray attentionMask;
  private final IntArray tokenTypeIds;
  private final FloatArray visualFeats;
  private final FloatArray visualPos;
  private final IntArray visualAttentionMask; // nullable

  private LxmertInputs(Builder b) {
    this.inputIds = required(b.inputIds, "input_ids");
    this.visualFeats = required(b.visualFeats, "visual_feats");
    this.visualPos = required(b.visualPos, "visual_pos");
    rank("input_ids", inputIds.shape(), 2);
    rank("visual_feats", visualFeats.shape(), 3);
    rank("visual_pos", visualPos.shape(), 3);
    long batch = inputIds.dim(0);
    long text = inputIds.dim(1);
    this.attentionMask = b.attentionMask != null ? b.attentionMask : IntArray.filled(batch, text, 1);
    this.tokenTypeIds = b.tokenTypeIds != null ? b.tokenTypeIds : IntArray.filled(batch, text, 0);
    this.visualAttentionMask = b.visualAttentionMask;
    long regions = visualFeats.dim(1);
    sameShape("attention_mask", attentionMask.shape(), new long[] {batch, text});
    sameShape("token_type_ids", tokenTypeIds.shape(), new long[] {batch, text});
    if (visualFeats.dim(0) != batch) {
      throw new IllegalArgumentException("visual_feats: expected batch size " + batch + " (from input_ids), found "
          + visualFeats.dim(0) + " in shape " + Arrays.toString(visualFeats.shape()));
    }
    sameShape("visual_pos", new long[] {visualPos.dim(0), visualPos.dim(1)}, new long[] {batch, regions},
        visualPos.shape());
    if (visualAttentionMask != null) {
      sameShape("visual_attention_mask", visualAttentionMask.shape(), new long[] {batch, regions});
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The input names HF's signature uses, in its order. */
  public static final java.util.List<String> NAMES = java.util.List.of("input_ids", "attention_mask", "token_type_ids",
      "visual_feats", "visual_pos", "visual_attention_mask");

  /**
   * Inputs from arrays named as HF names them (e.g. the {@code .npy} files of a reference directory case): ids and
   * masks as integer arrays, features and boxes as float arrays; absent optional inputs take their defaults.
   *
   * @throws IllegalArgumentException naming an input that is unknown, missing or of the wrong kind
   */
  public static LxmertInputs fromArrays(Map<String, NpyArray> arrays) {
    for (String n : arrays.keySet()) {
      if (!NAMES.contains(n)) {
        throw new IllegalArgumentException("input " + n + ": expected one of " + NAMES + ", found " + n);
      }
    }
    Builder b = builder().inputIds(ints(arrays, "input_ids")).visualFeats(floats(arrays, "visual_feats"))
        .visualPos(floats(arrays, "visual_pos"));
    if (arrays.containsKey("attention_mask")) {
      b.attentionMask(ints(arrays, "attention_mask"));
    }
    if (arrays.containsKey("token_type_ids")) {
      b.tokenTypeIds(ints(arrays, "token_type_ids"));
    }
    if (arrays.containsKey("visual_attention_mask")) {
      b.visualAttentionMask(ints(arrays, "visual_attention_mask"));
    }
    return b.build();
  }

  private static NpyArray array(Map<String, NpyArray> arrays, String name) {
    NpyArray a = arrays.get(name);
    if (a == null) {
      throw new IllegalArgumentException(name + ": expected an array, found none");
    }
    return a;
  }

  private static IntArray ints(Map<String, NpyArray> arrays, String name) {
    NpyArray a = array(arrays, name);
    if (a.isFloat()) {
      throw new IllegalArgumentException(name + ": expected an integer array, found " + a.dtype() + " in " + a.source());
    }
    return a.toIntArray();
  }

  private static FloatArray floats(Map<String, NpyArray> arrays, String name) {
    NpyArray a = array(arrays, name);
    if (!a.isFloat()) {
      throw new IllegalArgumentException(name + ": expected a float array, found " + a.dtype() + " in " + a.source());
    }
    return a.toFloatArray();
  }

  public IntArray inputIds() {
    return inputIds;
  }

  public IntArray attentionMask() {
    return attentionMask;
  }

  public IntArray tokenTypeIds() {
    return tokenTypeIds;
  }

  public FloatArray visualFeats() {
    return visualFeats;
  }

  public FloatArray visualPos() {
    return visualPos;
  }

  /** The visual mask, or {@code null} when none was given (HF then masks no region). */
  public IntArray visualAttentionMask() {
    return visualAttentionMask;
  }

  /** The visual mask, or all ones when none was given: numerically the same as no mask (the added term is 0). */
  public IntArray visualAttentionMaskOrOnes() {
    return visualAttentionMask != null ? visualAttentionMask : IntArray.filled(batchSize(), regionCount(), 1);
  }

  public int batchSize() {
    return (int) inputIds.dim(0);
  }

  public int textLength() {
    return (int) inputIds.dim(1);
  }

  public int regionCount() {
    return (int) visualFeats.dim(1);
  }

  /**
   * Checks these inputs against a model configuration, before anything reaches TensorFlow: no empty dimension
   * (batch, text length, regions), text no longer than {@code max_position_embeddings}, ids within
   * {@code [0, vocab_size)}, token types within {@code [0, type_vocab_size)}, masks of 0/1, feature width
   * {@code visual_feat_dim}, box width 4, finite features and boxes. Shape agreement between the inputs (one
   * batch size, one text length, one region count) was already checked by {@link Builder#build()}.
   *
   * <p><b>Boxes outside [0, 1] are accepted, with a warning.</b> Hugging Face's {@code TFLxmertModel} does not
   * check {@code visual_pos}, and legitimate boxes can sit slightly outside the unit square (detector output
   * rounded, boxes not clipped to the image), so rejecting them would refuse inputs the Python model takes and
   * break parity. The common mistake, pixel coordinates instead of coordinates divided by the image width and
   * height, gives meaningless scores without any error, so the first such call in a JVM logs a warning (later
   * ones log at debug level) naming the first offending coordinate; {@link #visualPosWarning()} returns the same
   * text for callers that want to reject or report it themselves.
   *
   * @return this, for chaining
   * @throws IllegalArgumentException naming the field, what was expected and what was found
   */
  public LxmertInputs validate(LxmertConfig config) {
    if (batchSize() == 0) {
      throw new IllegalArgumentException("input_ids: expected a batch of at least 1, found an empty batch (shape "
          + Arrays.toString(inputIds.shape()) + ")");
    }
    if (textLength() == 0) {
      throw new IllegalArgumentException("input_ids: expected a text length of at least 1, found 0 (shape "
          + Arrays.toString(inputIds.shape()) + ")");
    }
    if (regionCount() == 0) {
      throw new IllegalArgumentException("visual_feats: expected at least 1 region, found 0 (shape "
          + Arrays.toString(visualFeats.shape()) + ")");
    }
    if (textLength() > config.maxPositionEmbeddings()) {
      throw new IllegalArgumentException("input_ids: expected a text length <= max_position_embeddings ("
          + config.maxPositionEmbeddings() + "), found " + textLength());
    }
    inRange("input_ids", inputIds, 0, config.vocabSize(), "vocab_size");
    inRange("token_type_ids", tokenTypeIds, 0, config.typeVocabSize(), "type_vocab_size");
    inRange("attention_mask", attentionMask, 0, 2, null);
    if (visualAttentionMask != null) {
      inRange("visual_attention_mask", visualAttentionMask, 0, 2, null);
    }
    if (visualFeats.dim(2) != config.visualFeatDim()) {
      throw new IllegalArgumentException("visual_feats: expected last dimension visual_feat_dim = "
          + config.visualFeatDim() + ", found " + visualFeats.dim(2) + " in shape " + Arrays.toString(visualFeats.shape()));
    }
    if (visualPos.dim(2) != 4) {
      throw new IllegalArgumentException("visual_pos: expected last dimension 4 (x1, y1, x2, y2), found "
          + visualPos.dim(2) + " in shape " + Arrays.toString(visualPos.shape()));
    }
    finite("visual_feats", visualFeats);
    finite("visual_pos", visualPos);
    Optional<String> boxes = visualPosWarning();
    if (boxes.isPresent()) {
      if (BOX_WARNING_LOGGED.compareAndSet(false, true)) {
        LOG.warn("{} (logged once; later occurrences at debug level)", boxes.get());
      } else {
        LOG.debug("{}", boxes.get());
      }
    }
    return this;
  }

  /**
   * A description of the first {@code visual_pos} coordinate outside [0, 1] (field and index, expected,
   * found), or empty when every box lies in the unit square. Such inputs are accepted; see
   * {@link #validate(LxmertConfig)} for why.
   */
  public Optional<String> visualPosWarning() {
    float[] d = visualPos.data();
    for (int i = 0; i < d.length; i++) {
      if (d[i] < 0f || d[i] > 1f) {
        return Optional.of("visual_pos" + Arrays.toString(unravel(visualPos.shape(), i))
            + ": expected a box coordinate normalised to [0, 1] (pixels divided by the image width or height), found "
            + d[i] + "; accepted as Hugging Face accepts it, but pixel coordinates give meaningless outputs");
      }
    }
    return Optional.empty();
  }

  private static void inRange(String field, IntArray a, int lo, int hiExclusive, String bound) {
    int[] d = a.data();
    for (int i = 0; i < d.length; i++) {
      if (d[i] < lo || d[i] >= hiExclusive) {
        long[] idx = unravel(a.shape(), i);
        String expected = bound == null ? "0 or 1" : "a value in [" + lo + ", " + hiExclusive + ") (" + bound + " = " + hiExclusive + ")";
        throw new IllegalArgumentException(field + Arrays.toString(idx) + ": expected " + expected + ", found " + d[i]);
      }
    }
  }

  private static void finite(String field, FloatArray a) {
    float[] d = a.data();
    for (int i = 0; i < d.length; i++) {
      if (!Float.isFinite(d[i])) {
        throw new IllegalArgumentException(field + Arrays.toString(unravel(a.shape(), i))
            + ": expected a finite number, found " + d[i]);
      }
    }
  }

  private static long[] unravel(long[] shape, long flat) {
    long[] idx = new long[shape.length];
    for (int i = shape.length - 1; i >= 0; i--) {
      idx[i] = shape[i] == 0 ? 0 : flat % shape[i];
      flat = shape[i] == 0 ? 0 : flat / shape[i];
    }
    return idx;
  }

  private static <T> T required(T v, String field) {
    if (v == null) {
      throw new IllegalArgumentException(field + ": required, found nothing");
    }
    return v;
  }

  private static void rank(String field, long[] shape, int rank) {
    if (shape.length != rank) {
      throw new IllegalArgumentException(field + ": expected rank " + rank + ", found rank " + shape.length
          + " (shape " + Arrays.toString(shape) + ")");
    }
  }

  private static void sameShape(String field, long[] found, long[] expected) {
    sameShape(field, found, expected, found);
  }

  private static void sameShape(String field, long[] found, long[] expected, long[] full) {
    if (!Arrays.equals(found, expected)) {
      throw new IllegalArgumentException(field + ": expected shape " + Arrays.toString(expected)
          + " (batch and lengths from input_ids / visual_feats), found " + Arrays.toString(full));
    }
  }

  @Override
  public String toString() {
    return "LxmertInputs[B=" + batchSize() + ", S=" + textLength() + ", N=" + regionCount() + ", F="
        + visualFeats.dim(2) + (visualAttentionMask != null ? ", visual mask" : "") + "]";
  }

  /** Builds {@link LxmertInputs}; {@code input_ids}, {@code visual_feats} and {@code visual_pos} are required. */
  public static final class Builder {
    private IntArray inputIds;
    private IntArray attentionMask;
    private IntArray tokenTypeIds;
    private FloatArray visualFeats;
    private FloatArray visualPos;
    private IntArray visualAttentionMask;

    public Builder inputIds(IntArray v) {
      this.inputIds = v;
      return this;
    }

    public Builder inputIds(int[][] v) {
      return inputIds(IntArray.of(v));
    }

    public Builder attentionMask(IntArray v) {
      this.attentionMask = v;
      return this;
    }

    public Builder attentionMask(int[][] v) {
      return attentionMask(v == null ? null : IntArray.of(v));
    }

    public Builder tokenTypeIds(IntArray v) {
      this.tokenTypeIds = v;
      return this;
    }

    public Builder tokenTypeIds(int[][] v) {
      return tokenTypeIds(v == null ? null : IntArray.of(v));
    }

    public Builder visualFeats(FloatArray v) {
      this.visualFeats = v;
      return this;
    }

    public Builder visualPos(FloatArray v) {
      this.visualPos = v;
      return this;
    }

    public Builder visualAttentionMask(IntArray v) {
      this.visualAttentionMask = v;
      return this;
    }

    public Builder visualAttentionMask(int[][] v) {
      return visualAttentionMask(v == null ? null : IntArray.of(v));
    }

    /** @throws IllegalArgumentException if a required field is missing or the shapes disagree */
    public LxmertInputs build() {
      return new LxmertInputs(this);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof LxmertInputs x && inputIds.equals(x.inputIds) && attentionMask.equals(x.attentionMask)
        && tokenTypeIds.equals(x.tokenTypeIds) && visualFeats.equals(x.visualFeats) && visualPos.equals(x.visualPos)
        && Objects.equals(visualAttentionMask, x.visualAttentionMask);
  }

  @Override
  public int hashCode() {
    return Objects.hash(inputIds, visualFeats);
  }
}
