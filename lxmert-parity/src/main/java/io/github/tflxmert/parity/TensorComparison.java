package io.github.tflxmert.parity;

import io.github.tflxmert.array.FloatArray;
import java.util.Arrays;
import java.util.Locale;

/**
 * One tensor held against its reference under a {@link Tolerance}. Immutable; thread-safe.
 *
 * @param tensor          the tensor's name
 * @param shape           the reference's shape
 * @param elements        number of elements compared (0 when the shapes differ or a side is missing)
 * @param maxAbs          largest {@code |a - e|} over finite pairs
 * @param maxRel          largest element-wise {@code |a - e| / |e|} over finite pairs ({@code +Inf} where
 *                        {@code e == 0} and {@code a != 0}, as torch reports it)
 * @param maxUlp          largest distance in units in the last place (float32) over finite pairs
 * @param overTolerance   elements that break the tolerance (NaN or infinity misplaced included)
 * @param worstIndex      index of the element that most exceeds (or comes closest to) the bound; null if none
 * @param worstActual     the actual value there
 * @param worstExpected   the expected value there
 * @param argmaxMismatches rows of a score tensor whose argmax differs, counted only where the reference's top two
 *                        values are further apart than their bounds
 * @param pythonNoise     Python's own eager-vs-traced max abs deviation for this tensor, or null if not recorded
 * @param verdict         which rule passed the tensor, or {@link Verdict#FAILED}
 * @param problem         why the tensor could not pass (missing, shape, NaN/Inf placement), or null
 * @param cosine          cosine similarity of the whole tensor with the reference ({@link Budget#cosine}); NaN
 *                        when not compared
 * @param top1Agreement   for a score tensor, the fraction of rows whose top-1 class agrees with the reference,
 *                        every row counted ({@link Budget#top1Agreement}); NaN for other tensors or when not compared
 * @param top1            for a score tensor under a budget, the agreement over the rows that are not ties at the
 *                        budget's margin ({@link Budget#top1}); null otherwise
 */
