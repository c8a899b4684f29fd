package io.github.tflxmert.parity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.LoadOptions;
import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.config.OutputNames;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.training.LxmertTrainer;
import io.github.tflxmert.training.PretrainingLabels;
import io.github.tflxmert.training.PretrainingLosses;
import io.github.tflxmert.training.TrainingOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Trainer features on the tiny fixture: resume from a checkpoint, export/reload, QA-head-only, dropout, AdamW. */
class TrainerTest {
  @TempDir
  Path tmp;

  private static LxmertReference tiny() throws IOException {
    return References.open("tiny");
  }

  private static float maxAbs(FloatArray a, FloatArray b) {
    float m = 0;
    for (int i = 0; i < a.data().length; i++) {
      m = Math.max(m, Math.abs(a.data()[i] - b.data()[i]));
    }
    return m;
  }

  @Test
  void checkpointResumeGivesTheSameWeightsAsTrainingStraightThrough() throws IOException {
    try (LxmertReference ref = tiny()) {
      TrainingReference tr = new TrainingReference(ref.dir());
      LxmertInputs in = ref.caseNamed(tr.caseName()).inputs();
      PretrainingLabels y = tr.labels();
      TrainingOptions o = TrainingOptions.builder().schedule(2, 10).clipNorm(1f).weightDecay(0.01f).build();
      Path ckpt = tmp.resolve("ckpt/model");
      Map<String, FloatArray> straight;
      try (LxmertTrainer a = LxmertTrainer.create(ref.config(), ref.modelDir().resolve("tf_model.h5"), o)) {
        a.step(in, y);
        a.save(ckpt);
        a.step(in, y);
        a.step(in, y);
        straight = a.weights();
      }
      try (LxmertTrainer b = LxmertTrainer.create(ref.config(), ref.modelDir().resolve("tf_model.h5"), o)) {
        b.restore(ckpt);
        assertEquals(1, b.stepCount());
        b.step(in, y);
        b.step(in, y);
        assertEquals(3, b.stepCount());
        Map<String, FloatArray> resumed = b.weights();
        for (String k : straight.keySet()) {
          assertTrue(maxAbs(straight.get(k), resumed.get(k)) <= 1e-6f, k);
        }
      }
    }
  }

  @Test
  void exportedModelLoadsForInferenceWithTheTrainedWeights() throws IOException {
    try (LxmertReference ref = tiny()) {
      TrainingReference tr = new TrainingReference(ref.dir());
      LxmertInputs in = ref.caseNamed(tr.caseName()).inputs();
      Path out = tmp.resolve("exported");
      Map<String, FloatArray> trained;
      try (LxmertTrainer a = LxmertTrainer.create(ref.config(), ref.modelDir().resolve("tf_model.h5"),
          TrainingOptions.plainAdam())) {
        a.step(in, tr.labels());
        trained = a.weights();
        a.exportPretrained(out, ref.modelDir().resolve("vocab.txt"));
      }
      try (LxmertTrainer b = LxmertTrainer.fromPretrained(out, TrainingOptions.plainAdam())) {
        Map<String, FloatArray> reloaded = b.weights();
        for (String k : trained.keySet()) {
          assertArrayEquals(trained.get(k).data(), reloaded.get(k).data(), k);
        }
      }
      try (LxmertForPreTraining m = LxmertForPreTraining.fromPretrained(out, LoadOptions.defaults())) {
        assertTrue(m.loadPlan().unexpected().isEmpty(), "unexpected: " + m.loadPlan().unexpected());
        FloatArray qa = m.predict(in, OutputSelection.of(List.of(OutputNames.QUESTION_ANSWERING_SCORE)))
            .asMap().get(OutputNames.QUESTION_ANSWERING_SCORE);
        assertEquals(in.batchSize(), qa.dim(0));
      }
    }
  }

