package io.github.tflxmert.graph;

import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.config.OutputNames;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.index.Indices;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.family.TIntegral;

/**
 * The whole LXMERT forward pass (inference, dropout off) built as TensorFlow ops into one {@link Graph}, read
 * top to bottom like HF's {@code TFLxmertMainLayer.call} followed by the pretraining heads. Batch, text length
 * and region count are dynamic.
 *
 * <p>Inputs are placeholders named as HF's serving signature names them: {@code input_ids},
 * {@code attention_mask}, {@code token_type_ids}, {@code visual_attention_mask} (int32 [B,S] / [B,N]),
 * {@code visual_feats} (float [B,N,F]), {@code visual_pos} (float [B,N,4]). Every output is registered under
 * its {@link OutputNames HF name}. Builds into a graph the caller owns; not thread-safe while building.
 */
public final class LxmertGraph {
  /** Which heads to build. */
  public enum Kind { BASE, PRETRAINING }

  private final LxmertConfig config;
  private final ModelScope ms;
  private final Placeholder<? extends TIntegral> inputIds;
  private final Placeholder<? extends TIntegral> attentionMask;
  private final Placeholder<? extends TIntegral> tokenTypeIds;
  private final Placeholder<TFloat32> visualFeats;
  private final Placeholder<TFloat32> visualPos;
  private final Placeholder<? extends TIntegral> visualAttentionMask;
  private final Map<String, Operand<TFloat32>> outputs = new LinkedHashMap<>();

  public LxmertGraph(Graph graph, LxmertConfig c, Kind kind) {
    this(new ModelScope(graph), c, kind, "", TInt32.class);
  }

  /**
   * Builds one forward pass into {@code ms}. Weights already in {@code ms} are reused, so building twice into
   * one scope gives two input signatures over one set of variables (how the exporter makes
   * {@code serving_default} and {@code int64_serving}).
   *
   * @param inputPrefix prefix of the input placeholder names (e.g. {@code serving_default_})
   * @param idType      {@code TInt32} or {@code TInt64} for ids, masks and token types (int64 is cast to int32)
   */
  public LxmertGraph(ModelScope ms, LxmertConfig c, Kind kind, String inputPrefix,
                     Class<? extends TIntegral> idType) {
    this(ms, c, kind, inputPrefix, idType, null);
  }

  /**
   * Keras Dropout for a training graph: {@code x × (u >= rate) / (1 - rate)}, u uniform in [0,1), a fresh
   * seed2 per dropout site. Rates come from the config (hidden_dropout_prob after embeddings, the visual
   * encoder, every attention-output and FFN-output dense; attention_probs_dropout_prob on attention
   * probabilities). The heads have no dropout, as in HF.
   */
  public static final class Dropout {
    private final long seed;
    private long next = 1;

    public Dropout(long seed) {
      this.seed = seed;
    }

    Operand<TFloat32> apply(Ops tf, Operand<TFloat32> x, float rate) {
      if (rate <= 0f) {
        return x;
      }
      Operand<TFloat32> u = tf.random.randomUniform(tf.shape(x), TFloat32.class,
          org.tensorflow.op.random.RandomUniform.seed(seed), org.tensorflow.op.random.RandomUniform.seed2(next++));
      Operand<TFloat32> keep = tf.dtypes.cast(tf.math.greaterEqual(u, tf.constant(rate)), TFloat32.class);
      return tf.math.mul(tf.math.mul(x, tf.constant(1f / (1f - rate))), keep);
    }
  }