public record TensorComparison(String tensor, long[] shape, long elements, double maxAbs, double maxRel, long maxUlp,
                               long overTolerance, long[] worstIndex, float worstActual, float worstExpected,
                               int argmaxMismatches, Double pythonNoise, Verdict verdict, String problem,
                               double cosine, double top1Agreement, Budget.Top1 top1) {

  /** Compares one tensor under a tolerance alone (no budget). */
  public static TensorComparison compare(String tensor, FloatArray expected, FloatArray actual, Tolerance tol,
                                         boolean scores, Double pythonNoise, boolean strict) {
    return compare(tensor, expected, actual, tol, scores, pythonNoise, strict, null);
  }

  /**
   * Compares one tensor.
   *
   * @param scores     whether the tensor's last axis holds scores over classes (then the argmax of every row must
   *                   agree wherever the reference separates its top two values by more than their bounds)
   * @param pythonNoise Python's own deviation for this tensor (eager vs traced), or null
   * @param strict     whether only the fixed tolerance may pass the tensor (no Python-noise rule)
   * @param budget     a reduced-precision budget that passes a tensor the tolerance does not ({@link Budget}), or
   *                   null
   */
  public static TensorComparison compare(String tensor, FloatArray expected, FloatArray actual, Tolerance tol,
                                         boolean scores, Double pythonNoise, boolean strict, Budget budget) {
    if (actual == null) {
      return failed(tensor, expected.shape(), pythonNoise, "missing from the actual outputs");
    }
    if (!Arrays.equals(expected.shape(), actual.shape())) {
      return failed(tensor, expected.shape(), pythonNoise,
          "shape " + Arrays.toString(actual.shape()) + ", expected " + Arrays.toString(expected.shape()));
    }
    float[] e = expected.data();
    float[] a = actual.data();
    double maxAbs = 0;
    double maxRel = 0;
    long maxUlp = 0;
    long over = 0;
    int worst = -1;
    double worstExcess = Double.NEGATIVE_INFINITY;
    int firstMisplaced = -1;
    for (int i = 0; i < e.length; i++) {
      float ei = e[i];
      float ai = a[i];
      if (!Float.isFinite(ei) || !Float.isFinite(ai)) {
        if (!tol.allows(ai, ei)) {
          over++;
          if (firstMisplaced < 0) {
            firstMisplaced = i;
          }
        }
        continue;
      }
      double d = Math.abs((double) ai - ei);
      maxAbs = Math.max(maxAbs, d);
      if (d > 0) {
        maxRel = Math.max(maxRel, ei == 0 ? Double.POSITIVE_INFINITY : d / Math.abs(ei));
        maxUlp = Math.max(maxUlp, ulpDistance(ai, ei));
      }
      double excess = d - tol.bound(ei);
      if (excess > 0) {
        over++;
      }
      if (excess > worstExcess) {
        worstExcess = excess;
        worst = i;
      }
    }
    int mismatches = scores ? argmaxMismatches(expected, actual, tol) : 0;
    double cosine = Budget.cosine(a, e);
    int width = expected.rank() > 0 ? (int) expected.dim(-1) : 1;
    double top1 = scores && expected.rank() > 0 ? Budget.top1Agreement(a, e, width) : Double.NaN;
    Budget.Top1 decided = scores && budget != null && expected.rank() > 0
        ? Budget.top1(a, e, width, budget.tieMargin()) : null;
    String problem = null;
    if (firstMisplaced >= 0) {
      worst = firstMisplaced;
      problem = "non-finite value misplaced at " + Arrays.toString(Shape.index(expected.shape(), worst))
          + ": actual " + a[worst] + ", expected " + e[worst];
    }
    Verdict verdict;
    if (problem != null) {
      verdict = Verdict.FAILED;
    } else if (over == 0 && mismatches == 0) {
      verdict = Verdict.ALLCLOSE;
    } else if (budget != null && budget.allows(scores, cosine, decided == null ? top1 : decided.agreement())) {
      verdict = Verdict.WITHIN_BUDGET;
    } else if (!strict && mismatches == 0 && pythonNoise != null && pythonNoise > 0
        && maxAbs <= ParityReport.NOISE_FACTOR * pythonNoise) {
      verdict = Verdict.WITHIN_PYTHON_NOISE;
    } else {
      verdict = Verdict.FAILED;
    }
    return new TensorComparison(tensor, expected.shape(), e.length, maxAbs, maxRel, maxUlp, over,
        worst < 0 ? null : Shape.index(expected.shape(), worst), worst < 0 ? Float.NaN : a[worst],
        worst < 0 ? Float.NaN : e[worst], mismatches, pythonNoise, verdict, problem, cosine, top1, decided);
  }

  private static TensorComparison failed(String tensor, long[] shape, Double noise, String problem) {
    return new TensorComparison(tensor, shape, 0, Double.NaN, Double.NaN, 0, 0, null, Float.NaN, Float.NaN, 0, noise,
        Verdict.FAILED, problem, Double.NaN, Double.NaN, null);
  }

  /** Distance of two finite floats in units in the last place (adjacent floats are 1 apart; +0 and -0 are 0). */
  static long ulpDistance(float x, float y) {
    return Math.abs(ordered(x) - ordered(y));
  }

  private static long ordered(float f) {
    int bits = Float.floatToRawIntBits(f);
    return bits < 0 ? (long) Integer.MIN_VALUE - bits : bits;
  }

  private static int argmaxMismatches(FloatArray ref, FloatArray act, Tolerance tol) {
    int width = ref.rank() == 0 ? 0 : (int) ref.dim(-1);
    if (width < 2) {
      return 0;
    }
    float[] r = ref.data();
    float[] a = act.data();
    int bad = 0;
    for (int start = 0; start < r.length; start += width) {
      int best = start;
      int second = -1;
      for (int i = start + 1; i < start + width; i++) {
        if (r[i] > r[best]) {
          second = best;
          best = i;
        } else if (second < 0 || r[i] > r[second]) {
          second = i;
        }
      }
      if (r[best] - r[second] <= tol.bound(r[best]) + tol.bound(r[second])) {
        continue; // a tie within tolerance: either answer is right
      }
      int actBest = start;
      for (int i = start + 1; i < start + width; i++) {
        if (a[i] > a[actBest]) {
          actBest = i;
        }
      }
      if (actBest != best) {
        bad++;
      }
    }
    return bad;
  }

  public boolean passed() {
    return verdict.passed();
  }

  /** Java's max abs deviation divided by Python's own, or NaN when Python's noise is unknown or zero. */
  public double noiseRatio() {
    return pythonNoise == null || pythonNoise == 0 ? Double.NaN : maxAbs / pythonNoise;
  }

  /** The worst element as text: {@code [0, 3, 17] actual 1.2345 expected 1.2346}, or "-". */
  public String worstElement() {
    return worstIndex == null ? "-" : String.format(Locale.ROOT, "%s actual %.9g expected %.9g",
        Arrays.toString(worstIndex), worstActual, worstExpected);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorComparison t && tensor.equals(t.tensor) && Arrays.equals(shape, t.shape)
        && verdict == t.verdict && Double.compare(maxAbs, t.maxAbs) == 0 && overTolerance == t.overTolerance;
  }

  @Override
  public int hashCode() {
    return tensor.hashCode() * 31 + Arrays.hashCode(shape);
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "%s %s: %s, max abs %.3g, max rel %.3g, max ulp %d, %d/%d over", tensor,
        Arrays.toString(shape), verdict.label(), maxAbs, maxRel, maxUlp, overTolerance, elements);
  }
}
