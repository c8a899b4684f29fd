package io.github.tflxmert.graph;

import io.github.tflxmert.config.LxmertConfig;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat32;

/**
 * TFLxmertIntermediate + TFLxmertOutput ({@code intermediate}/{@code output}, or {@code lang_inter}/
 * {@code lang_output}, {@code visn_inter}/{@code visn_output}): {@code LN(dense2(act(dense1(x))) + x)},
 * x [B,L,H], inner width I.
 */
final class FeedForward {
  private final Layers.Dense inter;
  private final Layers.Dense out;
  private final Layers.LayerNorm layerNorm;
  private final String act;
  private final BuildContext ctx;
  private final float dropout;

  FeedForward(ModelScope ms, BuildContext ctx, String interPath, String outPath, LxmertConfig c) {
    inter = Layers.Dense.create(ms, interPath + "/dense", c.hiddenSize(), c.intermediateSize(), ctx);
    out = Layers.Dense.create(ms, outPath + "/dense", c.intermediateSize(), c.hiddenSize(), ctx);
    layerNorm = Layers.LayerNorm.create(ms, outPath + "/LayerNorm", c.hiddenSize(), c.layerNormEps(), ctx.fusion());
    act = c.hiddenAct();
    this.ctx = ctx;
    dropout = c.hiddenDropoutProb();
  }

  Operand<TFloat32> apply(Ops tf, Operand<TFloat32> x) {
    Operand<TFloat32> y;
    if (inter.kernel16() != null && out.kernel16() != null) {
      // Mixed bfloat16: the intermediate [B,L,I] stays the bfloat16 tensor the first Dense made (casting it up and
      // back down for the second would give the same values, at two passes over the widest activation)
      Operand<TBfloat16> i16 = inter.apply16(tf, tf.dtypes.cast(x, TBfloat16.class), act);
      y = tf.dtypes.cast(out.apply16(tf, i16, null), TFloat32.class);
    } else {
      y = out.apply(tf, inter.apply(tf, x, act));     // [B,L,I] in between
    }
    return layerNorm.apply(tf, tf.math.add(ctx.dropout(tf, y, dropout), x));
  }
}
