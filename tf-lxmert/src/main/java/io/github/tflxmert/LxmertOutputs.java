package io.github.tflxmert;

import io.github.tflxmert.config.OutputNames;
import io.github.tflxmert.array.FloatArray;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The tensors one {@code predict} call returned, by {@link OutputNames HF name}, copied out of TensorFlow into
 * Java arrays. Holds no native memory; immutable; thread-safe.
 */
public final class LxmertOutputs {
  private final Map<String, FloatArray> tensors;

  public LxmertOutputs(Map<String, FloatArray> tensors) {
    this.tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
  }

  /** The named output. @throws IllegalArgumentException if it was not requested, listing what was. */
  public FloatArray get(String name) {
    FloatArray a = tensors.get(name);
    if (a == null) {
      throw new IllegalArgumentException("output " + name + " was not requested; this result holds " + tensors.keySet());
    }
    return a;
  }

  public boolean has(String name) {
    return tensors.containsKey(name);
  }

  public Set<String> names() {
    return tensors.keySet();
  }

  public Map<String, FloatArray> asMap() {
    return tensors;
  }

  public FloatArray predictionLogits() {
    return get(OutputNames.PREDICTION_LOGITS);
  }

  public FloatArray crossRelationshipScore() {
    return get(OutputNames.CROSS_RELATIONSHIP_SCORE);
  }

  public FloatArray questionAnsweringScore() {
    return get(OutputNames.QUESTION_ANSWERING_SCORE);
  }

  public FloatArray languageOutput() {
    return get(OutputNames.LANGUAGE_OUTPUT);
  }

  public FloatArray visionOutput() {
    return get(OutputNames.VISION_OUTPUT);
  }

  public FloatArray pooledOutput() {
    return get(OutputNames.POOLED_OUTPUT);
  }

  @Override
  public String toString() {
    return "LxmertOutputs" + tensors.values().stream().map(Object::toString).toList() + " " + tensors.keySet();
  }
}
