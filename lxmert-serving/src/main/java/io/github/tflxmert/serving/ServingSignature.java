package io.github.tflxmert.serving;

import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.config.OutputNames;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import io.github.tflxmert.savedmodel.SavedModelInfo.SignatureInfo;
import io.github.tflxmert.savedmodel.SavedModelInfo.TensorSpecInfo;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.proto.TensorShapeProto;

/**
 * One signature as the server offers it: its key ({@code serving_default} takes int32 ids, {@code int64_serving}
 * int64), its inputs (name → dtype and shape, -1 unknown), its outputs by signature output key (a per-layer tuple
 * such as {@code language_hidden_states} is one key, stacked on axis 0 as the Python export stacks it, over the
 * predictor's {@code language_hidden_states.i}) and which keys a request without {@code output_filter} gets.
 * Immutable; thread-safe.
 *
 * @param outputs     key → the predictor output names it is made of (one, or a tuple's entries in order)
 * @param defaultKeys the keys returned when the request filters none
 * @param tensorNames key (input or output) → the graph tensor name metadata reports
 */
public record ServingSignature(String key, String intDtype, Map<String, Spec> inputs, Map<String, List<String>> outputs,
                               List<String> defaultKeys, Map<String, Spec> outputSpecs,
                               Map<String, String> tensorNames) {
  public static final String SERVING_DEFAULT = "serving_default";
  public static final String INT64_SERVING = "int64_serving";
  public static final String PREDICT_METHOD = "tensorflow/serving/predict";
  public static final List<String> REQUIRED_INPUTS = List.of("input_ids", "visual_feats", "visual_pos");

  /** One tensor's dtype ({@code DT_INT32}, ...) and dimensions (-1 unknown). */
  public record Spec(String dtype, List<Long> dims) {}

  public boolean isTuple(String outputKey) {
    return OutputNames.TUPLES.contains(outputKey);
  }

  /** The predictor output names for these output keys (all defaults when none). */
  public List<String> outputNames(Collection<String> keys) {
    List<String> names = new ArrayList<>();
    for (String k : keys.isEmpty() ? defaultKeys : keys) {
      List<String> n = outputs.get(k);
      if (n == null) {
        throw ServingException.invalid("output_filter: expected an output of signature " + key + " " + outputs.keySet()
            + ", found '" + k + "'");
      }
      names.addAll(n);
    }
    return names;
  }

  /** The signature of the Java graph (an HF model directory) for this config, as {@code lxmert export} writes it. */
  public static ServingSignature forGraph(String key, LxmertConfig c, Set<String> available) {
    String intType = key.equals(INT64_SERVING) ? "DT_INT64" : "DT_INT32";
    Map<String, Spec> in = new LinkedHashMap<>();
    in.put("input_ids", new Spec(intType, List.of(-1L, -1L)));
    in.put("attention_mask", new Spec(intType, List.of(-1L, -1L)));
    in.put("token_type_ids", new Spec(intType, List.of(-1L, -1L)));
    in.put("visual_feats", new Spec("DT_FLOAT", List.of(-1L, -1L, (long) c.visualFeatDim())));
    in.put("visual_pos", new Spec("DT_FLOAT", List.of(-1L, -1L, 4L)));
    in.put("visual_attention_mask", new Spec(intType, List.of(-1L, -1L)));
    Map<String, List<String>> out = new LinkedHashMap<>();
    Map<String, Spec> outSpecs = new LinkedHashMap<>();
    List<String> singles = new ArrayList<>(OutputNames.heads(c));
    singles.addAll(OutputNames.base());
    singles.addAll(OutputNames.objPredict(c));
    for (String n : singles) {
      if (available.contains(n)) {
        out.put(n, List.of(n));
        outSpecs.put(n, new Spec("DT_FLOAT", graphDims(n, c, -1)));
      }
    }
    for (String t : OutputNames.TUPLES) {
      List<String> entries = new ArrayList<>();
      for (int i = 0; i < OutputNames.tupleLength(t, c); i++) {
        entries.add(OutputNames.layer(t, i));
      }
      if (!entries.isEmpty() && available.containsAll(entries)) {
        out.put(t, entries);
        List<Long> d = new ArrayList<>(List.of((long) entries.size()));
        d.addAll(graphDims(t, c, -1));
        outSpecs.put(t, new Spec("DT_FLOAT", d));
      }
    }
    List<String> defaults = OutputNames.heads(c).stream().filter(out::containsKey).toList();
    Map<String, String> names = new LinkedHashMap<>();
    in.keySet().forEach(k -> names.put(k, key + "_" + k + ":0"));
    out.keySet().forEach(k -> names.put(k, "StatefulPartitionedCall:" + k));
    return new ServingSignature(key, intType, in, out, defaults.isEmpty() ? List.copyOf(out.keySet()) : defaults,
        outSpecs, names);
  }

  /**
   * A Python- or Java-exported SavedModel's signature as the SavedModel declares it; an output key is offered
   * when the predictor can return it (a tuple key when all its entries are available).
   */
  public static ServingSignature forSavedModel(SignatureInfo info, Set<String> available) {
    Map<String, Spec> in = new LinkedHashMap<>();
    Map<String, String> names = new LinkedHashMap<>();
    info.inputs().forEach((k, t) -> {
      in.put(k, new Spec(t.dtype(), t.dims()));
      names.put(k, t.name());
    });
    TensorSpecInfo ids = info.inputs().get("input_ids");
    String intType = ids != null ? ids.dtype() : "DT_INT32";
    Map<String, List<String>> out = new LinkedHashMap<>();
    Map<String, Spec> outSpecs = new LinkedHashMap<>();
    info.outputs().forEach((k, t) -> {
      List<String> entries = OutputNames.TUPLES.contains(k)
          ? available.stream().filter(n -> n.startsWith(k + ".")).sorted(
              java.util.Comparator.comparingInt(n -> Integer.parseInt(n.substring(k.length() + 1)))).toList()
          : available.contains(k) ? List.of(k) : List.of();
      if (!entries.isEmpty()) {
        out.put(k, entries);
        outSpecs.put(k, new Spec("DT_FLOAT", t.dims()));
        names.put(k, t.name());
      }
    });
    return new ServingSignature(info.key(), intType, in, out, List.copyOf(out.keySet()), outSpecs, names);
  }

  private static List<Long> graphDims(String n, LxmertConfig c, long u) {
    long h = c.hiddenSize();
    return switch (n) {
      case OutputNames.PREDICTION_LOGITS -> List.of(u, u, (long) c.vocabSize());
      case OutputNames.CROSS_RELATIONSHIP_SCORE -> List.of(u, 2L);
      case OutputNames.QUESTION_ANSWERING_SCORE -> List.of(u, (long) c.numQaLabels());
      case OutputNames.LANGUAGE_OUTPUT, OutputNames.VISION_OUTPUT, OutputNames.LANGUAGE_HIDDEN_STATES,
           OutputNames.VISION_HIDDEN_STATES -> List.of(u, u, h);
      case OutputNames.POOLED_OUTPUT -> List.of(u, h);
      case OutputNames.LANGUAGE_ATTENTIONS, OutputNames.VISION_ATTENTIONS, OutputNames.CROSS_ENCODER_ATTENTIONS ->
          List.of(u, (long) c.numAttentionHeads(), u, u);
      case OutputNames.OBJ -> List.of(u, u, (long) c.numObjectLabels());
      case OutputNames.ATTR -> List.of(u, u, (long) c.numAttrLabels());
      case OutputNames.FEAT -> List.of(u, u, (long) c.visualFeatDim());
      default -> List.of();
    };
  }

  /** As TF Serving's GetModelMetadata reports it. */
  public SignatureDef toSignatureDef() {
    SignatureDef.Builder b = SignatureDef.newBuilder().setMethodName(PREDICT_METHOD);
    inputs.forEach((k, s) -> b.putInputs(k, info(tensorNames.get(k), s)));
    outputSpecs.forEach((k, s) -> b.putOutputs(k, info(tensorNames.get(k), s)));
    return b.build();
  }

  private static TensorInfo info(String name, Spec s) {
    TensorShapeProto.Builder sh = TensorShapeProto.newBuilder();
    if (s.dims() == null) {
      sh.setUnknownRank(true);
    } else {
      s.dims().forEach(d -> sh.addDim(TensorShapeProto.Dim.newBuilder().setSize(d)));
    }
    return TensorInfo.newBuilder().setName(name == null ? "" : name).setDtype(DataType.valueOf(s.dtype()))
        .setTensorShape(sh).build();
  }
}
