package io.github.tflxmert.graph;

import io.github.tflxmert.config.LxmertConfig;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * TFLxmertSelfAttentionLayer ({@code attention}, {@code lang_self_att}, {@code visn_self_att}: sub-layers
 * {@code self} + {@code output}) and TFLxmertCrossAttentionLayer ({@code visual_attention}: {@code att} +
 * {@code output}); both are {@code LN(dense(attention(x, ctx, mask)) + x)}.
 */
final class AttentionLayer {
  private final Attention attention;
  private final Layers.Dense dense;
  private final Layers.LayerNorm layerNorm;
  private final BuildContext build;
  private final float dropout;

  /** @param coreName "self" for self-attention layers, "att" for the cross-attention layer */
  AttentionLayer(ModelScope ms, BuildContext ctx, String path, String coreName, LxmertConfig c) {
    attention = new Attention(ms, ctx, path + "/" + coreName, c);
    this.build = ctx;
    dropout = c.hiddenDropoutProb();
    dense = Layers.Dense.create(ms, path + "/output/dense", c.hiddenSize(), c.hiddenSize(), ctx);
    layerNorm = Layers.LayerNorm.create(ms, path + "/output/LayerNorm", c.hiddenSize(), c.layerNormEps(),
        ctx.fusion());
  }

  /** x [B,Q,H] attends to ctx [B,K,H]; returns the output [B,Q,H] and probabilities [B,h,Q,K]. */
  Attention.Result apply(Ops tf, Operand<TFloat32> x, Operand<TFloat32> ctx, Operand<TFloat32> mask) {
    Attention.Result a = attention.apply(tf, x, ctx, mask);
    // Mixed bfloat16: the dense reads the bfloat16 context as computed (the float32 copy is then never run).
    Operand<TFloat32> projected = a.context16() != null && dense.kernel16() != null
        ? tf.dtypes.cast(dense.apply16(tf, a.context16(), null), TFloat32.class) : dense.apply(tf, a.context());
    Operand<TFloat32> out = layerNorm.apply(tf, tf.math.add(build.dropout(tf, projected, dropout), x));
    return new Attention.Result(out, a.probs());
  }
}
