package io.github.tflxmert.parity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.LxmertOutputs;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.IntArray;
import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.config.OutputNames;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The cross layers' attentions HF computes and drops, on the TF references (tiny, wide), whose outputs hold only
 * HF's attentions: each is a proper attention distribution (every row sums to 1, keys the masks exclude get 0) with
 * the shape its direction implies, and HF's returned one ({@code cross_encoder_attentions.i}), computed in the same
 * run, matches the reference. Their values are held against PyTorch's in {@link QuestionAnsweringParityTest}.
 */
class CrossLayerAttentionParityTest {
  static Stream<String> names() {
    return References.NAMES.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("names")
  void properDistributionsBesideHfsOwn(String name) throws IOException {
    List<String> failures = new ArrayList<>();
    try (LxmertReference ref = References.open(name);
         LxmertForPreTraining m = LxmertForPreTraining.fromPretrained(ref.modelDir())) {
      LxmertConfig c = m.config();
      int heads = c.numAttentionHeads();
      for (LxmertReference.Case rc : ref.cases()) {
        LxmertInputs in = rc.inputs();
        List<String> wanted = new ArrayList<>(OutputNames.crossLayerAttentions(c));
        List<String> hfs = OutputNames.attentions(c).stream().filter(n -> n.startsWith("cross_")).toList();
        wanted.addAll(hfs);
        LxmertOutputs out = m.predict(in, OutputSelection.of(wanted));
        ParityReport report = rc.compare(name + "/" + rc.name(), out.asMap(), References.options(), Set.copyOf(hfs));
        if (!report.passed()) {
          failures.add(report.summary());
        }
        long b = in.inputIds().shape()[0];
        long s = in.inputIds().shape()[1];
        long n = in.visualFeats().shape()[1];
        IntArray text = in.attentionMask();
        IntArray visn = in.visualAttentionMaskOrOnes();
        for (int i = 0; i < c.xLayers(); i++) {
          check(out.get(OutputNames.layer(OutputNames.CROSS_ENCODER_VISION_ATTENTIONS, i)), new long[] {b, heads, n, s},
              text);
          check(out.get(OutputNames.layer(OutputNames.CROSS_ENCODER_LANGUAGE_SELF_ATTENTIONS, i)),
              new long[] {b, heads, s, s}, text);
          check(out.get(OutputNames.layer(OutputNames.CROSS_ENCODER_VISION_SELF_ATTENTIONS, i)),
              new long[] {b, heads, n, n}, visn);
        }
      }
    }
    assertTrue(failures.isEmpty(), String.join("\n", failures));
  }

  /** att [B,h,Q,K]: the shape, rows summing to 1, and 0 on every key whose mask [B,K] is 0. */
  static void check(FloatArray att, long[] shape, IntArray keyMask) {
    assertArrayEquals(shape, att.shape());
    int q = (int) shape[2];
    int k = (int) shape[3];
    float[] d = att.data();
    for (int row = 0; row < d.length / k; row++) {
      int batch = row / ((int) shape[1] * q);
      double sum = 0;
      for (int j = 0; j < k; j++) {
        float p = d[row * k + j];
        sum += p;
        if (keyMask.data()[batch * k + j] == 0) {
          assertEquals(0f, p, 1e-30f, "masked key " + j + " of row " + row);
        }
      }
      assertEquals(1.0, sum, 1e-5, "row " + row);
    }
  }
}
