package io.github.tflxmert.graph;

import io.github.tflxmert.config.LxmertConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.linalg.MatMul;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/** The pretraining heads of TFLxmertForPreTraining, each under its HF Keras name. */
final class Heads {
  private Heads() {}

  /** TFLxmertPredictionHeadTransform: {@code LN(act(dense(x)))}, used by the LM head and the object head. */
  static final class Transform {
    private final Layers.Dense dense;
    private final Layers.LayerNorm layerNorm;
    private final String act;

    Transform(ModelScope ms, BuildContext ctx, String path, LxmertConfig c) {
      dense = Layers.Dense.create(ms, path + "/dense", c.hiddenSize(), c.hiddenSize(), ctx);
      layerNorm = Layers.LayerNorm.create(ms, path + "/LayerNorm", c.hiddenSize(), c.layerNormEps(), ctx.fusion());
      act = c.hiddenAct();
    }

    Operand<TFloat32> apply(Ops tf, Operand<TFloat32> x) {
      return layerNorm.apply(tf, dense.apply(tf, x, act));
    }
  }

  /**
   * {@code cls/predictions} (TFLxmertLMPredictionHead): transform, then logits against the word-embedding
   * matrix (tied; the checkpoint's duplicate copy is ignored) plus {@code cls/predictions/bias}.
   * lang [B,S,H] → [B,S,V].
   */
  static final class LmPrediction {
    private final Transform transform;
    private final Operand<TFloat32> wordEmbeddings;
    private final Operand<TBfloat16> wordEmbeddings16;
    private final Operand<TFloat32> bias;
    private final Operand<TBfloat16> bias16;   // mixed bfloat16: held in bfloat16, else null
    private final int hidden;
    private final int vocab;
    private final KernelFusion fusion;
    private final boolean packed;

    /** The word embeddings in float32, or ({@code wordEmbeddings16}) bfloat16 under mixed bfloat16; one is null. */
    LmPrediction(ModelScope ms, BuildContext ctx, LxmertConfig c, Operand<TFloat32> wordEmbeddings,
                 Operand<TBfloat16> wordEmbeddings16) {
      fusion = ctx.fusion();
      packed = ctx.packedWeights();
      transform = new Transform(ms, ctx, "cls/predictions/transform", c);
      bias = wordEmbeddings16 != null ? null : ms.weight("cls/predictions", "bias", c.vocabSize());
      bias16 = wordEmbeddings16 == null ? null : ms.weightBfloat16("cls/predictions", "bias", c.vocabSize());
      this.wordEmbeddings = wordEmbeddings;
      this.wordEmbeddings16 = wordEmbeddings16;
      hidden = c.hiddenSize();
      vocab = c.vocabSize();
    }

    Operand<TFloat32> apply(Ops tf, Operand<TFloat32> lang) {
      Operand<TFloat32> h = transform.apply(tf, lang);
      Operand<TInt32> seq = tf.gather(tf.shape(h), tf.constant(1), tf.constant(0));
      Operand<TFloat32> flat = tf.reshape(h, tf.constant(new int[] {-1, hidden}));              // [B*S,H]
      boolean fused = fusion != KernelFusion.OFF;
      if (wordEmbeddings16 != null) {   // mixed bfloat16: the decoder in bfloat16, logits widened to float32
        Operand<TBfloat16> flat16 = tf.dtypes.cast(flat, TBfloat16.class);
        // Packed: oneDNN's weight-caching inner product; else MatMul, not _FusedMatMul: oneDNN's matmul primitive
        // (AMX where the CPU has it), see Layers.Dense.apply16
        Operand<TBfloat16> l16 = packed ? KernelFusion.packedMatMul(tf, flat16, wordEmbeddings16, true, bias16, false)
            : tf.nn.biasAdd(tf.linalg.matMul(flat16, wordEmbeddings16, MatMul.transposeB(true)), bias16);  // [B*S,V]
        return tf.reshape(tf.dtypes.cast(l16, TFloat32.class),
            tf.stack(List.of(tf.constant(-1), seq, tf.constant(vocab))));                          // [B,S,V]
      }
      Operand<TFloat32> logits = fused ? KernelFusion.fusedMatMul(tf, flat, wordEmbeddings, true, bias, false)
          : tf.linalg.matMul(flat, wordEmbeddings, MatMul.transposeB(true));                   // [B*S,V]
      logits = tf.reshape(logits, tf.stack(List.of(tf.constant(-1), seq, tf.constant(vocab))));   // [B,S,V]
      return fused ? logits : tf.nn.biasAdd(logits, bias);
    }
  }

  /** {@code answer_head} (TFLxmertVisualAnswerHead): dense(2H) → exact GELU → LN → dense(num_qa_labels). */
  static final class Answer {
    private final Layers.Dense fc0;
    private final Layers.LayerNorm ln2;
    private final Layers.Dense fc3;

    Answer(ModelScope ms, BuildContext ctx, LxmertConfig c) {
      long h2 = 2L * c.hiddenSize();
      fc0 = Layers.Dense.create(ms, "answer_head/logit_fc_._0", c.hiddenSize(), h2, ctx);
      ln2 = Layers.LayerNorm.create(ms, "answer_head/logit_fc_._2", h2, c.layerNormEps(), ctx.fusion());
      fc3 = Layers.Dense.create(ms, "answer_head/logit_fc_._3", h2, c.numQaLabels(), ctx);
    }

    /** pooled [B,H] → [B,num_qa_labels]; the activation is "gelu" whatever hidden_act says. */
    Operand<TFloat32> apply(Ops tf, Operand<TFloat32> pooled) {
      return fc3.apply(tf, ln2.apply(tf, fc0.apply(tf, pooled, "gelu")));
    }
  }

  /** {@code obj_predict_head} (TFLxmertVisualObjHead): transform, then one dense per enabled visual loss. */
  static final class ObjPredict {
    private final Transform transform;
    private final Map<String, Layers.Dense> decoders = new LinkedHashMap<>();

    ObjPredict(ModelScope ms, BuildContext ctx, LxmertConfig c) {
      transform = new Transform(ms, ctx, "obj_predict_head/transform", c);
      if (c.visualObjLoss()) {
        decoders.put("obj", Layers.Dense.create(ms, "obj_predict_head/decoder_dict.obj", c.hiddenSize(),
            c.numObjectLabels(), ctx));
      }
      if (c.visualAttrLoss()) {
        decoders.put("attr", Layers.Dense.create(ms, "obj_predict_head/decoder_dict.attr", c.hiddenSize(),
            c.numAttrLabels(), ctx));
      }
      if (c.visualFeatLoss()) {
        decoders.put("feat", Layers.Dense.create(ms, "obj_predict_head/decoder_dict.feat", c.hiddenSize(),
            c.visualFeatDim(), ctx));
      }
    }

    /** visn [B,N,H] → {obj: [B,N,num_object_labels], attr: [B,N,num_attr_labels], feat: [B,N,F]}. */
    Map<String, Operand<TFloat32>> apply(Ops tf, Operand<TFloat32> visn) {
      Operand<TFloat32> h = transform.apply(tf, visn);
      Map<String, Operand<TFloat32>> out = new LinkedHashMap<>();
      decoders.forEach((k, d) -> out.put(k, d.apply(tf, h)));
      return out;
    }
  }
}
