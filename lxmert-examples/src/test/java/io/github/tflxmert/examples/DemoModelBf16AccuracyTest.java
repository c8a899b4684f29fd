package io.github.tflxmert.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.Bfloat16Support;
import io.github.tflxmert.LoadOptions;
import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.Precision;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.config.OutputNames;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The embedded demo model (lxmert-cli's resources; trained by scripts/train-demo-model.sh with seed 1) on its 2,000
 * held-out questions — the generator seed TrainDemoModel uses — in float32 and in mixed bfloat16: float32 gives the
 * accuracy training.json records, bfloat16 answers at least 99 % of the questions the same and loses at most half
 * a point of accuracy.
 */
class DemoModelBf16AccuracyTest {
  private static final Path DEMO = Path.of("../lxmert-cli/src/main/resources/io/github/tflxmert/cli/demo-model");
  private static final int HELD_OUT = 2000;

  @Test
  void bfloat16KeepsTheHeldOutAccuracy() throws IOException {
    Assumptions.assumeTrue(Files.isDirectory(DEMO), "demo model not found at " + DEMO.toAbsolutePath());
    Assumptions.assumeTrue(Bfloat16Support.detect().available(), () -> Bfloat16Support.detect().missing());
    int[] truth = new int[HELD_OUT];
    int[] fp32 = answers(Precision.FLOAT32, truth);
    int[] bf16 = answers(Precision.BFLOAT16, truth);
    int ok32 = 0;
    int ok16 = 0;
    int same = 0;
    for (int i = 0; i < HELD_OUT; i++) {
      ok32 += fp32[i] == truth[i] ? 1 : 0;
      ok16 += bf16[i] == truth[i] ? 1 : 0;
      same += fp32[i] == bf16[i] ? 1 : 0;
    }
    double acc32 = ok32 / (double) HELD_OUT;
    double acc16 = ok16 / (double) HELD_OUT;
    double agree = same / (double) HELD_OUT;
    System.out.printf(Locale.ROOT, "demo model, %d held-out questions: fp32 accuracy %.4f, bf16 accuracy %.4f, "
        + "bf16 answers equal to fp32 %.4f%n", HELD_OUT, acc32, acc16, agree);
    String recorded = Files.readString(DEMO.resolve("training.json"));
    assertTrue(recorded.contains(String.format(Locale.ROOT, "\"held_out_accuracy\": %.4f", acc32)),
        "fp32 accuracy " + acc32 + " is not training.json's: " + recorded);
    assertTrue(agree >= 0.99, "bf16 answers equal to fp32 on " + agree);
    assertTrue(acc16 >= acc32 - 0.005, "bf16 accuracy " + acc16 + " vs fp32 " + acc32);
  }

  /**
   * The answer index the model picks for each held-out question, in batches of 200 drawn as TrainDemoModel draws
   * them (questions, then their inputs, whose noise comes from the same generator); the right answers into
   * {@code truth}.
   */
  private static int[] answers(Precision p, int[] truth) throws IOException {
    SyntheticVqa test = new SyntheticVqa(1 + 1_000_003L);
    int[] out = new int[HELD_OUT];
    try (LxmertForPreTraining m = LxmertForPreTraining.fromPretrained(DEMO, LoadOptions.defaults().withPrecision(p))) {
      assertEquals(p, m.precision());
      for (int done = 0; done < HELD_OUT; done += 200) {
        List<SyntheticVqa.Example> b = test.examples(200);
        FloatArray qa = m.predict(test.inputs(b), OutputSelection.of(List.of(OutputNames.QUESTION_ANSWERING_SCORE)))
            .get(OutputNames.QUESTION_ANSWERING_SCORE);
        for (int i = 0; i < b.size(); i++) {
          out[done + i] = qa.argmax(i);
          truth[done + i] = b.get(i).answer();
        }
      }
    }
    return out;
  }
}
