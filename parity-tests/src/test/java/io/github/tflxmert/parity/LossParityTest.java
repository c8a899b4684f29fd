package io.github.tflxmert.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.LxmertInputs;
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
 * each fixture set. Bar: 1e-5 absolute per term.
 */
class LossParityTest {
  static final double ATOL = 1e-5;

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
        if (d > ATOL) {
          failures.add(e.getKey() + " differs by " + d);
        }
      }
      double dt = Math.abs(java.get("total") - tr.hfTotal());
      System.out.printf("%s %-12s python(HF) %.7f java %.7f |diff| %.3g (worst term %.3g)%n", name, "total",
          tr.hfTotal(), java.get("total"), dt, worst);
      assertTrue(dt <= ATOL, "total differs from HF's by " + dt);
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
      LxmertInputs inputs = ref.caseNamed(tr.caseName()).inputs();
      PretrainingLabels labels = tr.labels();
      Map<String, Float> qa = qaOnly.losses(inputs, PretrainingLabels.builder().put("ans", labels.get("ans")).build());
      assertEquals(tr.lossTerms().get("qa"), qa.get("total"), ATOL);
      // No label equals -100, so the opt-in ignore index changes nothing here.
      Map<String, Float> mlm = mlmIgnore.losses(inputs, labels);
      assertEquals(tr.lossTerms().get("masked_lm"), mlm.get("total"), ATOL);
    }
  }
}
