package io.github.tflxmert.spark;

import java.io.Serializable;
import java.util.Objects;

/**
 * What identifies one loaded model in an executor JVM: the model path as the user gave it (local path or any
 * Hadoop-compatible URI), an optional answer-label file and the TensorFlow intra-op thread count. Two
 * transformers with equal specs share one {@link LoadedModel} per JVM (see {@link SharedModels}).
 * Immutable; thread-safe; serializable (it travels to the executors inside the task closure).
 *
 * @param modelPath      HF model directory (config.json, model.safetensors or tf_model.h5, vocab.txt) or a
 *                       SavedModel / TF Serving base directory (vocab.txt beside it)
 * @param answersPath    answer labels (JSON list, JSON object label→index, or one per line), or "" for the
 *                       model directory's answers.json when present
 * @param intraOpThreads TensorFlow intra-op threads per predict call; 0 lets TensorFlow choose
 */
public record ModelSpec(String modelPath, String answersPath, int intraOpThreads) implements Serializable {
  public ModelSpec {
    Objects.requireNonNull(modelPath, "modelPath");
    if (modelPath.isBlank()) {
      throw new IllegalArgumentException("modelPath: expected an HF model directory or SavedModel path, found an "
          + "empty string");
    }
    answersPath = answersPath == null ? "" : answersPath;
    if (intraOpThreads < 0) {
      throw new IllegalArgumentException("intraOpThreads: expected 0 (TensorFlow's choice) or a positive count, "
          + "found " + intraOpThreads);
    }
  }
}
