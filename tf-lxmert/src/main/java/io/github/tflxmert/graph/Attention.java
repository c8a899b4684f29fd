package io.github.tflxmert.graph;

import io.github.tflxmert.config.LxmertConfig;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.train.BatchMatMul;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.family.TType;

/**
 * TFLxmertAttention (Keras names {@code self} or {@code att}): scaled dot-product attention of queries from
 * {@code hidden} [B,Q,H] over keys/values from {@code context} [B,K,H], with an additive mask [B,1,1,K] or none.
 * Returns the context [B,Q,H] and the probabilities [B,h,Q,K].
 */
final class Attention {
  private final Layers.Dense query;
  private final Layers.Dense key;
  private final Layers.Dense value;
  private final int heads;
  private final int headSize;
  private final int hidden;
  private final BuildContext ctx;
  private final float probsDropout;

  Attention(ModelScope ms, BuildContext ctx, String path, LxmertConfig c) {
    hidden = c.hiddenSize();
    this.ctx = ctx;
    probsDropout = c.attentionProbsDropoutProb();
    heads = c.numAttentionHeads();
    headSize = c.headSize();
    query = Layers.Dense.create(ms, path + "/query", hidden, hidden, ctx);
    key = Layers.Dense.create(ms, path + "/key", hidden, hidden, ctx);
    value = Layers.Dense.create(ms, path + "/value", hidden, hidden, ctx);
  }

  /**
   * The context [B,Q,H] and probabilities [B,h,Q,K]; under mixed bfloat16 also the context as the bfloat16 tensor
   * it was computed as ({@code context16}; else null), so the next Dense need not cast it up and back down.
   */
  record Result(Operand<TFloat32> context, Operand<TFloat32> probs, Operand<TBfloat16> context16) {
    Result(Operand<TFloat32> context, Operand<TFloat32> probs) {
      this(context, probs, null);
    }
  }

  Result apply(Ops tf, Operand<TFloat32> hiddenStates, Operand<TFloat32> context, Operand<TFloat32> mask) {
    if (ctx.mixedBfloat16()) {
      return applyMixed(tf, hiddenStates, context, mask);
    }
    Operand<TInt32> batch = tf.gather(tf.shape(hiddenStates), tf.constant(0), tf.constant(0));
    Operand<TFloat32> q = splitHeads(tf, query.apply(tf, hiddenStates), batch);    // [B,h,Q,d]
    Operand<TFloat32> k = splitHeads(tf, key.apply(tf, context), batch);           // [B,h,K,d]
    Operand<TFloat32> v = splitHeads(tf, value.apply(tf, context), batch);         // [B,h,K,d]
    Operand<TFloat32> scores = tf.train.batchMatMul(q, k, TFloat32.class, BatchMatMul.adjY(true)); // [B,h,Q,K]
    Operand<TFloat32> probs = probabilities(tf, scores, mask);
    Operand<TFloat32> ctx = tf.train.batchMatMul(probs, v, TFloat32.class);       // [B,h,Q,d]
    return new Result(mergeHeads(tf, ctx, batch), probs);
  }

