package io.github.tflxmert.export;

import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.config.OutputNames;
import io.github.tflxmert.graph.BuildContext;
import io.github.tflxmert.graph.LxmertGraph;
import io.github.tflxmert.graph.ModelScope;
import io.github.tflxmert.weights.WeightLoader;
import io.github.tflxmert.weights.WeightSource;
import io.github.tflxmert.weights.WeightSources;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * Writes the Java-built LXMERT as a SavedModel that TF Serving and Python load, with the signatures Hugging
 * Face's {@code save_pretrained(saved_model=True)} writes: {@code serving_default} (int32 ids, masks, token
 * types) and {@code int64_serving} (int64), the six input keys {@code input_ids, attention_mask,
 * token_type_ids, visual_feats, visual_pos, visual_attention_mask} (all required, as in HF), the output keys
 * of HF's model ({@code prediction_logits, cross_relationship_score, question_answering_score} for the
 * pretraining model; {@code language_output, vision_output, pooled_output} for the base model), method name
 * {@code tensorflow/serving/predict}, in {@code <base>/<version>/}. With {@code withHiddenStates} /
 * {@code withAttentions} the signatures also return the per-layer tuples stacked as HF stacks them
 * ({@code language_hidden_states} [l+x,B,S,H], ..., {@code cross_encoder_attentions} [x,B,h,S,N]); with
 * {@code withCrossLayerAttentions} also the cross layers' attentions HF drops, stacked the same way
 * ({@code cross_encoder_vision_attentions} [x,B,h,N,S], {@code cross_encoder_language_self_attentions}
 * [x,B,h,S,S], {@code cross_encoder_vision_self_attentions} [x,B,h,N,N]; see {@link OutputNames}). Kind
 * {@code QUESTION_ANSWERING} exports {@code question_answering_score} plus the base outputs.
 *
 * <p>The config is written as {@code <base>/config.json} (beside the version directories, where TF Serving
 * ignores it and {@code SavedModelPredictor} finds it). Weights are saved as variables (not constants), so a real-size model exports. The export graph is built
 * fresh and the weights are loaded into it from the checkpoint; nothing of the caller's model is modified.
 * Stateless; each call owns its graph and session and closes them.
 */
public final class SavedModelExporter {
  /** The method name TF Serving's Predict API expects. */
  public static final String PREDICT_METHOD = "tensorflow/serving/predict";

  private SavedModelExporter() {}

  /**
   * What to export.
   *
   * @param withCrossLayerAttentions also the cross layers' vision→language and self-attentions, which HF drops
   * @param mixedBfloat16 compute in mixed bfloat16 ({@link BuildContext#mixedBfloat16()}): the signatures still take
   *                      and return float32 (TF Serving clients do not change); the variables stay float32 and are
   *                      cast to bfloat16 where the graph multiplies, as Keras' {@code mixed_bfloat16} policy keeps
   *                      them, so the SavedModel is as large as the float32 one
   */
  public record Options(LxmertGraph.Kind kind, boolean withHiddenStates, boolean withAttentions,
                        boolean withCrossLayerAttentions, boolean mixedBfloat16) {
    /** HF's outputs only (no cross-layer attentions beyond HF's), float32. */
    public Options(LxmertGraph.Kind kind, boolean withHiddenStates, boolean withAttentions) {
      this(kind, withHiddenStates, withAttentions, false, false);
    }

    public static Options pretraining() {
      return new Options(LxmertGraph.Kind.PRETRAINING, false, false, false, false);
    }

    public Options withHiddenStates(boolean on) {
      return new Options(kind, on, withAttentions, withCrossLayerAttentions, mixedBfloat16);
    }

    public Options withAttentions(boolean on) {
      return new Options(kind, withHiddenStates, on, withCrossLayerAttentions, mixedBfloat16);
    }

    /** Also export the cross layers' vision→language and self-attentions, which HF computes and drops. */
    public Options withCrossLayerAttentions(boolean on) {
      return new Options(kind, withHiddenStates, withAttentions, on, mixedBfloat16);
    }

    public Options withKind(LxmertGraph.Kind k) {
      return new Options(k, withHiddenStates, withAttentions, withCrossLayerAttentions, mixedBfloat16);
    }

    public Options withMixedBfloat16(boolean on) {
      return new Options(kind, withHiddenStates, withAttentions, withCrossLayerAttentions, on);
    }
  }

