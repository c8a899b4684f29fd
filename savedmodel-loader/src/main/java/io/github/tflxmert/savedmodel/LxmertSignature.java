package io.github.tflxmert.savedmodel;

import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.config.OutputNames;
import io.github.tflxmert.savedmodel.SavedModelInfo.SignatureInfo;
import io.github.tflxmert.savedmodel.SavedModelInfo.TensorSpecInfo;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.TensorShapeProto;

/**
 * How one SignatureDef of an HF LXMERT SavedModel maps onto {@code LxmertInputs} and {@link OutputNames}: which
 * signature to use, which inputs it takes in which dtype, which outputs it offers (stacked per-layer tuples
 * split into {@code <tuple>.<i>}), a config derived from its shapes and the variables' shapes, and a check of a
 * config against the signature's shapes.
 * Pure data; no TensorFlow. Immutable; thread-safe.
 */
final class LxmertSignature {
  static final String SERVING_DEFAULT = "serving_default";
  static final String INT64_SERVING = "int64_serving";
  static final String INIT_OP = "__saved_model_init_op";

  static final String INPUT_IDS = "input_ids";
  static final String ATTENTION_MASK = "attention_mask";
  static final String TOKEN_TYPE_IDS = "token_type_ids";
  static final String VISUAL_FEATS = "visual_feats";
  static final String VISUAL_POS = "visual_pos";
  static final String VISUAL_ATTENTION_MASK = "visual_attention_mask";
  static final List<String> INT_INPUTS = List.of(INPUT_IDS, ATTENTION_MASK, TOKEN_TYPE_IDS, VISUAL_ATTENTION_MASK);
  static final List<String> FLOAT_INPUTS = List.of(VISUAL_FEATS, VISUAL_POS);
  static final Set<String> INT_DTYPES = Set.of("DT_INT32", "DT_INT64");
  static final Set<String> FLOAT_DTYPES = Set.of("DT_FLOAT", "DT_DOUBLE", "DT_HALF", "DT_BFLOAT16");

  /** Single-tensor outputs, in the order availableOutputs lists them. */
  static final List<String> SINGLE_OUTPUTS = List.of(OutputNames.PREDICTION_LOGITS,
      OutputNames.CROSS_RELATIONSHIP_SCORE, OutputNames.QUESTION_ANSWERING_SCORE, OutputNames.LANGUAGE_OUTPUT,
      OutputNames.VISION_OUTPUT, OutputNames.POOLED_OUTPUT, OutputNames.OBJ, OutputNames.ATTR, OutputNames.FEAT);

  /**
   * Where an output name comes from.
   *
   * @param key   the signature output key
   * @param spec  its tensor
   * @param layer the index into a stacked tuple, or -1 for a single tensor
   */
  record OutputSource(String key, TensorSpecInfo spec, int layer) {}

  final SignatureInfo signature;
  final Map<String, TensorSpecInfo> inputs;
  /** Output name → source, in canonical order (heads, base, hidden states, attentions, obj head). */
  final Map<String, OutputSource> outputs;
  final List<String> ignoredOutputs;

  private LxmertSignature(SignatureInfo signature, Map<String, TensorSpecInfo> inputs,
                          Map<String, OutputSource> outputs, List<String> ignoredOutputs) {
    this.signature = signature;
    this.inputs = Collections.unmodifiableMap(inputs);
    this.outputs = Collections.unmodifiableMap(outputs);
    this.ignoredOutputs = List.copyOf(ignoredOutputs);
  }

  /**
   * Picks the signature: {@code requested} if given; else {@code serving_default}, else {@code int64_serving},
   * else the only callable one.
   */
  static SignatureInfo choose(Map<String, SignatureInfo> all, String requested, Object source) {
    List<String> callable = all.keySet().stream().filter(k -> !k.equals(INIT_OP)).toList();
    if (requested != null) {
      SignatureInfo s = all.get(requested);
      if (s == null || requested.equals(INIT_OP)) {
        throw new IllegalArgumentException(source + ": no signature '" + requested + "'; the SavedModel has "
            + describe(all, callable));
      }
      return s;
    }
    if (all.containsKey(SERVING_DEFAULT)) {
      return all.get(SERVING_DEFAULT);
    }
    if (all.containsKey(INT64_SERVING)) {
      return all.get(INT64_SERVING);
    }
    if (callable.size() == 1) {
      return all.get(callable.get(0));
    }
    throw new IllegalArgumentException(source + ": no '" + SERVING_DEFAULT + "' or '" + INT64_SERVING
        + "' signature and " + (callable.isEmpty() ? "no other" : "several others") + "; choose one with "
        + "signature(key): the SavedModel has " + describe(all, callable));
  }

