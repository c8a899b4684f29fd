package io.github.tflxmert.graph;

import io.github.tflxmert.config.LxmertConfig;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * {@code lxmert/encoder/visn_fc} (TFLxmertVisualFeatureEncoder):
 * {@code (LN(visn_fc(feats)) + LN(box_fc(boxes))) / 2}, feats [B,N,F], boxes [B,N,4] → [B,N,H].
 */
final class VisualFeatureEncoder {
  private static final String PATH = "lxmert/encoder/visn_fc";
  private final Layers.Dense visnFc;
  private final Layers.LayerNorm visnLayerNorm;
  private final Layers.Dense boxFc;
  private final Layers.LayerNorm boxLayerNorm;
  private final BuildContext ctx;
  private final float dropout;

  VisualFeatureEncoder(ModelScope ms, BuildContext ctx, LxmertConfig c) {
    long h = c.hiddenSize();
    this.ctx = ctx;
    dropout = c.hiddenDropoutProb();
    visnFc = Layers.Dense.create(ms, PATH + "/visn_fc", c.visualFeatDim(), h, ctx);
    visnLayerNorm = Layers.LayerNorm.create(ms, PATH + "/visn_layer_norm", h, c.layerNormEps(), ctx.fusion());
    boxFc = Layers.Dense.create(ms, PATH + "/box_fc", c.visualPosDim(), h, ctx);
    boxLayerNorm = Layers.LayerNorm.create(ms, PATH + "/box_layer_norm", h, c.layerNormEps(), ctx.fusion());
  }

  Operand<TFloat32> apply(Ops tf, Operand<TFloat32> feats, Operand<TFloat32> boxes) {
    Operand<TFloat32> x = visnLayerNorm.apply(tf, visnFc.apply(tf, feats));
    Operand<TFloat32> y = boxLayerNorm.apply(tf, boxFc.apply(tf, boxes));
    return ctx.dropout(tf, tf.math.div(tf.math.add(x, y), tf.constant(2f)), dropout);
  }
}
