package io.github.tflxmert.serving;

import io.github.tflxmert.config.OutputNames;

/**
 * The axes after the batch axis of each LXMERT output, for batching: {@code S} a text axis, {@code N} a region
 * axis, {@code -} any other (hidden, heads, vocab, labels). Shapes as {@link OutputNames} documents them.
 * Stateless; thread-safe.
 */
final class OutputAxes {
  private OutputAxes() {}

  static char[] of(String name) {
    String base = name.contains(".") && !name.startsWith("obj_predict_head") ? name.substring(0, name.indexOf('.')) : name;
    return switch (base) {
      case OutputNames.PREDICTION_LOGITS, OutputNames.LANGUAGE_OUTPUT, OutputNames.LANGUAGE_HIDDEN_STATES -> "S-".toCharArray();
      case OutputNames.VISION_OUTPUT, OutputNames.VISION_HIDDEN_STATES, OutputNames.OBJ, OutputNames.ATTR,
           OutputNames.FEAT -> "N-".toCharArray();
      case OutputNames.CROSS_RELATIONSHIP_SCORE, OutputNames.QUESTION_ANSWERING_SCORE, OutputNames.POOLED_OUTPUT -> "-".toCharArray();
      case OutputNames.LANGUAGE_ATTENTIONS -> "-SS".toCharArray();
      case OutputNames.VISION_ATTENTIONS -> "-NN".toCharArray();
      case OutputNames.CROSS_ENCODER_ATTENTIONS -> "-SN".toCharArray();
      default -> throw new IllegalArgumentException("output " + name + ": no known axes");
    };
  }
}