  private static String describe(Map<String, SignatureInfo> all, List<String> callable) {
    if (callable.isEmpty()) {
      return "no callable signature";
    }
    List<String> parts = new ArrayList<>();
    for (String k : callable) {
      parts.add("'" + k + "' (inputs " + all.get(k).inputs().keySet() + ")");
    }
    return "signatures " + String.join(", ", parts);
  }

  /**
   * Binds a signature's inputs and outputs.
   *
   * @param config used only for the length of a stacked tuple whose leading dimension is unknown (may be null)
   * @throws IllegalArgumentException if the signature needs an input LxmertInputs cannot supply, lacks a
   *     required one, or declares an unsupported dtype
   */
  static LxmertSignature bind(SignatureInfo s, LxmertConfig config, Object source) {
    String where = source + ": signature '" + s.key() + "'";
    Map<String, TensorSpecInfo> inputs = new LinkedHashMap<>();
    for (Map.Entry<String, TensorSpecInfo> e : s.inputs().entrySet()) {
      String k = e.getKey();
      TensorSpecInfo t = e.getValue();
      boolean isInt = INT_INPUTS.contains(k);
      if (!isInt && !FLOAT_INPUTS.contains(k)) {
        throw new IllegalArgumentException(where + " requires input '" + k + "' (" + t.dtype() + " " + t.shapeText()
            + "), which LxmertInputs cannot supply; LxmertInputs supplies " + INT_INPUTS + " and " + FLOAT_INPUTS
            + "; the signature's inputs are " + s.inputs().keySet());
      }
      Set<String> ok = isInt ? INT_DTYPES : FLOAT_DTYPES;
      if (!ok.contains(t.dtype())) {
        throw new IllegalArgumentException(where + " input '" + k + "': expected dtype one of " + ok + ", found "
            + t.dtype());
      }
      int rank = k.equals(VISUAL_FEATS) || k.equals(VISUAL_POS) ? 3 : 2;
      if (t.rank() >= 0 && t.rank() != rank) {
        throw new IllegalArgumentException(where + " input '" + k + "': expected rank " + rank + ", found shape "
            + t.shapeText());
      }
      inputs.put(k, t);
    }
    for (String k : List.of(INPUT_IDS, VISUAL_FEATS, VISUAL_POS)) {
      if (!inputs.containsKey(k)) {
        throw new IllegalArgumentException(where + " has no input '" + k + "'; its inputs are "
            + s.inputs().keySet());
      }
    }

    Map<String, OutputSource> outputs = new LinkedHashMap<>();
    List<String> ignored = new ArrayList<>();
    Set<String> known = new LinkedHashSet<>(SINGLE_OUTPUTS);
    known.addAll(OutputNames.ALL_TUPLES);
    for (String k : s.outputs().keySet()) {
      if (!known.contains(k) || !FLOAT_DTYPES.contains(s.outputs().get(k).dtype())) {
        ignored.add(k);
      }
    }
    for (String k : SINGLE_OUTPUTS.subList(0, 6)) {
      single(s, k, outputs);
    }
    for (String tuple : OutputNames.ALL_TUPLES) {
      TensorSpecInfo t = s.outputs().get(tuple);
      if (t == null || ignored.contains(tuple)) {
        continue;
      }
      long n = t.dim(0);
      if (n < 0) {
        if (config == null) {
          ignored.add(tuple);
          continue;
        }
        n = OutputNames.tupleLength(tuple, config);
      }
      for (int i = 0; i < n; i++) {
        outputs.put(OutputNames.layer(tuple, i), new OutputSource(tuple, t, i));
      }
    }
    for (String k : SINGLE_OUTPUTS.subList(6, SINGLE_OUTPUTS.size())) {
      single(s, k, outputs);
    }
    return new LxmertSignature(s, inputs, outputs, ignored);
  }

