package io.github.tflxmert.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.array.FloatArray;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The reduced-precision budget: cosine, top-1 agreement with ties, and how ParityOptions.bfloat16() judges. */
class BudgetTest {
  private static FloatArray of(long[] shape, float... v) {
    return new FloatArray(shape, v);
  }

  @Test
  void cosineOfParallelOrthogonalAndZeroVectors() {
    assertEquals(1.0, Budget.cosine(new float[] {2, 4}, new float[] {1, 2}), 1e-12);
    assertEquals(0.0, Budget.cosine(new float[] {0, 1}, new float[] {1, 0}), 1e-12);
    assertEquals(-1.0, Budget.cosine(new float[] {-1, -2}, new float[] {1, 2}), 1e-12);
    assertEquals(1.0, Budget.cosine(new float[] {0, 0}, new float[] {0, 0}));
    assertEquals(0.0, Budget.cosine(new float[] {0, 0}, new float[] {1, 0}));
  }

  @Test
  void top1CountsRowsAndLeavesTiesOut() {
    float[] e = {1f, 0f, 0f, 0f, 1f, 0.99f};      // row 0 decided, row 1 a tie (gap 0.01 <= 0.05 x RMS)
    float[] a = {1f, 0f, 0f, 0f, 0.98f, 1f};      // row 1 flipped
    assertEquals(0.5, Budget.top1Agreement(a, e, 3));
    Budget.Top1 t = Budget.top1(a, e, 3, 0.05);
    assertEquals(new Budget.Top1(2, 1, 1), t);
    assertEquals(1.0, t.agreement());
    assertEquals(1.0, new Budget.Top1(3, 0, 0).agreement(), "no decided row: nothing disagrees");
  }

  @Test
  void budgetFieldsAreChecked() {
    assertThrows(IllegalArgumentException.class, () -> new Budget(0, 0.99, 0));
    assertThrows(IllegalArgumentException.class, () -> new Budget(1.5, 0.99, 0));
    assertThrows(IllegalArgumentException.class, () -> new Budget(0.999, Double.NaN, 0));
    assertThrows(IllegalArgumentException.class, () -> new Budget(0.999, 0.99, -1));
    assertEquals(new Budget(0.999, 0.99, 0.05), Budget.BFLOAT16);
  }

  @Test
  void bfloat16OptionsPassARoundedTensorTheFloat32ToleranceFails() {
    float[] e = new float[1000];
    float[] a = new float[1000];
    for (int i = 0; i < e.length; i++) {
      e[i] = (float) Math.sin(i);
      a[i] = e[i] * (1 + ((i % 7) - 3) * 1e-3f);   // ~0.3 % relative error: bfloat16-like rounding
    }
    Map<String, FloatArray> exp = Map.of("h", of(new long[] {1000}, e));
    Map<String, FloatArray> act = Map.of("h", of(new long[] {1000}, a));
    assertFalse(ParityReport.compare("fp32", exp, act, ParityOptions.defaults()).passed());
    ParityReport r = ParityReport.compare("bf16", exp, act, ParityOptions.bfloat16());
    assertTrue(r.passed(), r.table());
    assertEquals(Verdict.WITHIN_BUDGET, r.rows().get(0).verdict());
    assertTrue(r.rows().get(0).cosine() > 0.9999);
    assertTrue(r.summary().contains("1 within the budget"), r.summary());
    assertTrue(r.toJson().has("budget_min_cosine"));
  }

  @Test
  void theBudgetFailsALowCosineAFlippedTopOneAndAMisplacedNan() {
    Map<String, FloatArray> exp = Map.of("h", of(new long[] {4}, 1, 2, 3, 4));
    assertFalse(ParityReport.compare("t", exp, Map.of("h", of(new long[] {4}, 4, 3, 2, 1)),
        ParityOptions.bfloat16()).passed(), "cosine 0.67");
    // scores: 2 rows, decided, one flipped -> 50 % < 99 %, though the cosine is high
    Map<String, FloatArray> se = Map.of("s", of(new long[] {2, 2}, 10, 0, 0, 10));
    Map<String, FloatArray> sa = Map.of("s", of(new long[] {2, 2}, 10, 0, 5.1f, 4.9f));
    ParityOptions scores = ParityOptions.bfloat16().withScoreTensors(Set.of("s"));
    ParityReport r = ParityReport.compare("t", se, sa, scores);
    assertFalse(r.passed(), r.table());
    assertEquals(0.5, r.rows().get(0).top1().agreement());
    ParityReport nan = ParityReport.compare("t", exp, Map.of("h", of(new long[] {4}, 1, 2, 3, Float.NaN)),
        ParityOptions.bfloat16());
    assertFalse(nan.passed());
    assertEquals(Verdict.FAILED, nan.rows().get(0).verdict());
  }

  @Test
  void withoutABudgetNothingChanges() {
    assertNull(ParityOptions.defaults().budget());
    assertNull(ParityOptions.exact().budget());
    assertEquals(Budget.BFLOAT16, ParityOptions.bfloat16().budget());
    assertTrue(ParityOptions.bfloat16().strict());
    assertNull(ParityOptions.bfloat16().withBudget(null).budget());
  }
}
