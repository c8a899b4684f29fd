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
 * The whole LXMERT forward pass built as TensorFlow ops into one {@link Graph}, in the steps of HF's
 * {@code TFLxmertMainLayer.call} followed by the pretraining heads: {@link #embeddings}, {@link #encoders}
 * (language, relation, cross-modality layers), {@link #pooler}, {@link #heads}. Batch, text length and region count
 * are dynamic. Shapes: B batch, S text length, N regions, H hidden, h heads, V vocab.
 *
 * <p>Inputs are placeholders named as HF's serving signature names them: {@code input_ids},
 * {@code attention_mask}, {@code token_type_ids}, {@code visual_attention_mask} (int32 [B,S] / [B,N]),
 * {@code visual_feats} (float [B,N,F]), {@code visual_pos} (float [B,N,4]). Every output is registered under
 * its {@link OutputNames HF name}. How the ops are built (fused kernels, dropout, test-only defects) is the
 * {@link BuildContext}. Builds into a graph the caller owns; not thread-safe while building.
 */
public final class LxmertGraph {
  /**
   * Which heads to build: none (HF's {@code LxmertModel}), every pretraining head ({@code LxmertForPreTraining}),
   * or only the answer head ({@code LxmertForQuestionAnswering}: {@code lxmert.*} plus {@code answer_head.*}).
   */
  public enum Kind { BASE, PRETRAINING, QUESTION_ANSWERING }

  /** The six input placeholders; ids and masks in the id type the graph was built with. */
  private record Inputs(Placeholder<? extends TIntegral> inputIds, Placeholder<? extends TIntegral> attentionMask,
                        Placeholder<? extends TIntegral> tokenTypeIds, Placeholder<TFloat32> visualFeats,
                        Placeholder<TFloat32> visualPos, Placeholder<? extends TIntegral> visualAttentionMask) {}

  /**
   * Both streams with the additive masks they attend with: lang [B,S,H] with langMask [B,1,1,S], visn [B,N,H] with
   * visnMask [B,1,1,N].
   */
  private record Streams(Operand<TFloat32> lang, Operand<TFloat32> langMask, Operand<TFloat32> visn,
                         Operand<TFloat32> visnMask) {}

  private final LxmertConfig config;
  private final ModelScope ms;
  private final BuildContext ctx;
  private final Inputs inputs;
  private final Map<String, Operand<TFloat32>> outputs = new LinkedHashMap<>();

  public LxmertGraph(Graph graph, LxmertConfig c, Kind kind) {
    this(new ModelScope(graph), c, kind, "", TInt32.class, BuildContext.keras());
  }

  /** Keras' ops, no dropout: the exporter's graph. */
  public LxmertGraph(ModelScope ms, LxmertConfig c, Kind kind, String inputPrefix,
                     Class<? extends TIntegral> idType) {
    this(ms, c, kind, inputPrefix, idType, BuildContext.keras());
  }

  /**
   * Builds one forward pass into {@code ms}. Weights already in {@code ms} are reused, so building twice into
   * one scope gives two input signatures over one set of variables (how the exporter makes
   * {@code serving_default} and {@code int64_serving}).
   *
   * @param inputPrefix prefix of the input placeholder names (e.g. {@code serving_default_})
   * @param idType      {@code TInt32} or {@code TInt64} for ids, masks and token types (int64 is cast to int32)
   * @param ctx         kernels, dropout and defects; {@link BuildContext#keras()} gives Keras' inference ops
   */
  public LxmertGraph(ModelScope ms, LxmertConfig c, Kind kind, String inputPrefix,
                     Class<? extends TIntegral> idType, BuildContext ctx) {
    this.config = c;
    this.ms = ms;
    this.ctx = ctx;
    this.inputs = placeholders(inputPrefix, idType);
    Embeddings embeddings = new Embeddings(ms, ctx, c);
    Streams embedded = embeddings(embeddings);
    Streams encoded = encoders(embedded);
    Operand<TFloat32> pooled = pooler(encoded.lang());
    if (kind == Kind.PRETRAINING) {
      heads(encoded, pooled, embeddings);
    } else if (kind == Kind.QUESTION_ANSWERING) {
      answerHead(pooled);
    }
  }

  private Inputs placeholders(String prefix, Class<? extends TIntegral> idType) {
    Ops in = ms.root();
    Shape bs = Shape.of(-1, -1);
    return new Inputs(
        in.withName(prefix + "input_ids").placeholder(idType, Placeholder.shape(bs)),
        in.withName(prefix + "attention_mask").placeholder(idType, Placeholder.shape(bs)),
        in.withName(prefix + "token_type_ids").placeholder(idType, Placeholder.shape(bs)),
        in.withName(prefix + "visual_feats").placeholder(TFloat32.class,
            Placeholder.shape(Shape.of(-1, -1, config.visualFeatDim()))),
        in.withName(prefix + "visual_pos").placeholder(TFloat32.class,
            Placeholder.shape(Shape.of(-1, -1, config.visualPosDim()))),
        in.withName(prefix + "visual_attention_mask").placeholder(idType, Placeholder.shape(bs)));
  }

  /** Text embeddings, the visual feature encoder and the additive masks: the encoders' inputs. */
  private Streams embeddings(Embeddings embeddings) {
    Ops in = ms.root();
    VisualFeatureEncoder visnFc = new VisualFeatureEncoder(ms, ctx, config);
    Ops tf = ms.scope("lxmert");
    Operand<TFloat32> lang = embeddings.apply(ms.scope(Embeddings.PATH), asInt32(in, inputs.inputIds()),
        asInt32(in, inputs.tokenTypeIds()));                                                     // [B,S,H]
    Operand<TFloat32> langMask = additiveMask(tf, asInt32(in, inputs.attentionMask()));           // [B,1,1,S]
    Operand<TFloat32> visnMask = additiveMask(tf, asInt32(in, inputs.visualAttentionMask()));     // [B,1,1,N]
    Operand<TFloat32> visn = visnFc.apply(ms.scope("lxmert/encoder/visn_fc"), inputs.visualFeats(),
        inputs.visualPos());                                                                     // [B,N,H]
    return new Streams(lang, langMask, visn, visnMask);
  }

  /**
   * TFLxmertEncoder: l_layers language layers, r_layers relation (vision) layers, then x_layers cross-modality
   * layers; registers every hidden state and attention. Weights are created in HF's order (language, cross,
   * relation) before any layer is applied.
   */
  private Streams encoders(Streams s) {
    List<LxmertLayer> lLayers = new ArrayList<>();
    for (int i = 0; i < config.lLayers(); i++) {
      lLayers.add(new LxmertLayer(ms, ctx, "lxmert/encoder/layer_._" + i, config));
    }
    List<XLayer> xLayers = new ArrayList<>();
    for (int i = 0; i < config.xLayers(); i++) {
      xLayers.add(new XLayer(ms, ctx, "lxmert/encoder/x_layers_._" + i, config));
    }
    List<LxmertLayer> rLayers = new ArrayList<>();
    for (int i = 0; i < config.rLayers(); i++) {
      rLayers.add(new LxmertLayer(ms, ctx, "lxmert/encoder/r_layers_._" + i, config));
    }
    Operand<TFloat32> lang = s.lang();
    Operand<TFloat32> visn = s.visn();
    Operand<TFloat32> langMask = s.langMask();
    Operand<TFloat32> visnMask = s.visnMask();
    List<Operand<TFloat32>> langStates = new ArrayList<>();
    List<Operand<TFloat32>> visnStates = new ArrayList<>();
    for (int i = 0; i < lLayers.size(); i++) {
      Attention.Result r = lLayers.get(i).apply(ms.scope("lxmert/encoder/layer_._" + i), lang, langMask);
      lang = r.context();                                                                        // [B,S,H]
      langStates.add(lang);
      put(OutputNames.layer(OutputNames.LANGUAGE_ATTENTIONS, i), r.probs());                     // [B,h,S,S]
    }
    for (int i = 0; i < rLayers.size(); i++) {
      Attention.Result r = rLayers.get(i).apply(ms.scope("lxmert/encoder/r_layers_._" + i), visn, visnMask);
      visn = r.context();                                                                        // [B,N,H]
      visnStates.add(visn);
      put(OutputNames.layer(OutputNames.VISION_ATTENTIONS, i), r.probs());                       // [B,h,N,N]
    }
    for (int i = 0; i < xLayers.size(); i++) {
      XLayer.Result r = xLayers.get(i).apply(ms.scope("lxmert/encoder/x_layers_._" + i), lang, langMask, visn,
          visnMask);
      lang = r.lang();
      visn = r.visn();
      if (ctx.has(GraphDefect.SWAPPED_CROSS_ATTENTION)) {   // the streams traded lengths: their masks follow
        Operand<TFloat32> m = langMask;
        langMask = visnMask;
        visnMask = m;
      }
      langStates.add(lang);
      visnStates.add(visn);
      put(OutputNames.layer(OutputNames.CROSS_ENCODER_ATTENTIONS, i), r.crossProbs());           // [B,h,S,N]
      // The three HF computes and drops (only fetched when asked for, so they cost nothing otherwise).
      put(OutputNames.layer(OutputNames.CROSS_ENCODER_VISION_ATTENTIONS, i), r.visnCrossProbs()); // [B,h,N,S]
      put(OutputNames.layer(OutputNames.CROSS_ENCODER_LANGUAGE_SELF_ATTENTIONS, i), r.langSelfProbs()); // [B,h,S,S]
      put(OutputNames.layer(OutputNames.CROSS_ENCODER_VISION_SELF_ATTENTIONS, i), r.visnSelfProbs()); // [B,h,N,N]
    }
    for (int i = 0; i < langStates.size(); i++) {
      put(OutputNames.layer(OutputNames.LANGUAGE_HIDDEN_STATES, i), langStates.get(i));
    }
    for (int i = 0; i < visnStates.size(); i++) {
      put(OutputNames.layer(OutputNames.VISION_HIDDEN_STATES, i), visnStates.get(i));
    }
    put(OutputNames.LANGUAGE_OUTPUT, lang);
    put(OutputNames.VISION_OUTPUT, visn);
    return new Streams(lang, langMask, visn, visnMask);
  }

  /** TFLxmertPooler: {@code tanh(dense(lang[:, 0]))}, lang [B,S,H] → [B,H]. */
  private Operand<TFloat32> pooler(Operand<TFloat32> lang) {
    Layers.Dense dense = Layers.Dense.create(ms, "lxmert/pooler/dense", config.hiddenSize(), config.hiddenSize(), ctx);
    Ops pool = ms.scope("lxmert/pooler");
    Operand<TFloat32> first = pool.stridedSlice(lang, Indices.all(), Indices.at(0));                  // [B,H]
    Operand<TFloat32> pooled = pool.math.tanh(dense.apply(pool, first));                              // [B,H]
    put(OutputNames.POOLED_OUTPUT, pooled);
    return pooled;
  }

  /** TFLxmertForPreTraining's heads: masked LM (tied to the word embeddings), matching, objects, answers. */
  private void heads(Streams s, Operand<TFloat32> pooled, Embeddings embeddings) {
    Heads.LmPrediction lm = new Heads.LmPrediction(ms, ctx, config, embeddings.wordEmbeddings,
        embeddings.wordEmbeddings16);
    Layers.Dense seqRelationship = Layers.Dense.create(ms, "cls/seq_relationship", config.hiddenSize(), 2, ctx);
    put(OutputNames.PREDICTION_LOGITS, lm.apply(ms.scope("cls/predictions"), s.lang()));              // [B,S,V]
    put(OutputNames.CROSS_RELATIONSHIP_SCORE, seqRelationship.apply(ms.scope("cls/seq_relationship"), pooled));
    if (config.taskObjPredict()) {
      Heads.ObjPredict obj = new Heads.ObjPredict(ms, ctx, config);
      obj.apply(ms.scope("obj_predict_head"), s.visn()).forEach((k, v) -> put("obj_predict_head." + k, v));
    }
    if (config.taskQa()) {
      answerHead(pooled);
    }
  }

  /** {@code answer_head} on the pooled output: pooled [B,H] → question_answering_score [B,num_qa_labels]. */
  private void answerHead(Operand<TFloat32> pooled) {
    Heads.Answer qa = new Heads.Answer(ms, ctx, config);
    put(OutputNames.QUESTION_ANSWERING_SCORE, qa.apply(ms.scope("answer_head"), pooled));
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

  /** How this graph was built. */
  public BuildContext context() {
    return ctx;
  }

  /** Every output by HF name. */
  public Map<String, Operand<TFloat32>> outputs() {
    return Collections.unmodifiableMap(outputs);
  }

  public Placeholder<? extends TIntegral> inputIds() {
    return inputs.inputIds();
  }

  public Placeholder<? extends TIntegral> attentionMask() {
    return inputs.attentionMask();
  }

  public Placeholder<? extends TIntegral> tokenTypeIds() {
    return inputs.tokenTypeIds();
  }

  public Placeholder<TFloat32> visualFeats() {
    return inputs.visualFeats();
  }

  public Placeholder<TFloat32> visualPos() {
    return inputs.visualPos();
  }

  public Placeholder<? extends TIntegral> visualAttentionMask() {
    return inputs.visualAttentionMask();
  }
}