  /**
   * As above; {@code dropout} non-null builds a training graph with dropout active. With null the graph is
   * the inference graph, op for op.
   */
  public LxmertGraph(ModelScope ms, LxmertConfig c, Kind kind, String inputPrefix,
                     Class<? extends TIntegral> idType, Dropout dropout) {
    ms.setDropout(dropout);
    this.config = c;
    this.ms = ms;
    Ops in = ms.root();
    Shape bs = Shape.of(-1, -1);
    inputIds = in.withName(inputPrefix + "input_ids").placeholder(idType, Placeholder.shape(bs));
    attentionMask = in.withName(inputPrefix + "attention_mask").placeholder(idType, Placeholder.shape(bs));
    tokenTypeIds = in.withName(inputPrefix + "token_type_ids").placeholder(idType, Placeholder.shape(bs));
    visualFeats = in.withName(inputPrefix + "visual_feats").placeholder(TFloat32.class,
        Placeholder.shape(Shape.of(-1, -1, c.visualFeatDim())));
    visualPos = in.withName(inputPrefix + "visual_pos").placeholder(TFloat32.class,
        Placeholder.shape(Shape.of(-1, -1, c.visualPosDim())));
    visualAttentionMask = in.withName(inputPrefix + "visual_attention_mask").placeholder(idType,
        Placeholder.shape(bs));
    Operand<TInt32> inputIds = asInt32(in, this.inputIds);
    Operand<TInt32> attentionMask = asInt32(in, this.attentionMask);
    Operand<TInt32> tokenTypeIds = asInt32(in, this.tokenTypeIds);
    Operand<TInt32> visualAttentionMask = asInt32(in, this.visualAttentionMask);

    // --- TFLxmertMainLayer: embeddings, additive masks, encoder, pooler -------------------------------
    Embeddings embeddings = new Embeddings(ms, c);
    VisualFeatureEncoder visnFc = new VisualFeatureEncoder(ms, c);
    List<LxmertLayer> lLayers = new ArrayList<>();
    for (int i = 0; i < c.lLayers(); i++) {
      lLayers.add(new LxmertLayer(ms, "lxmert/encoder/layer_._" + i, c));
    }
    List<XLayer> xLayers = new ArrayList<>();
    for (int i = 0; i < c.xLayers(); i++) {
      xLayers.add(new XLayer(ms, "lxmert/encoder/x_layers_._" + i, c));
    }
    List<LxmertLayer> rLayers = new ArrayList<>();
    for (int i = 0; i < c.rLayers(); i++) {
      rLayers.add(new LxmertLayer(ms, "lxmert/encoder/r_layers_._" + i, c));
    }
    Layers.Dense pooler = Layers.Dense.create(ms, "lxmert/pooler/dense", c.hiddenSize(), c.hiddenSize());

    Ops tf = ms.scope("lxmert");
    Operand<TFloat32> lang = embeddings.apply(ms.scope(Embeddings.PATH), inputIds, tokenTypeIds);   // [B,S,H]
    Operand<TFloat32> langMask = additiveMask(tf, attentionMask);                                     // [B,1,1,S]
    Operand<TFloat32> visnMask = additiveMask(tf, visualAttentionMask);                               // [B,1,1,N]

    Operand<TFloat32> visn = visnFc.apply(ms.scope("lxmert/encoder/visn_fc"), visualFeats, visualPos); // [B,N,H]
    List<Operand<TFloat32>> langStates = new ArrayList<>();
    List<Operand<TFloat32>> visnStates = new ArrayList<>();
    for (int i = 0; i < lLayers.size(); i++) {
      Attention.Result r = lLayers.get(i).apply(ms.scope("lxmert/encoder/layer_._" + i), lang, langMask);
      lang = r.context();
      langStates.add(lang);
      put(OutputNames.layer(OutputNames.LANGUAGE_ATTENTIONS, i), r.probs());
    }
    for (int i = 0; i < rLayers.size(); i++) {
      Attention.Result r = rLayers.get(i).apply(ms.scope("lxmert/encoder/r_layers_._" + i), visn, visnMask);
      visn = r.context();
      visnStates.add(visn);
      put(OutputNames.layer(OutputNames.VISION_ATTENTIONS, i), r.probs());
    }
    for (int i = 0; i < xLayers.size(); i++) {
      XLayer.Result r = xLayers.get(i).apply(ms.scope("lxmert/encoder/x_layers_._" + i), lang, langMask, visn,
          visnMask);
      lang = r.lang();
      visn = r.visn();
      langStates.add(lang);
      visnStates.add(visn);
      put(OutputNames.layer(OutputNames.CROSS_ENCODER_ATTENTIONS, i), r.crossProbs());
    }
    for (int i = 0; i < langStates.size(); i++) {
      put(OutputNames.layer(OutputNames.LANGUAGE_HIDDEN_STATES, i), langStates.get(i));
    }
    for (int i = 0; i < visnStates.size(); i++) {
      put(OutputNames.layer(OutputNames.VISION_HIDDEN_STATES, i), visnStates.get(i));
    }
    Ops pool = ms.scope("lxmert/pooler");
    Operand<TFloat32> first = pool.stridedSlice(lang, Indices.all(), Indices.at(0));                  // [B,H]
    Operand<TFloat32> pooled = pool.math.tanh(pooler.apply(pool, first));                             // [B,H]
    put(OutputNames.LANGUAGE_OUTPUT, lang);
    put(OutputNames.VISION_OUTPUT, visn);
    put(OutputNames.POOLED_OUTPUT, pooled);

    // --- TFLxmertForPreTraining heads ------------------------------------------------------------------
    if (kind == Kind.PRETRAINING) {
      Heads.LmPrediction lm = new Heads.LmPrediction(ms, c, embeddings.wordEmbeddings);
      Layers.Dense seqRelationship = Layers.Dense.create(ms, "cls/seq_relationship", c.hiddenSize(), 2);
      put(OutputNames.PREDICTION_LOGITS, lm.apply(ms.scope("cls/predictions"), lang));
      put(OutputNames.CROSS_RELATIONSHIP_SCORE, seqRelationship.apply(ms.scope("cls/seq_relationship"), pooled));
      if (c.taskObjPredict()) {
        Heads.ObjPredict obj = new Heads.ObjPredict(ms, c);
        obj.apply(ms.scope("obj_predict_head"), visn).forEach((k, v) -> put("obj_predict_head." + k, v));
      }
      if (c.taskQa()) {
        Heads.Answer qa = new Heads.Answer(ms, c);
        put(OutputNames.QUESTION_ANSWERING_SCORE, qa.apply(ms.scope("answer_head"), pooled));
      }
    }
    ms.setDropout(null);
  }

