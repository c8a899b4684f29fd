package io.github.tflxmert.config;

import io.github.tflxmert.array.Shapes;
import java.util.ArrayList;
import java.util.List;

/**
 * Names of the tensors a predictor can return, as Hugging Face names them. Per-layer tensors are
 * {@code <tuple name>.<index>} (e.g. {@code language_hidden_states.0}); the object-prediction head's outputs,
 * which HF never returns from {@code call}, are {@code obj_predict_head.obj|attr|feat}.
 *
 * <p>Shapes (B batch, S text, N regions, H hidden, h heads, V vocab):
 * prediction_logits [B,S,V]; cross_relationship_score [B,2] (index 1 = "match"); question_answering_score
 * [B,num_qa_labels]; language_output [B,S,H]; vision_output [B,N,H]; pooled_output [B,H];
 * language_hidden_states.i [B,S,H] (i &lt; l_layers + x_layers); vision_hidden_states.i [B,N,H]
 * (i &lt; r_layers + x_layers); language_attentions.i [B,h,S,S]; vision_attentions.i [B,h,N,N];
 * cross_encoder_attentions.i [B,h,S,N]; obj_predict_head.obj [B,N,num_object_labels], .attr
 * [B,N,num_attr_labels], .feat [B,N,visual_feat_dim].
 *
 * <p>Attentions of the cross-modality layers. Each cross layer computes four: the cross attention in both
 * directions (one shared {@code visual_attention} layer, called twice) and one self-attention per modality after
 * it. <b>HF returns only the first</b>; the other three are computed by HF too but dropped, and only this project
 * returns them (i &lt; x_layers):
 * <ul>
 *   <li>{@code cross_encoder_attentions.i} [B,h,S,N] — language queries over visual keys (HF's, returned by HF);
 *   <li>{@code cross_encoder_vision_attentions.i} [B,h,N,S] — visual queries over language keys (ours only);
 *   <li>{@code cross_encoder_language_self_attentions.i} [B,h,S,S] — {@code lang_self_att} of the cross layer
 *       (ours only);
 *   <li>{@code cross_encoder_vision_self_attentions.i} [B,h,N,N] — {@code visn_self_att} of the cross layer
 *       (ours only).
 * </ul>
 * {@link #attentions} lists HF's attentions only; {@link #crossLayerAttentions} the three only we return;
 * {@link #all} both.
 */
public final class OutputNames {
  private OutputNames() {}

  public static final String PREDICTION_LOGITS = "prediction_logits";
  public static final String CROSS_RELATIONSHIP_SCORE = "cross_relationship_score";
  public static final String QUESTION_ANSWERING_SCORE = "question_answering_score";
  public static final String LANGUAGE_OUTPUT = "language_output";
  public static final String VISION_OUTPUT = "vision_output";
  public static final String POOLED_OUTPUT = "pooled_output";
  public static final String LANGUAGE_HIDDEN_STATES = "language_hidden_states";
  public static final String VISION_HIDDEN_STATES = "vision_hidden_states";
  public static final String LANGUAGE_ATTENTIONS = "language_attentions";
  public static final String VISION_ATTENTIONS = "vision_attentions";
  public static final String CROSS_ENCODER_ATTENTIONS = "cross_encoder_attentions";
  /** Vision → language cross attention of each cross layer [B,h,N,S]; HF computes and drops it. */
  public static final String CROSS_ENCODER_VISION_ATTENTIONS = "cross_encoder_vision_attentions";
  /** Language self-attention inside each cross layer [B,h,S,S]; HF computes and drops it. */
  public static final String CROSS_ENCODER_LANGUAGE_SELF_ATTENTIONS = "cross_encoder_language_self_attentions";
  /** Vision self-attention inside each cross layer [B,h,N,N]; HF computes and drops it. */
  public static final String CROSS_ENCODER_VISION_SELF_ATTENTIONS = "cross_encoder_vision_self_attentions";
  public static final String OBJ = "obj_predict_head.obj";
  public static final String ATTR = "obj_predict_head.attr";
  public static final String FEAT = "obj_predict_head.feat";

  /** The per-layer tuples HF returns, in HF's order. */
  public static final List<String> TUPLES = List.of(LANGUAGE_HIDDEN_STATES, VISION_HIDDEN_STATES,
      LANGUAGE_ATTENTIONS, VISION_ATTENTIONS, CROSS_ENCODER_ATTENTIONS);

  /** The per-layer tuples only this project returns: the cross layers' attentions HF drops. */
  public static final List<String> CROSS_LAYER_TUPLES = List.of(CROSS_ENCODER_VISION_ATTENTIONS,
      CROSS_ENCODER_LANGUAGE_SELF_ATTENTIONS, CROSS_ENCODER_VISION_SELF_ATTENTIONS);

