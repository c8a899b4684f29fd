package io.github.tflxmert;

import io.github.tflxmert.config.OutputNames;
import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.graph.LxmertGraph;
import java.io.IOException;
import java.nio.file.Path;

/**
 * HF's {@code TFLxmertModel} as TensorFlow Java ops: {@code language_output}, {@code vision_output},
 * {@code pooled_output}, and on request every hidden state and attention. Loads base or pretraining
 * checkpoints (the heads of a pretraining checkpoint are ignored, as HF does). Thread-safe; the caller closes
 * it (see {@link GraphPredictor}).
 */
public final class LxmertModel extends GraphPredictor {

  private LxmertModel(LxmertConfig config, Path checkpoint, LoadOptions options) throws IOException {
    super(config, checkpoint, options, LxmertGraph.Kind.BASE);
  }

  public static LxmertModel fromPretrained(Path modelDir) throws IOException {
    return fromPretrained(modelDir, LoadOptions.defaults());
  }

  public static LxmertModel fromPretrained(Path modelDir, LoadOptions options) throws IOException {
    return new LxmertModel(configIn(modelDir), checkpointFor(modelDir, options), options);
  }

  public static LxmertModel create(LxmertConfig config, Path checkpoint, LoadOptions options) throws IOException {
    return new LxmertModel(config, checkpoint, options);
  }

  /** The base model's default outputs: language_output, vision_output, pooled_output. */
  @Override
  public LxmertOutputs predict(LxmertInputs inputs) {
    return predict(inputs, OutputSelection.of(OutputNames.base()));
  }
}
