package io.github.tflxmert.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.LoadOptions;
import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.config.OutputNames;
import io.github.tflxmert.graph.GraphDefect;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The test-only defects of {@link LoadOptions#withDefectsForTesting} really change the model: on the tiny fixture's
 * padded case, each one alone changes the heads' outputs against the same model without defects (a value or a
 * shape), so parity mutation tests built on them hold a real bug against the reference.
 */
class GraphDefectTest {
  static final List<String> HEADS = List.of(OutputNames.PREDICTION_LOGITS, OutputNames.CROSS_RELATIONSHIP_SCORE,
      OutputNames.QUESTION_ANSWERING_SCORE);

  static Map<String, FloatArray> heads(LxmertReference ref, LxmertInputs in, LoadOptions o) throws IOException {
    try (LxmertForPreTraining m = LxmertForPreTraining.fromPretrained(ref.modelDir(), o)) {
      return m.predict(in, OutputSelection.of(HEADS)).asMap();
    }
  }

  @ParameterizedTest
  @EnumSource(GraphDefect.class)
  void eachDefectChangesTheOutputs(GraphDefect defect) throws IOException {
    try (LxmertReference ref = References.open("tiny")) {
      LxmertInputs in = ref.caseNamed("b3_padded").inputs();
      assertTrue(Arrays.stream(in.attentionMask().data()).anyMatch(v -> v == 0), "the case has padding");
      assertEquals(Set.of(), LoadOptions.defaults().defects(), "no defect by default");
      Map<String, FloatArray> clean = heads(ref, in, LoadOptions.defaults());
      Map<String, FloatArray> broken = heads(ref, in, LoadOptions.defaults().withDefectsForTesting(Set.of(defect)));
      StringBuilder seen = new StringBuilder();
      boolean changed = false;
      for (String n : HEADS) {
        FloatArray a = clean.get(n);
        FloatArray b = broken.get(n);
        if (!Arrays.equals(a.shape(), b.shape())) {
          seen.append(String.format("%s shape %s -> %s; ", n, Arrays.toString(a.shape()), Arrays.toString(b.shape())));
          changed = true;
          continue;
        }
        double max = 0;
        for (int i = 0; i < a.data().length; i++) {
          max = Math.max(max, Math.abs(a.data()[i] - b.data()[i]));
        }
        seen.append(String.format("%s max |diff| %.3g; ", n, max));
        changed |= max > 1e-3;
      }
      System.out.println(defect + ": " + seen);
      assertTrue(changed, defect + " changed no head output beyond 1e-3: " + seen);
    }
  }
}
