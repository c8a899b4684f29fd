package io.github.tflxmert.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.IntArray;
import io.github.tflxmert.training.LxmertTrainer;
import io.github.tflxmert.training.PretrainingLabels;
import io.github.tflxmert.training.PretrainingLosses;
import io.github.tflxmert.training.TrainingOptions;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every pretraining loss term (MLM, matched, visual obj/attr/feat, QA) and the total, Java graph against the
 * terms Python computed with HF's Keras losses (whose sum equals HF's returned total), on the labelled case of
 * each fixture set. Bar: the project's tolerance model, {@code |java - python| <= 1e-5 + 1.3e-6 |python|} per term.
 */
class LossParityTest {
  static final Tolerance TOL = Tolerance.FLOAT32;
  /** The tolerance model's bound for one expected scalar (as the delta of assertEquals). */
  static double bound(double expected) {
    return TOL.bound(expected);
  }

  static List<String> names() {
    return References.NAMES;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("names")
  void everyLossTermMatchesPython(String name) throws IOException {
    try (LxmertReference ref = References.open(name);
         LxmertTrainer trainer = LxmertTrainer.create(ref.config(), ref.modelDir().resolve("tf_model.h5"),
             TrainingOptions.plainAdam())) {
      TrainingReference tr = new TrainingReference(ref.dir());
      LxmertInputs inputs = ref.caseNamed(tr.caseName()).inputs();
      Map<String, Float> java = trainer.losses(inputs, tr.labels());
      List<String> failures = new ArrayList<>();
      double worst = 0;
      for (Map.Entry<String, Double> e : tr.lossTerms().entrySet()) {
        double d = Math.abs(java.get(e.getKey()) - e.getValue());
        worst = Math.max(worst, d);
        System.out.printf("%s %-12s python %.7f java %.7f |diff| %.3g%n", name, e.getKey(), e.getValue(),
            java.get(e.getKey()), d);
        if (d > bound(e.getValue())) {
          failures.add(e.getKey() + " differs by " + d);
        }
      }
      double dt = Math.abs(java.get("total") - tr.hfTotal());
      System.out.printf("%s %-12s python(HF) %.7f java %.7f |diff| %.3g (worst term %.3g)%n", name, "total",
          tr.hfTotal(), java.get("total"), dt, worst);
      assertTrue(dt <= bound(tr.hfTotal()), "total differs from HF's by " + dt);
      assertTrue(failures.isEmpty(), String.join("\n", failures));
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("names")
  void subsetsOfTermsAndIgnoreIndex(String name) throws IOException {
    try (LxmertReference ref = References.open(name);
         LxmertTrainer qaOnly = LxmertTrainer.create(ref.config(), ref.modelDir().resolve("tf_model.h5"),
             TrainingOptions.builder().losses(PretrainingLosses.Options.only("qa")).build());
         LxmertTrainer mlmIgnore = LxmertTrainer.create(ref.config(), ref.modelDir().resolve("tf_model.h5"),
             TrainingOptions.builder()
                 .losses(PretrainingLosses.Options.only("masked_lm").withIgnoreIndex(-100)).build())) {
      TrainingReference tr = new TrainingReference(ref.dir());
      LxmertReference.Case c = ref.caseNamed(tr.caseName());
      LxmertInputs inputs = c.inputs();
      PretrainingLabels labels = tr.labels();
      Map<String, Float> qa = qaOnly.losses(inputs, PretrainingLabels.builder().put("ans", labels.get("ans")).build());
      assertEquals(tr.lossTerms().get("qa"), qa.get("total"), bound(tr.lossTerms().get("qa")));
      // Without a -100 label the opt-in ignore index changes nothing.
      Map<String, Float> mlm = mlmIgnore.losses(inputs, labels);
      assertEquals(tr.lossTerms().get("masked_lm"), mlm.get("total"), bound(tr.lossTerms().get("masked_lm")));

      // With -100 labels, the MLM term is the mean cross-entropy over the other positions. Expected values come
      // from Python's prediction_logits for this case: first check that their mean cross-entropy over every
      // position is Python's masked_lm term, then leave out the ignored positions.
      IntArray y = (IntArray) labels.get("masked_lm_labels");   // [B,S]
      FloatArray logits = c.output("prediction_logits");         // [B,S,V]
      double[] ce = crossEntropies(logits, y.data());
      assertEquals(tr.lossTerms().get("masked_lm"), mean(ce, new boolean[ce.length]), bound(tr.lossTerms().get("masked_lm")));
      int[] ignored = y.data().clone();
      boolean[] skip = new boolean[ce.length];
      for (int i : new int[] {0, 3, ce.length / 2, ce.length - 1}) {
        ignored[i] = -100;
        skip[i] = true;
      }
      double expected = mean(ce, skip);
      assertTrue(Math.abs(expected - tr.lossTerms().get("masked_lm")) > 100 * bound(expected),
          "the positions left out must change the mean, or this check could not fail: " + expected);
      PretrainingLabels.Builder withIgnored = PretrainingLabels.builder();
      labels.values().forEach(withIgnored::put);
      withIgnored.put("masked_lm_labels", new IntArray(y.shape(), ignored));
      Map<String, Float> mlmIgnored = mlmIgnore.losses(inputs, withIgnored.build());
      System.out.printf("%s masked_lm with 4 of %d labels -100: expected %.7f java %.7f%n", name, ce.length, expected,
          mlmIgnored.get("total"));
      assertEquals(expected, mlmIgnored.get("total"), bound(expected), "the -100 positions are left out of the mean");
    }
  }

  /** Per position, -log softmax(logits)[label], in double: {@code logits} [B,S,V], {@code labels} [B*S]. */
  static double[] crossEntropies(FloatArray logits, int[] labels) {
    int v = (int) logits.dim(2);
    double[] ce = new double[labels.length];
    float[] d = logits.data();
    for (int i = 0; i < labels.length; i++) {
      double max = Double.NEGATIVE_INFINITY;
      for (int k = 0; k < v; k++) {
        max = Math.max(max, d[i * v + k]);
      }
      double sum = 0;
      for (int k = 0; k < v; k++) {
        sum += Math.exp(d[i * v + k] - max);
      }
      ce[i] = max + Math.log(sum) - d[i * v + labels[i]];
    }
    return ce;
  }

  static double mean(double[] x, boolean[] skip) {
    double s = 0;
    int n = 0;
    for (int i = 0; i < x.length; i++) {
      if (!skip[i]) {
        s += x[i];
        n++;
      }
    }
    return s / n;
  }
}
