package io.github.tflxmert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.tflxmert.weights.WeightSource;
import io.github.tflxmert.weights.WeightSources;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;

/**
 * The HF model classes this library builds, and how a model directory says which one it holds — as HF's Auto
 * classes decide: the first entry of {@code config.json}'s {@code architectures} that names one of them (PyTorch
 * or TF spelling); without one, what the weight file holds (pretraining heads {@code cls.*}/{@code cls/...} →
 * pretraining; {@code answer_head} alone → question answering; neither → the base model). Stateless.
 */
public enum ModelClass {
  LXMERT_MODEL("LxmertModel"),
  PRETRAINING("LxmertForPreTraining"),
  QUESTION_ANSWERING("LxmertForQuestionAnswering");

  private final String hfName;

  ModelClass(String hfName) {
    this.hfName = hfName;
  }

  /** HF's PyTorch class name, as {@code architectures} spells it. */
  public String hfName() {
    return hfName;
  }

  /** Which class a directory holds and why ("config.json architectures" or what the weights hold). */
  public record Choice(ModelClass modelClass, String reason) {}

  /** The class of an HF name ({@code LxmertForQuestionAnswering}, {@code TFLxmertForPreTraining}, ...), if any. */
  public static Optional<ModelClass> ofHfName(String name) {
    String n = name.startsWith("TF") ? name.substring(2) : name;
    return Arrays.stream(values()).filter(c -> c.hfName.equals(n)).findFirst();
  }

  /**
   * Chooses the class for a model directory: {@code config.json}'s {@code architectures} first, else the
   * checkpoint's tensors ({@code checkpoint}, or the directory's own when null).
   *
   * @throws IllegalArgumentException naming the file if config.json is missing or not JSON
   */
  public static Choice of(Path modelDir, Path checkpoint) throws IOException {
    Path config = modelDir.resolve("config.json");
    // The same checks as every load (missing, a directory or link loop in its place, too large, not a config).
    GraphPredictor.configIn(modelDir);
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(config.toFile());
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException(config + ": not valid JSON: " + e.getOriginalMessage());
    }
    JsonNode arch = root == null ? null : root.get("architectures");
    if (arch != null && arch.isArray()) {
      for (JsonNode a : arch) {
        Optional<ModelClass> c = a.isTextual() ? ofHfName(a.textValue()) : Optional.empty();
        if (c.isPresent()) {
          return new Choice(c.get(), "config.json architectures " + a);
        }
      }
    }
    Path file = checkpoint != null ? checkpoint : WeightSources.checkpointIn(modelDir);
    try (WeightSource src = WeightSources.open(file)) {
      ModelClass c = ofWeights(src);
      return new Choice(c, "the weights in " + file.getFileName() + " (" + switch (c) {
        case PRETRAINING -> "pretraining heads";
        case QUESTION_ANSWERING -> "answer_head without pretraining heads";
        case LXMERT_MODEL -> "no heads";
      } + "; config.json names no LXMERT architecture)");
    }
  }

  /** What a checkpoint's tensor names say it holds. */
  public static ModelClass ofWeights(WeightSource src) {
    boolean cls = false;
    boolean answer = false;
    for (String k : src.entries().keySet()) {
      cls |= k.startsWith("cls.") || k.startsWith("cls/");
      answer |= k.startsWith("answer_head.") || k.startsWith("answer_head/");
    }
    return cls ? PRETRAINING : answer ? QUESTION_ANSWERING : LXMERT_MODEL;
  }

  /** Opens {@code modelDir} as this class. The caller closes the model. */
  public GraphPredictor open(Path modelDir, LoadOptions options) throws IOException {
    return switch (this) {
      case LXMERT_MODEL -> LxmertModel.fromPretrained(modelDir, options);
      case PRETRAINING -> LxmertForPreTraining.fromPretrained(modelDir, options);
      case QUESTION_ANSWERING -> LxmertForQuestionAnswering.fromPretrained(modelDir, options);
    };
  }
}