  private static void single(SignatureInfo s, String k, Map<String, OutputSource> outputs) {
    TensorSpecInfo t = s.outputs().get(k);
    if (t != null && FLOAT_DTYPES.contains(t.dtype())) {
      outputs.put(k, new OutputSource(k, t, -1));
    }
  }

  /** The dtype the signature wants for ids ({@code DT_INT32} or {@code DT_INT64}). */
  String idDtype() {
    return inputs.get(INPUT_IDS).dtype();
  }

  /** A derived config and what was derived versus defaulted. */
  record Derived(LxmertConfig config, Map<String, Object> derived, List<String> defaulted) {}

  /**
   * A config from what the SavedModel shows without a {@code config.json}.
   *
   * <p>From the variables' shapes (the {@code shape} attribute of each {@code VarHandleOp}/{@code VariableV2},
   * matched by HF's variable names): vocabulary, hidden, intermediate and position sizes, type vocabulary,
   * feature and box widths, label counts, layer counts, which heads exist. From the signature's static shapes:
   * {@code visual_feat_dim} ({@code visual_feats}), {@code vocab_size} ({@code prediction_logits}), {@code
   * num_qa_labels}/{@code task_qa} ({@code question_answering_score}), {@code hidden_size}, {@code
   * num_attention_heads} (attention outputs), layer counts (stacked tuples). What neither shows
   * ({@code hidden_act}, {@code layer_norm_eps}, dropouts, ...) takes HF's defaults; the SavedModel path does
   * not use those fields.
   */
  static Derived deriveConfig(SignatureInfo s, MetaGraphDef mg) {
    Map<String, Object> d = new LinkedHashMap<>(fromVariables(mg));
    put(d, "visual_feat_dim", dim(s.inputs(), VISUAL_FEATS, 2));
    put(d, "vocab_size", dim(s.outputs(), OutputNames.PREDICTION_LOGITS, 2));
    long qa = dim(s.outputs(), OutputNames.QUESTION_ANSWERING_SCORE, 1);
    put(d, "num_qa_labels", qa);
    if (s.outputs().containsKey(OutputNames.PREDICTION_LOGITS) || s.outputs().containsKey(OutputNames.CROSS_RELATIONSHIP_SCORE)) {
      d.put("task_qa", s.outputs().containsKey(OutputNames.QUESTION_ANSWERING_SCORE));
    }
    long hidden = first(dim(s.outputs(), OutputNames.LANGUAGE_OUTPUT, 2), dim(s.outputs(), OutputNames.VISION_OUTPUT, 2),
        dim(s.outputs(), OutputNames.POOLED_OUTPUT, 1), dim(s.outputs(), OutputNames.LANGUAGE_HIDDEN_STATES, 3),
        dim(s.outputs(), OutputNames.VISION_HIDDEN_STATES, 3));
    put(d, "hidden_size", hidden);
    hidden = d.containsKey("hidden_size") ? ((Number) d.get("hidden_size")).longValue() : -1;
    long heads = first(dim(s.outputs(), OutputNames.LANGUAGE_ATTENTIONS, 2), dim(s.outputs(), OutputNames.VISION_ATTENTIONS, 2),
        dim(s.outputs(), OutputNames.CROSS_ENCODER_ATTENTIONS, 2));
    if (heads > 0) {
      d.put("num_attention_heads", (int) heads);
    } else if (hidden > 0 && hidden % 12 != 0) {
      d.put("num_attention_heads", 1); // HF's default (12) does not divide H; the SavedModel path never uses it
    }
    long lh = dim(s.outputs(), OutputNames.LANGUAGE_HIDDEN_STATES, 0);
    long vh = dim(s.outputs(), OutputNames.VISION_HIDDEN_STATES, 0);
    long l = first0(dim(s.outputs(), OutputNames.LANGUAGE_ATTENTIONS, 0), d.get("l_layers"));
    long r = first0(dim(s.outputs(), OutputNames.VISION_ATTENTIONS, 0), d.get("r_layers"));
    long x = first0(dim(s.outputs(), OutputNames.CROSS_ENCODER_ATTENTIONS, 0), d.get("x_layers"));
    if (x < 0 && l >= 0 && lh >= 0) {
      x = lh - l;
    }
    if (x < 0 && r >= 0 && vh >= 0) {
      x = vh - r;
    }
    if (x >= 0 && l < 0 && lh >= 0) {
      l = lh - x;
    }
    if (x >= 0 && r < 0 && vh >= 0) {
      r = vh - x;
    }
    if (x < 0 && (lh >= 0 || vh >= 0)) {
      // Neither attention outputs nor encoder variables show the cross-layer count; only l+x and r+x matter here.
      x = 0;
      l = lh >= 0 ? lh : l;
      r = vh >= 0 ? vh : r;
    }
    put(d, "l_layers", l);
    put(d, "x_layers", x);
    put(d, "r_layers", r);
    List<String> defaulted = new ArrayList<>();
    LxmertConfig defaults = LxmertConfig.defaults();
    for (String field : defaults.toJsonMap().keySet()) {
      if (!d.containsKey(field) && !field.equals("model_type") && !field.equals("architectures")) {
        defaulted.add(field);
      }
    }
    return new Derived(defaults.with(d), d, defaulted);
  }

