package io.github.tflxmert.parity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.array.FloatArray;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;

class ToleranceModelTest {
  private static FloatArray vec(float... v) {
    return new FloatArray(new long[] {v.length}, v);
  }

  private static TensorComparison cmp(FloatArray e, FloatArray a, Tolerance t) {
    return TensorComparison.compare("t", e, a, t, false, null, true);
  }

  @Test
  void boundIsAtolPlusRtolTimesExpected() {
    Tolerance t = new Tolerance(1e-3, 1e-4);
    assertEquals(1e-4 + 1e-3 * 2, t.bound(-2), 1e-15);
    // Exactly at the bound passes, just beyond fails (values chosen exactly representable in float/double).
    Tolerance edge = new Tolerance(0, 0.25);
    assertTrue(edge.allows(1.25f, 1f));
    assertFalse(edge.allows(1.2500001f, 1f));
    assertTrue(Tolerance.FLOAT32.allows(100.00012f, 100f)); // 1.2e-4 <= 1e-5 + 1.3e-4
    assertFalse(Tolerance.FLOAT32.allows(1.00002f, 1f));    // 2e-5 > 1e-5 + 1.3e-6
  }

  @Test
  void defaultsAreTorchFloat32() {
    assertEquals(1.3e-6, Tolerance.FLOAT32.rtol());
    assertEquals(1e-5, Tolerance.FLOAT32.atol());
    assertEquals(Tolerance.FLOAT32, ParityOptions.defaults().tolerance());
    assertFalse(ParityOptions.defaults().strict());
  }

