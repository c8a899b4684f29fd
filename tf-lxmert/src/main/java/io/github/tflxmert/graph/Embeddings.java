package io.github.tflxmert.graph;

import io.github.tflxmert.config.LxmertConfig;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * {@code lxmert/embeddings} (TFLxmertEmbeddings): word + position + token-type embeddings, then LayerNorm.
 * Weights: word_embeddings/weight [V,H], position_embeddings/embeddings [P,H],
 * token_type_embeddings/embeddings [T,H], LayerNorm/{gamma,beta} [H].
 */
final class Embeddings {
  static final String PATH = "lxmert/embeddings";
  final Operand<TFloat32> wordEmbeddings;   // [V,H], also the tied LM decoder; null under mixed bfloat16
  final Operand<TBfloat16> wordEmbeddings16; // [V,H] held in bfloat16 under mixed bfloat16, else null
  private final Operand<TFloat32> positionEmbeddings;
  private final Operand<TFloat32> tokenTypeEmbeddings;
  private final Layers.LayerNorm layerNorm;
  private final BuildContext ctx;
  private final float dropout;

  Embeddings(ModelScope ms, BuildContext ctx, LxmertConfig c) {
    long h = c.hiddenSize();
    this.ctx = ctx;
    dropout = c.hiddenDropoutProb();
    // Mixed bfloat16 holds the word embeddings (V×H, the largest weight) once, in bfloat16: the LM decoder
    // multiplies by them in bfloat16 and the lookup widens the rows it gathers back to float32.
    wordEmbeddings = ctx.mixedBfloat16() ? null : ms.weight(PATH + "/word_embeddings", "weight", c.vocabSize(), h);
    wordEmbeddings16 = ctx.mixedBfloat16() ? ms.weightBfloat16(PATH + "/word_embeddings", "weight", c.vocabSize(), h)
        : null;
    tokenTypeEmbeddings = ms.weight(PATH + "/token_type_embeddings", "embeddings", c.typeVocabSize(), h);
    positionEmbeddings = ms.weight(PATH + "/position_embeddings", "embeddings", c.maxPositionEmbeddings(), h);
    layerNorm = Layers.LayerNorm.create(ms, PATH + "/LayerNorm", h, c.layerNormEps(), ctx.fusion());
  }

  /** ids, tokenTypes [B,S] → [B,S,H]. */
  Operand<TFloat32> apply(Ops tf, Operand<TInt32> ids, Operand<TInt32> tokenTypes) {
    Operand<TInt32> axis0 = tf.constant(0);
    Operand<TFloat32> words = wordEmbeddings != null ? tf.gather(wordEmbeddings, ids, axis0)  // [B,S,H]
        : tf.dtypes.cast(tf.gather(wordEmbeddings16, ids, axis0), TFloat32.class);
    Operand<TInt32> seq = tf.gather(tf.shape(ids), tf.constant(1), axis0);                    // S
    Operand<TInt32> positions = tf.expandDims(tf.range(tf.constant(0), seq, tf.constant(1)), axis0); // [1,S]
    Operand<TFloat32> pos = tf.gather(positionEmbeddings, positions, axis0);                  // [1,S,H]
    Operand<TFloat32> types = tf.gather(tokenTypeEmbeddings, tokenTypes, axis0);             // [B,S,H]
    return ctx.dropout(tf, layerNorm.apply(tf, tf.math.add(tf.math.add(words, pos), types)), dropout);
  }
}
