package io.github.tflxmert.parity;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The order in which LXMERT computes its outputs, so that a report can name the first tensor that diverges:
 * language layers (attention, then hidden state, per layer), vision layers, cross layers (attentions, then the
 * language and vision hidden states of each), {@code language_output} / {@code vision_output},
 * {@code pooled_output}, then the heads. Names are Hugging Face's as the reference directory stores them
 * ({@code language_hidden_states.3}, {@code cross_encoder_attentions.0}, ...): HF's hidden-state tuples hold the
 * outputs of the single-modality layers followed by the cross layers' outputs, so index {@code l_layers + k} of
 * {@code language_hidden_states} belongs to cross layer {@code k}. Names it does not know come last, in the order
 * given. Immutable; thread-safe.
 *
 * @param languageLayers {@code l_layers} (0 when unknown: every language index counts as a language layer)
 * @param visionLayers   {@code r_layers} (0 when unknown)
 */
public record ExecutionOrder(int languageLayers, int visionLayers) {
  private static final Pattern INDEXED = Pattern.compile("([a-z_]+)\\.(\\d+)");
  private static final int LANGUAGE = 1;
  private static final int VISION = 2;
  private static final int CROSS = 3;
  private static final int ENCODER_OUTPUT = 4;
  private static final int POOLER = 5;
  private static final int HEADS = 6;
  private static final int UNKNOWN = 7;

  /** Position of a tensor: stage, layer within the stage, step within the layer. */
  private record Key(int stage, int layer, int step) {}

  /** Sorts names into execution order (stable for names of the same position). */
  public List<String> sort(Iterable<String> names) {
    List<String> out = new ArrayList<>();
    names.forEach(out::add);
    out.sort(Comparator.comparing(this::key, Comparator.comparingInt(Key::stage).thenComparingInt(Key::layer)
        .thenComparingInt(Key::step)));
    return out;
  }

  /** The stage a tensor belongs to, in words ("language layer 2", "cross layer 0", "heads"). */
  public String block(String name) {
    Key k = key(name);
    return switch (k.stage) {
      case LANGUAGE -> "language layer " + k.layer;
      case VISION -> "vision layer " + k.layer;
      case CROSS -> "cross layer " + k.layer;
      case ENCODER_OUTPUT -> "encoder output";
      case POOLER -> "pooler";
      case HEADS -> "heads";
      default -> "unknown block";
    };
  }

  private Key key(String name) {
    switch (name) {
      case "language_output", "vision_output":
        return new Key(ENCODER_OUTPUT, 0, name.startsWith("language") ? 0 : 1);
      case "pooled_output":
        return new Key(POOLER, 0, 0);
      case "prediction_logits", "cross_relationship_score", "question_answering_score":
        return new Key(HEADS, 0, 0);
      default:
        break;
    }
    if (name.startsWith("obj_predict_head.")) {
      return new Key(HEADS, 0, 1);
    }
    Matcher m = INDEXED.matcher(name);
    if (!m.matches()) {
      return new Key(UNKNOWN, 0, 0);
    }
    int i = Integer.parseInt(m.group(2));
    return switch (m.group(1)) {
      case "language_attentions" -> new Key(LANGUAGE, i, 0);
      case "vision_attentions" -> new Key(VISION, i, 0);
      case "language_hidden_states" -> languageLayers > 0 && i >= languageLayers
          ? new Key(CROSS, i - languageLayers, 10) : new Key(LANGUAGE, i, 1);
      case "vision_hidden_states" -> visionLayers > 0 && i >= visionLayers
          ? new Key(CROSS, i - visionLayers, 11) : new Key(VISION, i, 1);
      // Attentions inside a cross layer come before its outputs; HF's (language -> vision) first.
      case "cross_encoder_attentions" -> new Key(CROSS, i, 0);
      default -> name.startsWith("cross_") ? new Key(CROSS, i, 1) : new Key(UNKNOWN, 0, 0);
    };
  }
}
