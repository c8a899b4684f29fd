package io.github.tflxmert.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.training.LxmertTrainer;
import io.github.tflxmert.training.PretrainingLosses;
import io.github.tflxmert.training.TrainingOptions;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * One optimizer step, Java against Python, on the tiny fixture: the same labelled batch, dropout off, plain
 * Adam (tf_keras.optimizers.Adam in Python, TF's ApplyAdam op in Java; no weight decay, no clipping, constant
 * learning rate) with the hyper-parameters the exporter recorded. Bar: loss before the step within 1e-5, and
 * every one of the 128 updated weights within 1e-5 (max abs).
 */
class TrainingStepParityTest {
  static final double ATOL = 1e-5;

  @Test
  void oneAdamStepMatchesPython() throws IOException {
    try (LxmertReference ref = References.open("tiny")) {
      TrainingReference tr = new TrainingReference(ref.dir());
      JsonNode step = tr.step();
      JsonNode hp = step.get("hyper_parameters");
      TrainingOptions opts = new TrainingOptions(PretrainingLosses.Options.all(), TrainingOptions.Trainable.ALL,
          (float) hp.get("learning_rate").asDouble(), (float) hp.get("beta_1").asDouble(),
          (float) hp.get("beta_2").asDouble(), (float) hp.get("epsilon").asDouble(), 0f, 0f, 0, 0, false, 0L, 0);
      LxmertInputs inputs = ref.caseNamed(tr.caseName()).inputs();
      try (LxmertTrainer trainer = LxmertTrainer.create(ref.config(), ref.modelDir().resolve("tf_model.h5"), opts)) {
        Map<String, FloatArray> before = trainer.weights();
        LxmertTrainer.StepResult r = trainer.step(inputs, tr.labels());
        double dLoss = Math.abs(r.loss() - step.get("loss_before").asDouble());
        Map<String, FloatArray> expected = TrainingReference.readSafetensors(tr.dir.resolve("updated.safetensors"));
        Map<String, FloatArray> actual = trainer.weights();
        assertEquals(expected.keySet().size(), actual.size(), "variable count");
        double worst = 0;
        String worstName = null;
        double moved = 0;
        for (Map.Entry<String, FloatArray> e : expected.entrySet()) {
          FloatArray a = actual.get(e.getKey());
          assertTrue(a != null, "Java has no weight " + e.getKey());
          assertTrue(Arrays.equals(a.shape(), e.getValue().shape()), e.getKey() + " shape");
          for (int i = 0; i < a.data().length; i++) {
            double d = Math.abs(a.data()[i] - e.getValue().data()[i]);
            if (d > worst) {
              worst = d;
              worstName = e.getKey();
            }
            moved = Math.max(moved, Math.abs(a.data()[i] - before.get(e.getKey()).data()[i]));
          }
        }
        float after = trainer.losses(inputs, tr.labels()).get("total");
        System.out.printf("tiny one Adam step: loss before python %.7f java %.7f |diff| %.3g; after python %.7f java"
                + " %.7f; updated weights max |diff| %.3g (%s) over %d variables; largest move %.3g%n",
            step.get("loss_before").asDouble(), r.loss(), dLoss, step.get("loss_after").asDouble(), after, worst,
            worstName, expected.size(), moved);
        assertTrue(dLoss <= ATOL, "loss before the step differs by " + dLoss);
        assertTrue(worst <= ATOL, "updated weight " + worstName + " differs by " + worst);
        assertTrue(moved > 1e-4, "the step did not move the weights");
      }
    }
  }
}
