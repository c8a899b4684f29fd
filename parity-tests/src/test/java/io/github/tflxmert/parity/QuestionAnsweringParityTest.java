package io.github.tflxmert.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.LoadOptions;
import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.LxmertForQuestionAnswering;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.LxmertModel;
import io.github.tflxmert.LxmertOutputs;
import io.github.tflxmert.ModelClass;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.config.OutputNames;
import io.github.tflxmert.export.SavedModelExporter;
import io.github.tflxmert.graph.LxmertGraph;
import io.github.tflxmert.savedmodel.SavedModelPredictor;
import io.github.tflxmert.training.LxmertTrainer;
import io.github.tflxmert.training.PretrainingLabels;
import io.github.tflxmert.training.PretrainingLosses;
import io.github.tflxmert.training.TrainingOptions;
import io.github.tflxmert.weights.PytorchWeightSource;
import io.github.tflxmert.weights.WeightSource;
import io.github.tflxmert.weights.WeightSources;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link LxmertForQuestionAnswering} held against HF's PyTorch {@code LxmertForQuestionAnswering}: the reference
 * {@code fixtures/qa} (python/export_qa_reference.py) holds a QA-only checkpoint as {@code unc-nlp/lxmert-vqa-uncased}
 * ships one ({@code lxmert.*} + {@code answer_head.*}, PyTorch names, {@code pytorch_model.bin} in {@code model/} and
 * {@code model.safetensors} in {@code model-st/}) and PyTorch's outputs, including the three cross-layer attentions
 * HF computes and drops, taken from PyTorch's own attention calls by hooks. Every output is judged by the one
 * tolerance model ({@link References#options()}). Uses the committed {@code fixtures/qa}.
 */
class QuestionAnsweringParityTest {
  static final Path QA = Path.of("fixtures", "qa");

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"model", "model-st"})
  void everyOutputMatchesPytorch(String dir) throws IOException {
    List<String> failures = new ArrayList<>();
    try (LxmertReference ref = LxmertReference.open(QA);
         LxmertForQuestionAnswering m = LxmertForQuestionAnswering.fromPretrained(QA.resolve(dir))) {
      assertTrue(m.loadPlan().unexpected().isEmpty(), "unexpected tensors: " + m.loadPlan().unexpected());
      assertTrue(m.loadPlan().ignoredHeads().isEmpty(), "ignored: " + m.loadPlan().ignoredHeads());
      assertEquals(Set.copyOf(OutputNames.allQuestionAnswering(m.config())), m.availableOutputs());
      for (LxmertReference.Case c : ref.cases()) {
        Map<String, FloatArray> expected = c.outputs();
        for (String n : OutputNames.crossLayerAttentions(m.config())) {
          assertTrue(expected.containsKey(n), "the reference holds " + n);
        }
        LxmertOutputs out = m.predict(c.inputs(), OutputSelection.of(expected.keySet()));
        ParityReport report = c.compare("qa/" + c.name() + " from " + dir, out.asMap(), References.options(), null);
        System.out.println(report.table());
        if (!report.passed()) {
          failures.add(report.summary());
        }
        // HF's default output is the answer score alone.
        assertEquals(List.of(OutputNames.QUESTION_ANSWERING_SCORE), new ArrayList<>(m.predict(c.inputs()).names()));
      }
    }
    assertTrue(failures.isEmpty(), String.join("\n", failures));
  }

  /**
   * The export of a QA checkpoint with every attention (HF's and the cross layers' others, stacked), run from Java
   * through SavedModelPredictor, matches PyTorch on every output of every case.
   */
  @Test
  void exportedWithCrossLayerAttentionsMatchesPytorch(@TempDir Path tmp) throws IOException {
    LxmertConfig config = LxmertConfig.fromJsonFile(QA.resolve("model/config.json"));
    SavedModelExporter.Options o = SavedModelExporter.Options.pretraining()
        .withKind(LxmertGraph.Kind.QUESTION_ANSWERING).withHiddenStates(true).withAttentions(true)
        .withCrossLayerAttentions(true);
    Path dir = SavedModelExporter.export(config, QA.resolve("model/pytorch_model.bin"), tmp.resolve("sm"), 1, o);
    List<String> failures = new ArrayList<>();
    try (LxmertReference ref = LxmertReference.open(QA); SavedModelPredictor sm = SavedModelPredictor.open(dir)) {
      assertTrue(sm.availableOutputs().containsAll(OutputNames.crossLayerAttentions(config)), sm.availableOutputs()
          .toString());
      for (LxmertReference.Case c : ref.cases()) {
        Map<String, FloatArray> expected = c.outputs();
        LxmertOutputs out = sm.predict(c.inputs(), OutputSelection.of(expected.keySet()));
        ParityReport report = c.compare("qa/" + c.name() + " via SavedModel", out.asMap(), References.options(), null);
        if (!report.passed()) {
          failures.add(report.summary());
        }
      }
    }
    assertTrue(failures.isEmpty(), String.join("\n", failures));
  }

  @Test
  void theCheckpointIsQaOnlyAndTheLabelsComeFromId2label() throws IOException {
    Path bin = QA.resolve("model/pytorch_model.bin");
    try (WeightSource src = WeightSources.open(bin)) {
      assertTrue(src instanceof PytorchWeightSource);
      assertTrue(src.entries().keySet().stream().allMatch(k -> k.startsWith("lxmert.") || k.startsWith("answer_head.")));
      assertEquals(ModelClass.QUESTION_ANSWERING, ModelClass.ofWeights(src));
    }
    ModelClass.Choice c = ModelClass.of(QA.resolve("model"), null);
    assertEquals(ModelClass.QUESTION_ANSWERING, c.modelClass());
    assertTrue(c.reason().contains("architectures"), c.reason());
    try (LxmertForQuestionAnswering m = LxmertForQuestionAnswering.fromPretrained(QA.resolve("model"))) {
      assertEquals(List.of("yes", "no", "red", "blue", "green", "cube", "sphere", "cylinder", "one", "two", "three",
          "man"), m.labels());
      assertEquals(12, m.config().numQaLabels());
    }
  }

  /** Without architectures in config.json the class comes from what the weight file holds. */
  @Test
  void withoutArchitecturesTheWeightsDecide(@TempDir Path tmp) throws IOException {
    Path dir = copyModel(QA.resolve("model"), tmp.resolve("no-arch"));
    String json = Files.readString(dir.resolve("config.json"));
    Files.writeString(dir.resolve("config.json"), json.replaceAll("\"architectures\": \\[[^]]*],", ""));
    ModelClass.Choice c = ModelClass.of(dir, null);
    assertEquals(ModelClass.QUESTION_ANSWERING, c.modelClass());
    assertTrue(c.reason().contains("pytorch_model.bin"), c.reason());
    assertEquals(ModelClass.PRETRAINING, ModelClass.of(Path.of("fixtures", "tiny", "model-pt"), null).modelClass());
  }

  /** As in HF: the base model loads a QA checkpoint (answer_head ignored); the pretraining model refuses it. */
  @Test
  void otherClassesOnAQaCheckpoint() throws IOException {
    try (LxmertReference ref = LxmertReference.open(QA);
         LxmertModel base = LxmertModel.fromPretrained(QA.resolve("model"));
         LxmertForQuestionAnswering qa = LxmertForQuestionAnswering.fromPretrained(QA.resolve("model"))) {
      assertFalse(base.loadPlan().ignoredHeads().isEmpty());
      LxmertInputs in = ref.cases().get(0).inputs();
      OutputSelection sel = OutputSelection.of(OutputNames.base());
      assertEquals(qa.predict(in, sel).asMap(), base.predict(in, sel).asMap());
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LxmertForPreTraining.fromPretrained(QA.resolve("model")).close());
    assertTrue(e.getMessage().contains("cls.predictions"), e.getMessage());
  }

  /**
   * HF's resize_num_qa_labels: the labels that remain keep their rows (so their scores), added rows start as a
   * fresh Linear (bias 0); shrinking drops rows from the end; the result saves as an HF directory, fine-tunes with
   * LxmertTrainer (qa loss only) and loads back.
   */
  @Test
  void resizeNumQaLabelsKeepsTheRemainingLabels(@TempDir Path tmp) throws IOException {
    try (LxmertReference ref = LxmertReference.open(QA);
         LxmertForQuestionAnswering m = LxmertForQuestionAnswering.fromPretrained(QA.resolve("model"))) {
      LxmertInputs in = ref.caseNamed("b3_padded").inputs();
      FloatArray before = m.predict(in).questionAnsweringScore();                      // [3, 12]
      for (int n : new int[] {15, 5}) {
        try (LxmertForQuestionAnswering r = m.resizeNumQaLabels(n, 7)) {
          assertEquals(n, r.config().numQaLabels());
          FloatArray after = r.predict(in).questionAnsweringScore();                   // [3, n]
          assertEquals(n, after.dim(1));
          FloatArray kept = columns(after, Math.min(12, n));
          ParityReport rep = ParityReport.compare("resized to " + n, Map.of("question_answering_score",
              columns(before, Math.min(12, n))), Map.of("question_answering_score", kept), References.options());
          assertTrue(rep.passed(), rep.summary());
          assertEquals(m.labels().subList(0, Math.min(12, n)), r.labels().subList(0, Math.min(12, n)));
          if (n > 12) {
            assertEquals("LABEL_14", r.labels().get(14));
            FloatArray bias = r.weightValues().get("answer_head/logit_fc_._3/bias");
            for (int i = 12; i < n; i++) {
              assertEquals(0f, bias.data()[i]);
            }
          } else {
            Path saved = tmp.resolve("resized");
            r.savePretrained(saved, QA.resolve("model/vocab.txt"));
            assertEquals(ModelClass.QUESTION_ANSWERING, ModelClass.of(saved, null).modelClass());
            try (LxmertForQuestionAnswering back = LxmertForQuestionAnswering.fromPretrained(saved)) {
              assertEquals(r.labels(), back.labels());
              assertEquals(after, back.predict(in).questionAnsweringScore());
            }
            fineTune(saved, in, tmp.resolve("tuned"));
          }
        }
      }
    }
  }

  /** A few Adam steps on the answer head of a resized checkpoint lower the qa loss; the export loads back as QA. */
  private static void fineTune(Path dir, LxmertInputs in, Path out) throws IOException {
    TrainingOptions o = TrainingOptions.builder().losses(PretrainingLosses.Options.only("qa"))
        .trainable(TrainingOptions.Trainable.QA_HEAD).learningRate(1e-2f).build();
    PretrainingLabels labels = PretrainingLabels.answers(0, 3, 4);
    try (LxmertTrainer t = LxmertTrainer.fromPretrained(dir, o)) {
      assertTrue(t.trainedWeights().stream().allMatch(w -> w.startsWith("answer_head/")), t.trainedWeights().toString());
      float first = t.losses(in, labels).get("total");
      for (int i = 0; i < 5; i++) {
        t.step(in, labels);
      }
      float last = t.losses(in, labels).get("total");
      assertTrue(last < first, "qa loss " + first + " -> " + last);
      t.exportPretrained(out, dir.resolve("vocab.txt"));
    }
    try (LxmertForQuestionAnswering tuned = LxmertForQuestionAnswering.fromPretrained(out)) {
      assertEquals(5, tuned.predict(in).questionAnsweringScore().dim(1));
      assertEquals(ModelClass.QUESTION_ANSWERING, ModelClass.of(out, null).modelClass());
    }
  }

  /** The first {@code k} columns of a [B, L] array. */
  static FloatArray columns(FloatArray a, int k) {
    int b = (int) a.dim(0);
    int l = (int) a.dim(1);
    float[] out = new float[b * k];
    for (int i = 0; i < b; i++) {
      System.arraycopy(a.data(), i * l, out, i * k, k);
    }
    return new FloatArray(new long[] {b, k}, out);
  }

  static Path copyModel(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    try (var s = Files.list(from)) {
      for (Path p : s.toList()) {
        Files.copy(p, to.resolve(p.getFileName()));
      }
    }
    return to;
  }
}