  /**
   * Mixed bfloat16: q, k, v projected and both batch matmuls in bfloat16; the scores are cast to float32 for the
   * scaling, the mask and the softmax, whose probabilities (an output) stay float32 and are rounded to bfloat16
   * only for the product with v.
   */
  private Result applyMixed(Ops tf, Operand<TFloat32> hiddenStates, Operand<TFloat32> context,
                            Operand<TFloat32> mask) {
    Operand<TInt32> batch = tf.gather(tf.shape(hiddenStates), tf.constant(0), tf.constant(0));
    Operand<TBfloat16> h16 = tf.dtypes.cast(hiddenStates, TBfloat16.class);
    Operand<TBfloat16> c16 = hiddenStates == context ? h16 : tf.dtypes.cast(context, TBfloat16.class);
    Operand<TBfloat16> q = splitHeads(tf, query.apply16(tf, h16, null), batch);    // [B,h,Q,d]
    Operand<TBfloat16> k = splitHeads(tf, key.apply16(tf, c16, null), batch);      // [B,h,K,d]
    Operand<TBfloat16> v = splitHeads(tf, value.apply16(tf, c16, null), batch);    // [B,h,K,d]
    Operand<TBfloat16> scores = batchMatMulV2(tf, q, k, true);                                       // [B,h,Q,K]
    Operand<TFloat32> probs = probabilities(tf, tf.dtypes.cast(scores, TFloat32.class), mask);
    Operand<TBfloat16> ctx = batchMatMulV2(tf, tf.dtypes.cast(probs, TBfloat16.class), v, false);     // [B,h,Q,d]
    Operand<TBfloat16> merged = mergeHeads(tf, ctx, batch);                                         // [B,Q,H]
    return new Result(tf.dtypes.cast(merged, TFloat32.class), probs, merged);
  }

  /**
   * {@code x · y} (y transposed when {@code adjY}) as {@code BatchMatMulV2}, the op Python's {@code tf.matmul}
   * builds. TF Java's {@code tf.train.batchMatMul} builds {@code BatchMatMulV3}, which TensorFlow's oneDNN pass does
   * not rewrite, so in bfloat16 it would run on Eigen's kernel instead of oneDNN's (AMX) matmul. Only the mixed
   * bfloat16 path uses it; the float32 path keeps its ops.
   */
  private static Operand<TBfloat16> batchMatMulV2(Ops tf, Operand<TBfloat16> x, Operand<TBfloat16> y, boolean adjY) {
    return tf.scope().opBuilder("BatchMatMulV2", "BatchMatMulV2")
        .addInput(x.asOutput()).addInput(y.asOutput())
        .setAttr("T", org.tensorflow.proto.DataType.DT_BFLOAT16).setAttr("adj_x", false).setAttr("adj_y", adjY)
        .build().<TBfloat16>output(0);
  }

  /** scores [B,h,Q,K] → softmax(scores / sqrt(d) + mask), in float32. */
  private Operand<TFloat32> probabilities(Ops tf, Operand<TFloat32> scores, Operand<TFloat32> mask) {
    scores = tf.math.div(scores, tf.math.sqrt(tf.constant((float) headSize)));
    if (mask != null && !ctx.has(GraphDefect.DROPPED_ATTENTION_MASK)) {
      scores = tf.math.add(scores, mask);
    }
    // HF's stable_softmax adds 1e-9 before the softmax (an XLA workaround; part of the exact op sequence).
    Operand<TFloat32> probs = tf.nn.softmax(tf.math.add(scores, tf.constant(1e-9f)));
    return ctx.dropout(tf, probs, probsDropout);                                   // training only
  }

  /** [B,h,Q,d] → [B,Q,H]. */
  private <T extends TType> Operand<T> mergeHeads(Ops tf, Operand<T> x, Operand<TInt32> batch) {
    Operand<T> t = tf.linalg.transpose(x, tf.constant(new int[] {0, 2, 1, 3}));    // [B,Q,h,d]
    return tf.reshape(t, tf.stack(List.of(batch, tf.constant(-1), tf.constant(hidden)))); // [B,Q,H]
  }

  private <T extends TType> Operand<T> splitHeads(Ops tf, Operand<T> x, Operand<TInt32> batch) {
    boolean transposed = ctx.has(GraphDefect.TRANSPOSED_HEAD_SPLIT);               // [B,L,d,h]: a defect
    Operand<T> r = tf.reshape(x, tf.stack(List.of(batch, tf.constant(-1),
        tf.constant(transposed ? headSize : heads), tf.constant(transposed ? heads : headSize)))); // [B,L,h,d]
    return tf.linalg.transpose(r, tf.constant(new int[] {0, 2, 1, 3}));            // [B,h,L,d]
  }
}
