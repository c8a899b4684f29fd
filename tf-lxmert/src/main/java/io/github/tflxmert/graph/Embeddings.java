package io.github.tflxmert.graph;

import io.github.tflxmert.config.LxmertConfig;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * {@code lxmert/embeddings} (TFLxmertEmbeddings): word + position + token-type embeddings, then LayerNorm.
 * Weights: word_embeddings/weight [V,H], position_embeddings/embeddings [P,H],
 * token_type_embeddings/embeddings [T,H], LayerNorm/{gamma,beta} [H].
 */
final class Embeddings {
  static final String PATH = "lxmert/embeddings";
  final Operand<TFloat32> wordEmbeddings;   // [V,H], also the tied LM decoder
  private final Operand<TFloat32> positionEmbeddings;
  private final Operand<TFloat32> tokenTypeEmbeddings;
  private final Layers.LayerNorm layerNorm;
  private final BuildContext ctx;
  private final float dropout;

  Embeddings(ModelScope ms, BuildContext ctx, LxmertConfig c) {
    long h = c.hiddenSize();
    this.ctx = ctx;
    dropout = c.hiddenDropoutProb();
    wordEmbeddings = ms.weight(PATH + "/word_embeddings", "weight", c.vocabSize(), h);
    tokenTypeEmbeddings = ms.weight(PATH + "/token_type_embeddings", "embeddings", c.typeVocabSize(), h);
    positionEmbeddings = ms.weight(PATH + "/position_embeddings", "embeddings", c.maxPositionEmbeddings(), h);
    layerNorm = Layers.LayerNorm.create(ms, PATH + "/LayerNorm", h, c.layerNormEps(), ctx.fusion());
  }

  /** ids, tokenTypes [B,S] → [B,S,H]. */
  Operand<TFloat32> apply(Ops tf, Operand<TInt32> ids, Operand<TInt32> tokenTypes) {
    Operand<TInt32> axis0 = tf.constant(0);
    Operand<TFloat32> words = tf.gather(wordEmbeddings, ids, axis0);                          // [B,S,H]
    Operand<TInt32> seq = tf.gather(tf.shape(ids), tf.constant(1), axis0);                    // S
    Operand<TInt32> positions = tf.expandDims(tf.range(tf.constant(0), seq, tf.constant(1)), axis0); // [1,S]
    Operand<TFloat32> pos = tf.gather(positionEmbeddings, positions, axis0);                  // [1,S,H]
    Operand<TFloat32> types = tf.gather(tokenTypeEmbeddings, tokenTypes, axis0);             // [B,S,H]
    return ctx.dropout(tf, layerNorm.apply(tf, tf.math.add(tf.math.add(words, pos), types)), dropout);
  }
}
