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
   * Outputs of one cross-modality layer and every attention it computes: crossProbs [B,h,S,N] are language
   * queries over visual keys (the one HF returns); visnCrossProbs [B,h,N,S] visual queries over language keys;
   * langSelfProbs [B,h,S,S] and visnSelfProbs [B,h,N,N] the self-attentions after the cross attention (HF computes
   * these three and drops them). Under {@link GraphDefect#SWAPPED_CROSS_ATTENTION} the streams trade places: lang
   * [B,N,H] with visnMask, visn [B,S,H] with langMask.
   */
  record Result(Operand<TFloat32> lang, Operand<TFloat32> visn, Operand<TFloat32> crossProbs,
                Operand<TFloat32> visnCrossProbs, Operand<TFloat32> langSelfProbs, Operand<TFloat32> visnSelfProbs) {}

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
    Attention.Result l2 = langSelfAtt.apply(tf, l1.context(), l1.context(), langMask);    // [B,S,H]
    Attention.Result v2 = visnSelfAtt.apply(tf, v1.context(), v1.context(), visnMask);    // [B,N,H]
    return new Result(langFfn.apply(tf, l2.context()), visnFfn.apply(tf, v2.context()), l1.probs(), v1.probs(),
        l2.probs(), v2.probs());
  }
}