  /** {@link #TUPLES} then {@link #CROSS_LAYER_TUPLES}. */
  public static final List<String> ALL_TUPLES = List.of(LANGUAGE_HIDDEN_STATES, VISION_HIDDEN_STATES,
      LANGUAGE_ATTENTIONS, VISION_ATTENTIONS, CROSS_ENCODER_ATTENTIONS, CROSS_ENCODER_VISION_ATTENTIONS,
      CROSS_ENCODER_LANGUAGE_SELF_ATTENTIONS, CROSS_ENCODER_VISION_SELF_ATTENTIONS);

  public static String layer(String tuple, int index) {
    return tuple + "." + index;
  }

  /** Number of entries HF puts in a per-layer tuple for this config. */
  public static int tupleLength(String tuple, LxmertConfig c) {
    return switch (tuple) {
      case LANGUAGE_HIDDEN_STATES -> c.lLayers() + c.xLayers();
      case VISION_HIDDEN_STATES -> c.rLayers() + c.xLayers();
      case LANGUAGE_ATTENTIONS -> c.lLayers();
      case VISION_ATTENTIONS -> c.rLayers();
      case CROSS_ENCODER_ATTENTIONS, CROSS_ENCODER_VISION_ATTENTIONS, CROSS_ENCODER_LANGUAGE_SELF_ATTENTIONS,
           CROSS_ENCODER_VISION_SELF_ATTENTIONS -> c.xLayers();
      default -> throw new IllegalArgumentException("not a per-layer output: " + tuple);
    };
  }

  /** The three outputs of HF's {@code TFLxmertModel}. */
  public static List<String> base() {
    return List.of(LANGUAGE_OUTPUT, VISION_OUTPUT, POOLED_OUTPUT);
  }

  /** The outputs HF's {@code TFLxmertForPreTraining} returns by default, for this config's heads. */
  public static List<String> heads(LxmertConfig c) {
    List<String> l = new ArrayList<>(List.of(PREDICTION_LOGITS, CROSS_RELATIONSHIP_SCORE));
    if (c.taskQa()) {
      l.add(QUESTION_ANSWERING_SCORE);
    }
    return l;
  }

  /** Every hidden-state entry for this config. */
  public static List<String> hiddenStates(LxmertConfig c) {
    return expand(c, LANGUAGE_HIDDEN_STATES, VISION_HIDDEN_STATES);
  }

  /** Every attention entry HF returns for this config. */
  public static List<String> attentions(LxmertConfig c) {
    return expand(c, LANGUAGE_ATTENTIONS, VISION_ATTENTIONS, CROSS_ENCODER_ATTENTIONS);
  }

  /** The cross layers' attentions HF drops and only this project returns ({@link #CROSS_LAYER_TUPLES}). */
  public static List<String> crossLayerAttentions(LxmertConfig c) {
    return expand(c, CROSS_LAYER_TUPLES.toArray(new String[0]));
  }

  /** The outputs of HF's {@code LxmertForQuestionAnswering} by default: question_answering_score. */
  public static List<String> questionAnswering() {
    return List.of(QUESTION_ANSWERING_SCORE);
  }

  /** The object-prediction head's outputs present for this config. */
  public static List<String> objPredict(LxmertConfig c) {
    List<String> l = new ArrayList<>();
    if (c.taskObjPredict()) {
      if (c.visualObjLoss()) {
        l.add(OBJ);
      }
      if (c.visualAttrLoss()) {
        l.add(ATTR);
      }
      if (c.visualFeatLoss()) {
        l.add(FEAT);
      }
    }
    return l;
  }

  /** Every output a pretraining model with this config can produce (HF's and the cross layers' others). */
  public static List<String> all(LxmertConfig c) {
    List<String> l = new ArrayList<>(heads(c));
    l.addAll(base());
    l.addAll(hiddenStates(c));
    l.addAll(attentions(c));
    l.addAll(crossLayerAttentions(c));
    l.addAll(objPredict(c));
    return l;
  }

  /** Every output a question-answering model with this config can produce. */
  public static List<String> allQuestionAnswering(LxmertConfig c) {
    List<String> l = new ArrayList<>(questionAnswering());
    l.addAll(base());
    l.addAll(hiddenStates(c));
    l.addAll(attentions(c));
    l.addAll(crossLayerAttentions(c));
    return l;
  }

  private static List<String> expand(LxmertConfig c, String... tuples) {
    List<String> l = new ArrayList<>();
    for (String t : tuples) {
      for (int i = 0; i < tupleLength(t, c); i++) {
        l.add(layer(t, i));
      }
    }
    return l;
  }
}
