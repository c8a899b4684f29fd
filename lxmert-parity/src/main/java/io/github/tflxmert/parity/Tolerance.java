package io.github.tflxmert.parity;

import java.util.Locale;

/**
 * The one tolerance model of the project: an actual value {@code a} matches an expected value {@code e} when
 * {@code |a - e| <= atol + rtol * |e|}, element by element, as {@code torch.testing.assert_close},
 * {@code numpy.isclose} and {@code tf.debugging.assert_near} judge. NaN matches only NaN (at the same position);
 * an infinity matches only the same infinity.
 *
 * <p>{@link #FLOAT32} holds {@code torch.testing.assert_close}'s float32 defaults (rtol 1.3e-6, atol 1e-5).
 * {@link #EXACT} (both zero) asks for bit-identical finite values, for the places where identity is a real
 * property (same machine, same kernels). Immutable; thread-safe.
 *
 * @param rtol relative tolerance, a finite number >= 0
 * @param atol absolute tolerance, a finite number >= 0
 */
public record Tolerance(double rtol, double atol) {
  /** {@code torch.testing.assert_close}'s float32 defaults: rtol 1.3e-6, atol 1e-5. */
  public static final Tolerance FLOAT32 = new Tolerance(1.3e-6, 1e-5);
  /** Bit identity: rtol 0, atol 0. */
  public static final Tolerance EXACT = new Tolerance(0, 0);

  public Tolerance {
    check("rtol", rtol);
    check("atol", atol);
  }

  private static void check(String field, double v) {
    if (!(v >= 0) || Double.isInfinite(v)) {
      throw new IllegalArgumentException("tolerance " + field + ": expected a finite number >= 0, found " + v);
    }
  }

  /** The largest allowed {@code |a - e|} for an expected value {@code e}: {@code atol + rtol * |e|}. */
  public double bound(double expected) {
    return atol + rtol * Math.abs(expected);
  }

  /** Whether {@code actual} matches {@code expected} under this tolerance (NaN and infinities exactly). */
  public boolean allows(float actual, float expected) {
    if (Float.isNaN(expected) || Float.isNaN(actual)) {
      return Float.isNaN(expected) && Float.isNaN(actual);
    }
    if (Float.isInfinite(expected) || Float.isInfinite(actual)) {
      return actual == expected;
    }
    return Math.abs((double) actual - expected) <= bound(expected);
  }

  public Tolerance withRtol(double r) {
    return new Tolerance(r, atol);
  }

  public Tolerance withAtol(double a) {
    return new Tolerance(rtol, a);
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "rtol %.3g, atol %.3g", rtol, atol);
  }
}
