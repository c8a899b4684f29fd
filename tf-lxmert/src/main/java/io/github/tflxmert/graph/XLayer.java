package io.github.tflxmert.graph;

import io.github.tflxmert.config.LxmertConfig;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * TFLxmertXLayer ({@code encoder/x_layers_._i}): one cross-attention layer, shared by both directions and fed
 * the layer's original inputs; then self-attention and feed-forward per modality. lang [B,S,H], visn [B,N,H].
 */
final class XLayer {
  private final AttentionLayer visualAttention;
  private final AttentionLayer langSelfAtt;
  private final AttentionLayer visnSelfAtt;
  private final FeedForward langFfn;
  private final FeedForward visnFfn;
  private final boolean swapped;

  XLayer(ModelScope ms, BuildContext ctx, String path, LxmertConfig c) {
    visualAttention = new AttentionLayer(ms, ctx, path + "/visual_attention", "att", c);
    langSelfAtt = new AttentionLayer(ms, ctx, path + "/lang_self_att", "self", c);
    visnSelfAtt = new AttentionLayer(ms, ctx, path + "/visn_self_att", "self", c);
    langFfn = new FeedForward(ms, ctx, path + "/lang_inter", path + "/lang_output", c);
    visnFfn = new FeedForward(ms, ctx, path + "/visn_inter", path + "/visn_output", c);
    swapped = ctx.has(GraphDefect.SWAPPED_CROSS_ATTENTION);
  }

  /**
   * Outputs of one cross-modality layer; crossProbs [B,h,S,N] are language queries over visual keys. Under
   * {@link GraphDefect#SWAPPED_CROSS_ATTENTION} the streams trade places: lang [B,N,H] with visnMask, visn [B,S,H]
   * with langMask.
   */
  record Result(Operand<TFloat32> lang, Operand<TFloat32> visn, Operand<TFloat32> crossProbs) {}

  Result apply(Ops tf, Operand<TFloat32> lang, Operand<TFloat32> langMask, Operand<TFloat32> visn,
               Operand<TFloat32> visnMask) {
    Attention.Result l1 = visualAttention.apply(tf, lang, visn, visnMask);      // [B,S,H]: language queries
    Attention.Result v1 = visualAttention.apply(tf, visn, lang, langMask);      // [B,N,H]: visual queries
    if (swapped) {                                                              // a defect, for mutation tests
      Attention.Result t = l1;
      l1 = v1;
      v1 = t;
      Operand<TFloat32> m = langMask;
      langMask = visnMask;
      visnMask = m;
    }
    Operand<TFloat32> l2 = langSelfAtt.apply(tf, l1.context(), l1.context(), langMask).context();
    Operand<TFloat32> v2 = visnSelfAtt.apply(tf, v1.context(), v1.context(), visnMask).context();
    return new Result(langFfn.apply(tf, l2), visnFfn.apply(tf, v2), l1.probs());
  }
}
