package io.github.tflxmert.graph;

import io.github.tflxmert.config.LxmertConfig;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * TFLxmertLayer ({@code encoder/layer_._i} for language, {@code encoder/r_layers_._i} for vision):
 * self-attention, then the feed-forward block. x [B,L,H] → [B,L,H], probabilities [B,h,L,L].
 */
final class LxmertLayer {
  private final AttentionLayer attention;
  private final FeedForward ffn;

  LxmertLayer(ModelScope ms, BuildContext ctx, String path, LxmertConfig c) {
    attention = new AttentionLayer(ms, ctx, path + "/attention", "self", c);
    ffn = new FeedForward(ms, ctx, path + "/intermediate", path + "/output", c);
  }

  Attention.Result apply(Ops tf, Operand<TFloat32> x, Operand<TFloat32> mask) {
    Attention.Result a = attention.apply(tf, x, x, mask);
    return new Attention.Result(ffn.apply(tf, a.context()), a.probs());
  }
}