  private static final Pattern LAYER = Pattern.compile("(?:^|/)encoder/(layer|x_layers|r_layers)_\\._(\\d+)/");

  /** Config fields visible in HF's variable names and shapes (see {@link #deriveConfig}). */
  static Map<String, Object> fromVariables(MetaGraphDef mg) {
    Map<String, Object> d = new LinkedHashMap<>();
    Map<String, Integer> layers = new LinkedHashMap<>();
    boolean encoder = false;
    boolean objHead = false;
    boolean answerHead = false;
    boolean lxmert = false;
    for (NodeDef n : mg.getGraphDef().getNodeList()) {
      if (!n.getOp().equals("VarHandleOp") && !n.getOp().equals("VariableV2")) {
        continue;
      }
      AttrValue shapeAttr = n.getAttrMap().get("shape");
      if (shapeAttr == null || !shapeAttr.hasShape() || shapeAttr.getShape().getUnknownRank()) {
        continue;
      }
      long[] sh = shapeAttr.getShape().getDimList().stream().mapToLong(TensorShapeProto.Dim::getSize).toArray();
      String name = n.getName();
      if (name.contains("lxmert/")) {
        lxmert = true;
      }
      Matcher m = LAYER.matcher(name);
      if (m.find()) {
        encoder = true;
        layers.merge(m.group(1), Integer.parseInt(m.group(2)) + 1, Math::max);
      }
      objHead |= name.contains("obj_predict_head/");
      answerHead |= name.contains("answer_head/");
      if (sh.length == 2 && name.endsWith("embeddings/word_embeddings/weight")) {
        d.put("vocab_size", (int) sh[0]);
        d.put("hidden_size", (int) sh[1]);
      } else if (sh.length == 2 && name.endsWith("embeddings/position_embeddings/embeddings")) {
        d.put("max_position_embeddings", (int) sh[0]);
      } else if (sh.length == 2 && name.endsWith("embeddings/token_type_embeddings/embeddings")) {
        d.put("type_vocab_size", (int) sh[0]);
      } else if (sh.length == 2 && name.endsWith("/intermediate/dense/kernel")) {
        d.putIfAbsent("intermediate_size", (int) sh[1]);
      } else if (sh.length == 2 && name.endsWith("visn_fc/visn_fc/kernel")) {
        d.put("visual_feat_dim", (int) sh[0]);
      } else if (sh.length == 2 && name.endsWith("visn_fc/box_fc/kernel")) {
        d.put("visual_pos_dim", (int) sh[0]);
      } else if (sh.length == 1 && name.endsWith("obj_predict_head/decoder_dict.obj/bias")) {
        d.put("num_object_labels", (int) sh[0]);
      } else if (sh.length == 1 && name.endsWith("obj_predict_head/decoder_dict.attr/bias")) {
        d.put("num_attr_labels", (int) sh[0]);
      } else if (sh.length == 1 && name.matches(".*answer_head/logit_fc_\\._3/bias")) {
        d.put("num_qa_labels", (int) sh[0]);
      }
    }
    if (encoder) {
      d.put("l_layers", layers.getOrDefault("layer", 0));
      d.put("x_layers", layers.getOrDefault("x_layers", 0));
      d.put("r_layers", layers.getOrDefault("r_layers", 0));
    }
    if (lxmert) {
      d.put("task_qa", answerHead);
      d.put("task_obj_predict", objHead);
    }
    return d;
  }

