package io.github.tflxmert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.config.OutputNames;
import io.github.tflxmert.graph.LxmertGraph;
import io.github.tflxmert.weights.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * HF's {@code LxmertForQuestionAnswering} as TensorFlow Java ops: the LXMERT encoder plus {@code answer_head}
 * on the pooled output, returning {@code question_answering_score} [B,num_qa_labels] and, on request, the base
 * outputs, every hidden state and attention ({@link OutputNames}). It loads the checkpoints people answer
 * questions with, {@code unc-nlp/lxmert-vqa-uncased} (3,129 answers) and {@code unc-nlp/lxmert-gqa-uncased}
 * (1,842): {@code lxmert.*} plus {@code answer_head.*} only, from {@code pytorch_model.bin} (read without Python,
 * see {@link io.github.tflxmert.weights.PytorchWeightSource}) or {@code model.safetensors} with PyTorch or TF names.
 * A pretraining checkpoint loads too (its LM, matching and object heads are ignored, as HF does).
 *
 * <p>The answer of row b is {@code labels().get(argmax(question_answering_score[b]))} when the checkpoint's
 * {@code config.json} names its labels ({@code id2label}, one per answer); HF's VQA/GQA configs do not, their
 * labels are the answer lists the LXMERT authors publish ({@code trainval_label2ans.json}).
 *
 * <pre>{@code
 * try (LxmertForQuestionAnswering m = LxmertForQuestionAnswering.fromPretrained(Path.of("lxmert-vqa-uncased"))) {
 *   FloatArray scores = m.predict(inputs).questionAnsweringScore();       // [B, 3129]
 * }
 * }</pre>
 * Thread-safe; the caller closes it (see {@link GraphPredictor}). {@link #resizeNumQaLabels} makes a second
 * model, which the caller closes too.
 */
public final class LxmertForQuestionAnswering extends GraphPredictor {
  /** Names of the answer head's last Dense, the one {@link #resizeNumQaLabels} resizes: kernel [2H, L], bias [L]. */
  static final String LOGIT_KERNEL = "answer_head/logit_fc_._3/kernel";
  static final String LOGIT_BIAS = "answer_head/logit_fc_._3/bias";

  private final List<String> labels;
  private final LoadOptions options;
  /** The temporary directory of a resized model's weights, deleted on close (null for a loaded model). */
  private final Path temporary;

  private LxmertForQuestionAnswering(LxmertConfig config, Path checkpoint, LoadOptions options, List<String> labels,
                                     Path temporary) throws IOException {
    super(config, checkpoint, options, LxmertGraph.Kind.QUESTION_ANSWERING);
    if (!labels.isEmpty() && labels.size() != config.numQaLabels()) {
      throw new IllegalArgumentException("labels: expected " + config.numQaLabels() + " (num_qa_labels), found "
          + labels.size());
    }
    this.labels = List.copyOf(labels);
    this.options = options;
    this.temporary = temporary;
  }

  /** Opens an HF model directory: {@code config.json}, a checkpoint (see {@link #fromPretrained(Path, LoadOptions)}). */
  public static LxmertForQuestionAnswering fromPretrained(Path modelDir) throws IOException {
    return fromPretrained(modelDir, LoadOptions.defaults());
  }

  /**
   * Opens an HF model directory: {@code config.json} ({@code num_qa_labels}, and {@code id2label} for the labels)
   * and {@code model.safetensors}, {@code tf_model.h5} or {@code pytorch_model.bin}, in that order of preference.
   */
  public static LxmertForQuestionAnswering fromPretrained(Path modelDir, LoadOptions options) throws IOException {
    return new LxmertForQuestionAnswering(configIn(modelDir), checkpointFor(modelDir, options), options,
        labelsIn(modelDir.resolve("config.json")), null);
  }

  /** Builds the model for a config and loads a checkpoint file; no labels. */
  public static LxmertForQuestionAnswering create(LxmertConfig config, Path checkpoint, LoadOptions options)
      throws IOException {
    return new LxmertForQuestionAnswering(config, checkpoint, options, List.of(), null);
  }

  /** HF's default output: {@code question_answering_score}. */
  @Override
  public LxmertOutputs predict(LxmertInputs inputs) {
    return predict(inputs, OutputSelection.of(OutputNames.questionAnswering()));
  }

  /** The answer labels, index = answer id: {@code num_qa_labels} of them, or none when config.json names none. */
  public List<String> labels() {
    return labels;
  }

  /**
   * The answer labels a {@code config.json} names: its {@code id2label} ({@code {"0": "yes", ...}}) when that has
   * one label per answer ({@code num_qa_labels}); empty when it has none, or only the {@code LABEL_0, LABEL_1}
   * every HF config carries by default (HF's VQA/GQA configs name no labels).
   *
   * @throws IllegalArgumentException naming the file and field if {@code id2label} is malformed
   */
  public static List<String> labelsIn(Path configJson) throws IOException {
    JsonNode root = new ObjectMapper().readTree(configJson.toFile());
    JsonNode id2label = root == null ? null : root.get("id2label");
    if (id2label == null || id2label.isNull()) {
      return List.of();
    }
    if (!id2label.isObject()) {
      throw new IllegalArgumentException(configJson + ": config field id2label: expected an object {\"0\": label, "
          + "...}, found " + id2label.getNodeType().toString().toLowerCase());
    }
    int n = LxmertConfig.fromJsonFile(configJson).numQaLabels();
    if (id2label.size() != n) {
      return List.of(); // HF's default {0: LABEL_0, 1: LABEL_1}, or labels of another task: not the answers
    }
    String[] out = new String[n];
    var it = id2label.fields();
    while (it.hasNext()) {
      var e = it.next();
      int i;
      try {
        i = Integer.parseInt(e.getKey());
      } catch (NumberFormatException ex) {
        i = -1;
      }
      if (i < 0 || i >= n || out[i] != null) {
        throw new IllegalArgumentException(configJson + ": config field id2label: expected each index 0.." + (n - 1)
            + " once, found key \"" + e.getKey() + "\"");
      }
      if (!e.getValue().isTextual()) {
        throw new IllegalArgumentException(configJson + ": config field id2label." + e.getKey()
            + ": expected a string, found " + e.getValue().getNodeType().toString().toLowerCase());
      }
      out[i] = e.getValue().textValue();
    }
    return List.of(out);
  }

  /**
   * HF's {@code resize_num_qa_labels(n)}, for fine-tuning to a new answer set: a new model whose answer head's
   * last layer has {@code n} outputs. As HF's {@code _resize_qa_labels} does, rows 0..min(old, n)-1 (the labels
   * that remain) keep their weights and index; added rows are initialised as HF's {@code _init_weights}
   * initialises a Linear (weights normal with stddev {@code initializer_range}, bias 0); shrinking drops rows from
   * the end. {@code num_qa_labels} becomes {@code n}; labels that remain keep their name, added ones are named
   * {@code LABEL_i} (HF's name for an unnamed label). This model is left unchanged; the caller closes both. Save
   * the result with {@link #savePretrained} and train it with {@code LxmertTrainer.fromPretrained}.
   *
   * @param seed seeds the initialisation of added rows
   */
  public LxmertForQuestionAnswering resizeNumQaLabels(int n, long seed) throws IOException {
    if (n <= 0) {
      throw new IllegalArgumentException("resizeNumQaLabels: expected a positive number of labels, found " + n);
    }
    LxmertConfig c = config();
    Map<String, FloatArray> w = weightValues();
    FloatArray kernel = w.get(LOGIT_KERNEL);                                   // [2H, old]
    FloatArray bias = w.get(LOGIT_BIAS);                                       // [old]
    int in = (int) kernel.dim(0);
    int old = (int) kernel.dim(1);
    int keep = Math.min(old, n);
    Random rnd = new Random(seed);
    // TF layout [2H, n]: label r is column r. The kept columns are copied, the added ones drawn.
    float[] k = new float[in * n];
    for (int r = 0; r < n; r++) {
      for (int i = 0; i < in; i++) {
        float v = (float) (rnd.nextGaussian() * c.initializerRange());
        k[i * n + r] = r < keep ? kernel.data()[i * old + r] : v;
      }
    }
    float[] b = new float[n];
    System.arraycopy(bias.data(), 0, b, 0, keep);
    w.put(LOGIT_KERNEL, new FloatArray(new long[] {in, n}, k));
    w.put(LOGIT_BIAS, new FloatArray(new long[] {n}, b));
    List<String> newLabels = new ArrayList<>();
    if (!labels.isEmpty()) {
      newLabels.addAll(labels.subList(0, keep));
      for (int i = keep; i < n; i++) {
        newLabels.add("LABEL_" + i);
      }
    }
    Path tmp = Files.createTempDirectory("lxmert-resized-qa");
    try {
      Path file = tmp.resolve("model.safetensors");
      SafetensorsWriter.writeTf(file, w);
      return new LxmertForQuestionAnswering(c.with(Map.of("num_qa_labels", n)), file, options, newLabels, tmp);
    } catch (IOException | RuntimeException | Error e) {
      deleteQuietly(tmp);
      throw e;
    }
  }

  /** {@link #resizeNumQaLabels(int, long)} with seed 0. */
  public LxmertForQuestionAnswering resizeNumQaLabels(int n) throws IOException {
    return resizeNumQaLabels(n, 0);
  }

  /**
   * Writes an HF model directory as HF's PyTorch {@code save_pretrained} writes one: {@code model.safetensors}
   * (PyTorch names {@code lxmert.*}, {@code answer_head.*}; metadata format pt), {@code config.json} with
   * {@code architectures: ["LxmertForQuestionAnswering"]} and, when the model has labels, {@code id2label} and
   * {@code label2id}; and a copy of {@code vocab} when given.
   */
  public void savePretrained(Path dir, Path vocab) throws IOException {
    Files.createDirectories(dir);
    SafetensorsWriter.writePytorch(dir.resolve("model.safetensors"), weightValues());
    Map<String, Object> json = new LinkedHashMap<>(config().toJsonMap());
    json.put("architectures", List.of(ModelClass.QUESTION_ANSWERING.hfName()));
    if (!labels.isEmpty()) {
      Map<String, String> id2label = new LinkedHashMap<>();
      Map<String, Integer> label2id = new LinkedHashMap<>();
      for (int i = 0; i < labels.size(); i++) {
        id2label.put(Integer.toString(i), labels.get(i));
        label2id.putIfAbsent(labels.get(i), i);
      }
      json.put("id2label", id2label);
      json.put("label2id", label2id);
    }
    Files.writeString(dir.resolve("config.json"),
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(json));
    if (vocab != null) {
      Files.copy(vocab, dir.resolve("vocab.txt"), StandardCopyOption.REPLACE_EXISTING);
    }
  }

  @Override
  public void close() {
    super.close();
    if (temporary != null) {
      deleteQuietly(temporary);
    }
  }

  private static void deleteQuietly(Path dir) {
    try (var s = Files.walk(dir)) {
      s.sorted(Collections.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a temporary directory left behind is harmless
    }
  }
}