  @SuppressWarnings("unchecked")
  private static Operand<TInt32> asInt32(Ops tf, Placeholder<? extends TIntegral> p) {
    return p.type() == TInt32.class ? (Operand<TInt32>) (Operand<?>) p : tf.dtypes.cast(p, TInt32.class);
  }

  /** {@code (1 - mask) * -10000} as [B,1,1,L] float, mask [B,L] of 0/1. */
  private static Operand<TFloat32> additiveMask(Ops tf, Operand<TInt32> mask) {
    Operand<TFloat32> m = tf.dtypes.cast(tf.expandDims(tf.expandDims(mask, tf.constant(1)), tf.constant(1)),
        TFloat32.class);
    return tf.math.mul(tf.math.sub(tf.constant(1f), m), tf.constant(-10000f));
  }

  private void put(String name, Operand<TFloat32> op) {
    outputs.put(name, op);
  }

  public LxmertConfig config() {
    return config;
  }

  public ModelScope scope() {
    return ms;
  }

  /** Every output by HF name. */
  public Map<String, Operand<TFloat32>> outputs() {
    return Collections.unmodifiableMap(outputs);
  }

  public Placeholder<? extends TIntegral> inputIds() {
    return inputIds;
  }

  public Placeholder<? extends TIntegral> attentionMask() {
    return attentionMask;
  }

  public Placeholder<? extends TIntegral> tokenTypeIds() {
    return tokenTypeIds;
  }

  public Placeholder<TFloat32> visualFeats() {
    return visualFeats;
  }

  public Placeholder<TFloat32> visualPos() {
    return visualPos;
  }

  public Placeholder<? extends TIntegral> visualAttentionMask() {
    return visualAttentionMask;
  }
}