  private static long first0(long v, Object fallback) {
    return v >= 0 ? v : fallback instanceof Number n ? n.longValue() : -1;
  }

  private static void put(Map<String, Object> d, String field, long v) {
    if (v >= 0) {
      d.put(field, (int) v);
    }
  }

  private static long first(long... v) {
    for (long x : v) {
      if (x > 0) {
        return x;
      }
    }
    return -1;
  }

  private static long dim(Map<String, TensorSpecInfo> m, String key, int axis) {
    TensorSpecInfo t = m.get(key);
    return t == null ? -1 : t.dim(axis);
  }

  /**
   * Checks a config against the signature's static shapes.
   *
   * @throws IllegalArgumentException naming the config field, its value and source, and the signature tensor
   */
  void checkConfig(LxmertConfig c, String configSource, Object source) {
    String where = source + ": signature '" + signature.key() + "'";
    expect(where, configSource, "visual_feat_dim", c.visualFeatDim(), signature.inputs(), VISUAL_FEATS, 2, "input");
    expect(where, configSource, "vocab_size", c.vocabSize(), signature.outputs(), OutputNames.PREDICTION_LOGITS, 2, "output");
    expect(where, configSource, "num_qa_labels", c.numQaLabels(), signature.outputs(), OutputNames.QUESTION_ANSWERING_SCORE, 1, "output");
    expect(where, configSource, "hidden_size", c.hiddenSize(), signature.outputs(), OutputNames.LANGUAGE_OUTPUT, 2, "output");
    expect(where, configSource, "hidden_size", c.hiddenSize(), signature.outputs(), OutputNames.VISION_OUTPUT, 2, "output");
    expect(where, configSource, "hidden_size", c.hiddenSize(), signature.outputs(), OutputNames.POOLED_OUTPUT, 1, "output");
    for (String tuple : OutputNames.ALL_TUPLES) {
      TensorSpecInfo t = signature.outputs().get(tuple);
      if (t == null) {
        continue;
      }
      String fields = switch (tuple) {
        case OutputNames.LANGUAGE_HIDDEN_STATES -> "l_layers + x_layers";
        case OutputNames.VISION_HIDDEN_STATES -> "r_layers + x_layers";
        case OutputNames.LANGUAGE_ATTENTIONS -> "l_layers";
        case OutputNames.VISION_ATTENTIONS -> "r_layers";
        default -> "x_layers";
      };
      expect(where, configSource, fields, OutputNames.tupleLength(tuple, c), signature.outputs(), tuple, 0, "output");
      if (tuple.endsWith("hidden_states")) {
        expect(where, configSource, "hidden_size", c.hiddenSize(), signature.outputs(), tuple, 3, "output");
      } else {
        expect(where, configSource, "num_attention_heads", c.numAttentionHeads(), signature.outputs(), tuple, 2, "output");
      }
    }
  }

  private static void expect(String where, String configSource, String field, long value,
                             Map<String, TensorSpecInfo> m, String key, int axis, String kind) {
    TensorSpecInfo t = m.get(key);
    if (t == null) {
      return;
    }
    long d = t.dim(axis);
    if (d >= 0 && d != value) {
      throw new IllegalArgumentException(where + " " + kind + " '" + key + "' has shape " + t.shapeText()
          + " (dimension " + axis + " = " + d + "), but the config (" + configSource + ") has " + field + " = " + value);
    }
  }
}
