package io.github.tflxmert.parity;

import java.util.Locale;

/**
 * An accuracy budget for reduced-precision runs (bfloat16), which no element-wise float32 tolerance can judge: a
 * bfloat16 matmul rounds its inputs to 8 significant bits, so elements differ by about 1e-2 relative while the
 * tensor as a whole, and every decision taken from it, stays the same. Under a budget a tensor that is not
 * element-wise close passes when
 * <ul>
 *   <li>it holds scores over classes ({@link ParityOptions#scoreTensors()}): the top-1 class of at least
 *       {@code minTop1Agreement} of its decided rows equals the reference's. A row is decided when the reference's
 *       top two scores differ by more than {@code tieMargin} times the RMS of the reference tensor: a cosine of
 *       0.999 still allows an error of sqrt(2 (1 - 0.999)) ≈ 4.5 % of the RMS, so a closer pair is a tie at this
 *       budget (either answer is right), as the float32 rule treats a pair within the tolerance. Random-weight
 *       fixtures have such near-ties (a 2-class head with a gap of 0.0025); trained models rarely;</li>
 *   <li>any other tensor: the cosine similarity of the whole tensor with the reference (both flattened) is at
 *       least {@code minCosine}.</li>
 * </ul>
 * The budget never passes a missing tensor, a shape mismatch or a misplaced NaN/infinity. Every row still reports
 * its element-wise deviations (max abs, max rel) next to its cosine and top-1 agreement. Immutable; thread-safe.
 *
 * @param minCosine        lowest cosine similarity a non-score tensor may have, in (0, 1]
 * @param minTop1Agreement lowest fraction of the decided rows of a score tensor whose top-1 class must agree, in
 *                         (0, 1]
 * @param tieMargin        a row whose reference top-two gap is at most this times the RMS of the reference tensor
 *                         is a tie and not counted, >= 0 (0: every row counts)
 */
public record Budget(double minCosine, double minTop1Agreement, double tieMargin) {
  /**
   * The bfloat16 budget (README, Reduced precision): cosine >= 0.999 for every hidden state, attention and
   * output, top-1 agreement >= 99 % for every score tensor.
   */
  public static final Budget BFLOAT16 = new Budget(0.999, 0.99, 0.05);

  public Budget {
    check("minCosine", minCosine);
    check("minTop1Agreement", minTop1Agreement);
    if (!(tieMargin >= 0) || Double.isInfinite(tieMargin)) {
      throw new IllegalArgumentException("budget tieMargin: expected a finite number >= 0, found " + tieMargin);
    }
  }

  /**
   * Top-1 agreement of a score tensor: of {@code rows} rows, {@code decided} were not ties, and {@code agreeing} of
   * those had the reference's top-1 class.
   */
  public record Top1(int rows, int decided, int agreeing) {
    /** {@code agreeing / decided}; 1 when no row was decided. */
    public double agreement() {
      return decided == 0 ? 1 : (double) agreeing / decided;
    }
  }

  private static void check(String field, double v) {
    if (!(v > 0 && v <= 1)) {
      throw new IllegalArgumentException("budget " + field + ": expected a number in (0, 1], found " + v);
    }
  }

  /** Whether a tensor with this cosine (non-score) or top-1 agreement (score tensor) is within the budget. */
  public boolean allows(boolean scores, double cosine, double top1Agreement) {
    return scores ? top1Agreement >= minTop1Agreement : cosine >= minCosine;
  }

  /**
   * Cosine similarity of two equally long vectors, in double; 1 when both are all zeros, 0 when only one is.
   * Non-finite elements are skipped (their placement is judged separately).
   */
  public static double cosine(float[] a, float[] e) {
    double dot = 0;
    double na = 0;
    double ne = 0;
    for (int i = 0; i < e.length; i++) {
      if (Float.isFinite(a[i]) && Float.isFinite(e[i])) {
        dot += (double) a[i] * e[i];
        na += (double) a[i] * a[i];
        ne += (double) e[i] * e[i];
      }
    }
    if (na == 0 || ne == 0) {
      return na == ne ? 1 : 0;
    }
    return dot / (Math.sqrt(na) * Math.sqrt(ne));
  }

  /**
   * Fraction of rows (the last axis of width {@code width}) whose first maximum is at the same index in both,
   * every row counted; 1 for no rows.
   */
  public static double top1Agreement(float[] a, float[] e, int width) {
    return top1(a, e, width, 0).agreement();
  }

  /**
   * Top-1 agreement over the rows (last axis of width {@code width}) that are not ties: rows whose reference top two
   * differ by at most {@code tieMargin} times the RMS of {@code e} are left out.
   */
  public static Top1 top1(float[] a, float[] e, int width, double tieMargin) {
    if (width < 1 || e.length == 0) {
      return new Top1(0, 0, 0);
    }
    double sq = 0;
    for (float x : e) {
      if (Float.isFinite(x)) {
        sq += (double) x * x;
      }
    }
    double margin = tieMargin * Math.sqrt(sq / e.length);
    int rows = e.length / width;
    int decided = 0;
    int agree = 0;
    for (int start = 0; start < e.length; start += width) {
      int best = argmax(e, start, width);
      if (width > 1 && tieMargin > 0) {
        float second = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < width; i++) {
          if (i != best && e[start + i] > second) {
            second = e[start + i];
          }
        }
        if (e[start + best] - second <= margin) {
          continue;
        }
      }
      decided++;
      if (argmax(a, start, width) == best) {
        agree++;
      }
    }
    return new Top1(rows, decided, agree);
  }

  private static int argmax(float[] x, int start, int width) {
    int best = start;
    for (int i = start + 1; i < start + width; i++) {
      if (x[i] > x[best]) {
        best = i;
      }
    }
    return best - start;
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "budget: cosine >= %s, top-1 agreement >= %s%% (ties within %s x RMS "
        + "left out)", minCosine, minTop1Agreement * 100, tieMargin);
  }
}