  @Test
  void qaHeadOnlyTrainsOnlyTheAnswerHeadAndLearnsTheBatch() throws IOException {
    try (LxmertReference ref = tiny()) {
      TrainingReference tr = new TrainingReference(ref.dir());
      LxmertInputs in = ref.caseNamed(tr.caseName()).inputs();
      PretrainingLabels y = PretrainingLabels.builder().put("ans", tr.labels().get("ans")).build();
      TrainingOptions o = TrainingOptions.builder().losses(PretrainingLosses.Options.only("qa"))
          .trainable(TrainingOptions.Trainable.QA_HEAD).learningRate(1e-2f).build();
      try (LxmertTrainer t = LxmertTrainer.create(ref.config(), ref.modelDir().resolve("tf_model.h5"), o)) {
        assertTrue(t.trainedWeights().stream().allMatch(n -> n.startsWith("answer_head/")), t.trainedWeights().toString());
        Map<String, FloatArray> before = t.weights();
        List<String> lines = new ArrayList<>();
        LxmertTrainer.StepResult last = t.fit(List.of(new LxmertTrainer.Batch(in, y)), 30, 10, lines::add);
        lines.forEach(System.out::println);
        assertEquals(3, lines.size());
        assertTrue(lines.get(0).contains("examples/s"));
        float first = tr.lossTerms().get("qa").floatValue();
        assertTrue(last.loss() < 0.2f * first, "QA loss " + first + " -> " + last.loss());
        Map<String, FloatArray> after = t.weights();
        for (String k : before.keySet()) {
          boolean moved = maxAbs(before.get(k), after.get(k)) > 0;
          assertEquals(k.startsWith("answer_head/"), moved, k);
        }
      }
    }
  }

  @Test
  void dropoutIsActiveInTheTrainingGraphOnly() throws IOException {
    try (LxmertReference ref = tiny()) {
      TrainingReference tr = new TrainingReference(ref.dir());
      LxmertInputs in = ref.caseNamed(tr.caseName()).inputs();
      try (LxmertTrainer t = LxmertTrainer.create(ref.config(), ref.modelDir().resolve("tf_model.h5"),
          TrainingOptions.builder().dropout(true, 7).build())) {
        float a = t.losses(in, tr.labels()).get("total");
        float b = t.losses(in, tr.labels()).get("total");
        assertNotEquals(a, b, "two dropout draws gave the same loss");
        assertTrue(Math.abs(a - tr.hfTotal()) > 1e-3, "dropout changed nothing");
        assertTrue(Float.isFinite(t.step(in, tr.labels()).loss()));
      }
    }
  }

  @Test
  void decoupledWeightDecayShrinksKernelsByLrTimesDecayAndLeavesBiases() throws IOException {
    try (LxmertReference ref = tiny()) {
      TrainingReference tr = new TrainingReference(ref.dir());
      LxmertInputs in = ref.caseNamed(tr.caseName()).inputs();
      float lr = 1e-3f;
      float wd = 0.5f;
      Map<String, FloatArray> plain;
      Map<String, FloatArray> decayed;
      Map<String, FloatArray> start;
      try (LxmertTrainer t = LxmertTrainer.create(ref.config(), ref.modelDir().resolve("tf_model.h5"),
          TrainingOptions.plainAdam())) {
        start = t.weights();
        t.step(in, tr.labels());
        plain = t.weights();
      }
      try (LxmertTrainer t = LxmertTrainer.create(ref.config(), ref.modelDir().resolve("tf_model.h5"),
          TrainingOptions.builder().weightDecay(wd).build())) {
        t.step(in, tr.labels());
        decayed = t.weights();
      }
      String kernel = "lxmert/encoder/layer_._0/attention/self/query/kernel";
      String bias = "lxmert/encoder/layer_._0/attention/self/query/bias";
      float[] w0 = start.get(kernel).data();
      float worst = 0;
      for (int i = 0; i < w0.length; i++) {
        worst = Math.max(worst, Math.abs(plain.get(kernel).data()[i] - lr * wd * w0[i] - decayed.get(kernel).data()[i]));
      }
      assertTrue(worst < 1e-6f, "decay mismatch " + worst);
      assertArrayEquals(plain.get(bias).data(), decayed.get(bias).data());
    }
  }

  @Test
  void linearWarmupThenDecay() {
    TrainingOptions o = TrainingOptions.builder().learningRate(1f).schedule(10, 110).build();
    assertEquals(0.1f, o.learningRateAt(1), 1e-6);
    assertEquals(1f, o.learningRateAt(10), 1e-6);
    assertEquals(0.5f, o.learningRateAt(60), 1e-6);
    assertEquals(0f, o.learningRateAt(110), 1e-6);
    assertEquals(0f, o.learningRateAt(200), 1e-6);
  }
}
