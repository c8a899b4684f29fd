package io.github.tflxmert;

import io.github.tflxmert.config.OutputNames;
import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.graph.LxmertGraph;
import java.io.IOException;
import java.nio.file.Path;

/**
 * HF's {@code TFLxmertForPreTraining} as TensorFlow Java ops: the LXMERT encoder plus the masked-word head
 * ({@code prediction_logits}), image–text matching head ({@code cross_relationship_score}, index 1 = match),
 * answer head ({@code question_answering_score}) and the object-prediction head (returned on request as
 * {@code obj_predict_head.obj|attr|feat}, which HF never returns). Every hidden state and attention can be
 * requested too; see {@link OutputNames}.
 *
 * <pre>{@code
 * try (LxmertForPreTraining m = LxmertForPreTraining.fromPretrained(Path.of("lxmert-base-uncased"))) {
 *   LxmertOutputs out = m.predict(inputs, OutputSelection.heads(m.config()));
 * }
 * }</pre>
 * Thread-safe; the caller closes it (see {@link GraphPredictor}).
 */
public final class LxmertForPreTraining extends GraphPredictor {

  private LxmertForPreTraining(LxmertConfig config, Path checkpoint, LoadOptions options) throws IOException {
    super(config, checkpoint, options, LxmertGraph.Kind.PRETRAINING);
  }

  /** Opens an HF model directory ({@code config.json} + {@code model.safetensors} or {@code tf_model.h5}). */
  public static LxmertForPreTraining fromPretrained(Path modelDir) throws IOException {
    return fromPretrained(modelDir, LoadOptions.defaults());
  }

  public static LxmertForPreTraining fromPretrained(Path modelDir, LoadOptions options) throws IOException {
    return new LxmertForPreTraining(configIn(modelDir), checkpointFor(modelDir, options), options);
  }

  /** Builds the model for a config and loads a checkpoint file (h5 or safetensors, TF or PyTorch names). */
  public static LxmertForPreTraining create(LxmertConfig config, Path checkpoint, LoadOptions options)
      throws IOException {
    return new LxmertForPreTraining(config, checkpoint, options);
  }
}
