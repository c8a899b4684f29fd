package io.github.tflxmert.parity;

/** Which rule passed a tensor, or that none did. */
public enum Verdict {
  /** Every element within {@code atol + rtol * |expected|}, NaN and infinities in place. */
  ALLCLOSE("allclose"),
  /**
   * Some elements break the fixed tolerance, but the largest deviation is at most
   * {@link ParityReport#NOISE_FACTOR} times Python's own eager-versus-traced deviation for the same tensor
   * (never used in strict mode, never for a NaN/Inf misplacement, a shape mismatch or an argmax change).
   */
  WITHIN_PYTHON_NOISE("python-noise"),
  /**
   * Not element-wise close, but within a reduced-precision {@link Budget} (cosine for a tensor, top-1 agreement for
   * a score tensor); only when the options carry a budget ({@link ParityOptions#bfloat16()}).
   */
  WITHIN_BUDGET("budget"),
  FAILED("FAIL");

  private final String label;

  Verdict(String label) {
    this.label = label;
  }

  public boolean passed() {
    return this != FAILED;
  }

  /** Short form used in tables and JSON. */
  public String label() {
    return label;
  }
}