  @Test
  void negativeOrNonFiniteToleranceRefused() {
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new Tolerance(-1, 0)).getMessage().contains("rtol"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new Tolerance(0, Double.NaN)).getMessage()
        .contains("atol"));
    assertThrows(IllegalArgumentException.class, () -> new Tolerance(Double.POSITIVE_INFINITY, 0));
  }

  @Test
  void nanMustSitAtTheSamePositions() {
    float nan = Float.NaN;
    assertEquals(Verdict.ALLCLOSE, cmp(vec(1, nan, 3), vec(1, nan, 3), Tolerance.FLOAT32).verdict());
    TensorComparison oneSide = cmp(vec(1, 2, 3), vec(1, nan, 3), Tolerance.FLOAT32);
    assertEquals(Verdict.FAILED, oneSide.verdict());
    assertArrayEquals(new long[] {1}, oneSide.worstIndex());
    assertTrue(oneSide.problem().contains("[1]"), oneSide.problem());
    assertEquals(Verdict.FAILED, cmp(vec(nan, 2), vec(1, 2), Tolerance.FLOAT32).verdict());
    // Even a huge tolerance does not excuse a NaN.
    assertEquals(Verdict.FAILED, cmp(vec(1, 2), vec(1, nan), new Tolerance(1e9, 1e9)).verdict());
  }

  @Test
  void infinitiesMustMatchExactly() {
    float inf = Float.POSITIVE_INFINITY;
    assertEquals(Verdict.ALLCLOSE, cmp(vec(inf, -inf), vec(inf, -inf), Tolerance.FLOAT32).verdict());
    assertEquals(Verdict.FAILED, cmp(vec(inf), vec(-inf), Tolerance.FLOAT32).verdict());
    assertEquals(Verdict.FAILED, cmp(vec(Float.MAX_VALUE), vec(inf), new Tolerance(1, 1)).verdict());
    assertEquals(Verdict.FAILED, cmp(vec(inf), vec(Float.MAX_VALUE), new Tolerance(1, 1)).verdict());
  }

  @Test
  void emptyTensorsPass() {
    FloatArray empty = new FloatArray(new long[] {0, 4}, new float[0]);
    TensorComparison c = cmp(empty, empty, Tolerance.EXACT);
    assertEquals(Verdict.ALLCLOSE, c.verdict());
    assertEquals(0, c.elements());
    assertNull(c.worstIndex());
  }

  @Test
  void shapeMismatchAndMissingFail() {
    FloatArray a = new FloatArray(new long[] {2, 3}, new float[6]);
    FloatArray b = new FloatArray(new long[] {3, 2}, new float[6]);
    TensorComparison c = cmp(a, b, Tolerance.FLOAT32);
    assertEquals(Verdict.FAILED, c.verdict());
    assertTrue(c.problem().contains("[3, 2]") && c.problem().contains("[2, 3]"), c.problem());
    assertEquals("missing from the actual outputs", cmp(a, null, Tolerance.FLOAT32).problem());
  }

  @Test
  void reportsDeviationsAndTheWorstElement() {
    FloatArray e = new FloatArray(new long[] {2, 2}, new float[] {1, 0, 10, -4});
    FloatArray a = new FloatArray(new long[] {2, 2}, new float[] {1, 1e-6f, 10.001f, -4});
    TensorComparison c = cmp(e, a, Tolerance.FLOAT32);
    assertEquals(Verdict.FAILED, c.verdict());
    assertEquals(1, c.overTolerance());
    assertArrayEquals(new long[] {1, 0}, c.worstIndex());
    assertEquals(10.001f, c.worstActual());
    assertEquals(10f, c.worstExpected());
    assertEquals(Math.abs((double) 10.001f - 10), c.maxAbs(), 1e-12);
    assertEquals(Double.POSITIVE_INFINITY, c.maxRel()); // 1e-6 where 0 was expected, as torch reports it
    assertTrue(c.maxUlp() > 1000);
  }

  @Test
  void ulpDistance() {
    assertEquals(0, TensorComparison.ulpDistance(0f, -0f));
    assertEquals(1, TensorComparison.ulpDistance(1f, Math.nextUp(1f)));
    assertEquals(2, TensorComparison.ulpDistance(Math.nextDown(0f), Math.nextUp(0f)));
    assertEquals(1, TensorComparison.ulpDistance(-1f, Math.nextDown(-1f)));
  }

  @Test
  void noiseRulePassesOnlyWithinPythonsOwnNoise() {
    FloatArray e = vec(1, 2, 3);
    FloatArray a = vec(1, 2, 3.00005f); // 5e-5: over the fixed tolerance
    double dev = Math.abs((double) 3.00005f - 3);
    assertEquals(Verdict.WITHIN_PYTHON_NOISE,
        TensorComparison.compare("t", e, a, Tolerance.FLOAT32, false, dev / 1.5, false).verdict());
    assertEquals(1.5, TensorComparison.compare("t", e, a, Tolerance.FLOAT32, false, dev / 1.5, false).noiseRatio(),
        1e-9);
    // Beyond NOISE_FACTOR times the noise, in strict mode, without noise, or with zero noise: failed.
    assertEquals(Verdict.FAILED, TensorComparison.compare("t", e, a, Tolerance.FLOAT32, false,
        dev / (ParityReport.NOISE_FACTOR * 1.01), false).verdict());
    assertEquals(Verdict.FAILED, TensorComparison.compare("t", e, a, Tolerance.FLOAT32, false, dev, true).verdict());
    assertEquals(Verdict.FAILED, TensorComparison.compare("t", e, a, Tolerance.FLOAT32, false, null, false).verdict());
    assertEquals(Verdict.FAILED, TensorComparison.compare("t", e, a, Tolerance.FLOAT32, false, 0.0, false).verdict());
    // Never for a NaN placement.
    assertEquals(Verdict.FAILED, TensorComparison.compare("t", e, vec(1, Float.NaN, 3), Tolerance.FLOAT32, false,
        1.0, false).verdict());
  }

  @Test
  void argmaxChangeFailsScoreTensorsButNotTies() {
    FloatArray e = new FloatArray(new long[] {2, 3}, new float[] {0, 5, 1, 2, 2, 0});
    FloatArray flipped = new FloatArray(new long[] {2, 3}, new float[] {0, 5, 5.00001f, 2, 2, 0});
    TensorComparison c = TensorComparison.compare("s", e, flipped, new Tolerance(0, 0.5), true, null, true);
    assertEquals(1, c.argmaxMismatches());
    assertEquals(Verdict.FAILED, c.verdict());
    FloatArray tie = new FloatArray(new long[] {2, 3}, new float[] {0, 5, 1, 2, 2.00001f, 0});
    FloatArray tieFlip = new FloatArray(new long[] {2, 3}, new float[] {0, 5, 1, 2.00001f, 2, 0});
    assertEquals(0, TensorComparison.compare("s", tie, tieFlip, Tolerance.FLOAT32, true, null, true)
        .argmaxMismatches());
  }

  @Test
  void reportNamesTheFirstDivergingTensorInExecutionOrder() {
    ExecutionOrder order = new ExecutionOrder(2, 1);
    Map<String, FloatArray> expected = new LinkedHashMap<>();
    Map<String, FloatArray> actual = new LinkedHashMap<>();
    // Inserted out of order; language layer 1's hidden state and everything after it diverge.
    for (String n : new String[] {"prediction_logits", "pooled_output", "language_hidden_states.2",
        "vision_hidden_states.0", "language_hidden_states.1", "language_hidden_states.0", "cross_encoder_attentions.0",
        "language_attentions.1"}) {
      expected.put(n, vec(1, 2));
      boolean bad = !n.equals("language_hidden_states.0") && !n.equals("language_attentions.1");
      actual.put(n, bad ? vec(1, 2.5f) : vec(1, 2));
    }
    ParityReport r = ParityReport.compare("case", expected, actual, ParityOptions.defaults(), Map.of(), order);
    assertFalse(r.passed());
    assertEquals("language_hidden_states.1", r.firstDivergence().orElseThrow().tensor());
    assertEquals("language layer 1", r.block("language_hidden_states.1"));
    assertEquals("cross layer 0", r.block("language_hidden_states.2"));
    assertEquals(java.util.List.of("language_hidden_states.0", "language_attentions.1", "language_hidden_states.1",
            "vision_hidden_states.0", "cross_encoder_attentions.0", "language_hidden_states.2", "pooled_output",
            "prediction_logits"), r.rows().stream().map(TensorComparison::tensor).toList());
    assertTrue(r.summary().contains("first divergence language_hidden_states.1 (language layer 1)"), r.summary());
    assertTrue(r.table().contains("worst element"), r.table());
    assertEquals("language_hidden_states.1", r.toJson().get("first_divergence").asText());
    assertEquals(1, r.toJson().get("tensors").get(2).get("worst_index").get(0).asInt());
  }

  @Test
  void assertionsFailWithTheTable() {
    AssertionFailedError e = assertThrows(AssertionFailedError.class,
        () -> ParityAssertions.assertAllClose(vec(1, 2), vec(1, 2.1f)));
    assertTrue(e.getMessage().contains("max abs") && e.getMessage().contains("FAIL"), e.getMessage());
    ParityAssertions.assertAllClose(vec(1, 2), vec(1, 2.000001f));
    ParityAssertions.assertAllClose(vec(1, 2), vec(1, 2), Tolerance.EXACT);
    assertThrows(AssertionFailedError.class, () -> ParityAssertions.assertAllClose(vec(1, 2), vec(1, Math.nextUp(2f)),
        Tolerance.EXACT));
    assertThrows(AssertionFailedError.class, () -> ParityAssertions.assertAllClose("m", Map.of("a", vec(1)),
        Map.of(), ParityOptions.defaults().withScoreTensors(Set.of())));
  }
}