  /**
   * Exports the model given by a config and checkpoint into {@code base/version}.
   *
   * @return the version directory written
   * @throws IllegalArgumentException if the version directory already exists and is not empty, or the
   *     checkpoint does not fit the config
   */
  public static Path export(LxmertConfig config, Path checkpoint, Path base, int version, Options options)
      throws IOException {
    if (version <= 0) {
      throw new IllegalArgumentException("version: expected a positive integer (TF Serving's numbered directory), "
          + "found " + version);
    }
    Path dir = base.resolve(Integer.toString(version));
    if (Files.isDirectory(dir)) {
      try (var s = Files.list(dir)) {
        if (s.findAny().isPresent()) {
          throw new IllegalArgumentException(dir + ": already exists and is not empty; choose another --version");
        }
      }
    }
    Files.createDirectories(base);
    try (Graph g = new Graph(); WeightSource src = WeightSources.open(checkpoint)) {
      ModelScope ms = new ModelScope(g);
      BuildContext ctx = BuildContext.keras().withMixedBfloat16(options.mixedBfloat16());
      LxmertGraph int32 = new LxmertGraph(ms, config, options.kind(), "serving_default_", TInt32.class, ctx);
      LxmertGraph int64 = new LxmertGraph(ms, config, options.kind(), "int64_serving_", TInt64.class, ctx);
      Signature sig32 = signature(ms, int32, "serving_default", options);
      Signature sig64 = signature(ms, int64, "int64_serving", options);
      try (Session s = new Session(g)) {
        WeightLoader.load(ms, src, s, null);
        SavedModelBundle.exporter(dir.toString()).withTags("serve")
            .withFunction(s.function(sig32)).withFunction(s.function(sig64)).export();
      }
    }
    Path configFile = base.resolve("config.json");
    if (!Files.exists(configFile)) {
      config.writeJson(configFile); // readers (SavedModelPredictor) find the config next to the versions
    }
    return dir;
  }

  /** The output keys a signature of this export returns. */
  public static List<String> outputKeys(LxmertConfig c, Options o) {
    List<String> keys = new ArrayList<>(switch (o.kind()) {
      case PRETRAINING -> OutputNames.heads(c);
      case QUESTION_ANSWERING -> OutputNames.questionAnswering();
      case BASE -> List.<String>of();
    });
    if (o.kind() != LxmertGraph.Kind.PRETRAINING) {
      keys.addAll(OutputNames.base());
    }
    if (o.withHiddenStates()) {
      keys.add(OutputNames.LANGUAGE_HIDDEN_STATES);
      keys.add(OutputNames.VISION_HIDDEN_STATES);
    }
    if (o.withAttentions()) {
      keys.add(OutputNames.LANGUAGE_ATTENTIONS);
      keys.add(OutputNames.VISION_ATTENTIONS);
      keys.add(OutputNames.CROSS_ENCODER_ATTENTIONS);
    }
    if (o.withCrossLayerAttentions()) {
      keys.addAll(OutputNames.CROSS_LAYER_TUPLES);
    }
    return keys;
  }

  private static Signature signature(ModelScope ms, LxmertGraph m, String key, Options o) {
    Ops out = ms.scope(key + "_outputs");
    Map<String, Operand<TFloat32>> outputs = new LinkedHashMap<>();
    LxmertConfig c = m.config();
    for (String k : outputKeys(c, o)) {
      if (OutputNames.ALL_TUPLES.contains(k)) {
        List<Operand<TFloat32>> layers = new ArrayList<>();
        for (int i = 0; i < OutputNames.tupleLength(k, c); i++) {
          layers.add(m.outputs().get(OutputNames.layer(k, i)));
        }
        outputs.put(k, out.withName(k).stack(layers));
      } else {
        outputs.put(k, out.withName(k).identity(m.outputs().get(k)));
      }
    }
    Signature.Builder b = Signature.builder().key(key).methodName(PREDICT_METHOD)
        .input("input_ids", m.inputIds())
        .input("attention_mask", m.attentionMask())
        .input("token_type_ids", m.tokenTypeIds())
        .input("visual_feats", m.visualFeats())
        .input("visual_pos", m.visualPos())
        .input("visual_attention_mask", m.visualAttentionMask());
    outputs.forEach(b::output);
    return b.build();
  }
}
