package io.github.tflxmert;

import io.github.tflxmert.config.OutputNames;
import io.github.tflxmert.config.LxmertConfig;
import java.util.Set;

/**
 * Runs LXMERT on validated inputs. Implemented by the graph built from TensorFlow ops
 * ({@link LxmertForPreTraining}, {@link LxmertModel}) and by Python-exported SavedModels
 * ({@code io.github.tflxmert.savedmodel.SavedModelPredictor}), so tests, the CLI and benchmarks run against
 * both.
 *
 * <p>Implementations are thread-safe: one instance serves concurrent {@code predict} calls. {@link #close()}
 * waits for calls in flight and then frees the native resources; calls after close fail with
 * {@link IllegalStateException}. The caller that opened a predictor closes it.
 */
public interface LxmertPredictor extends AutoCloseable {

  /** The configuration of the model behind this predictor. */
  LxmertConfig config();

  /** Output names this predictor can return (a subset of {@link OutputNames#all}). */
  Set<String> availableOutputs();

  /**
   * Computes the selected outputs.
   *
   * @throws IllegalArgumentException if the inputs do not fit the config (naming the field, expected and
   *     found) or an output is not available; the predictor stays usable
   * @throws IllegalStateException    if the predictor was closed
   */
  LxmertOutputs predict(LxmertInputs inputs, OutputSelection wanted);

  /** The default outputs of HF's pretraining model (or the base outputs, for a base model). */
  default LxmertOutputs predict(LxmertInputs inputs) {
    return predict(inputs, OutputSelection.heads(config()));
  }

  @Override
  void close();
}
