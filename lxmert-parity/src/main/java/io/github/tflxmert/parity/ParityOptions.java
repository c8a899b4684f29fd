package io.github.tflxmert.parity;

import java.util.Set;

/**
 * How tensors are judged: the tolerance, whether only the fixed tolerance may pass a tensor ({@code strict}: no
 * Python-noise rule), and which tensors hold scores over classes (their row argmax must agree). Immutable;
 * thread-safe.
 *
 * @param tolerance    the element-wise tolerance
 * @param strict       true: only {@link Verdict#ALLCLOSE} passes
 * @param scoreTensors names of tensors whose last axis is a score distribution
 * @param budget       a reduced-precision accuracy budget that passes tensors the tolerance does not, or null
 *                     (float32 runs: the tolerance alone judges); see {@link #bfloat16()}
 */
public record ParityOptions(Tolerance tolerance, boolean strict, Set<String> scoreTensors, Budget budget) {
  /** LXMERT's score outputs: the three heads and the object head's class scores. */
  public static final Set<String> LXMERT_SCORES = Set.of("prediction_logits", "cross_relationship_score",
      "question_answering_score", "obj_predict_head.obj", "obj_predict_head.attr");

  public ParityOptions {
    if (tolerance == null) {
      throw new IllegalArgumentException("parity options: tolerance must be given");
    }
    scoreTensors = Set.copyOf(scoreTensors);
  }

  /** Options without a budget. */
  public ParityOptions(Tolerance tolerance, boolean strict, Set<String> scoreTensors) {
    this(tolerance, strict, scoreTensors, null);
  }

  /**
   * For a bfloat16 run against a float32 reference: {@link Budget#BFLOAT16} (cosine >= 0.999, top-1 agreement
   * >= 99 %) passes what the float32 tolerance does not; strict (Python's float32 noise says nothing about
   * bfloat16 rounding); LXMERT's score tensors.
   */
  public static ParityOptions bfloat16() {
    return new ParityOptions(Tolerance.FLOAT32, true, LXMERT_SCORES, Budget.BFLOAT16);
  }

  /** {@link Tolerance#FLOAT32}, the Python-noise rule on, LXMERT's score tensors. */
  public static ParityOptions defaults() {
    return new ParityOptions(Tolerance.FLOAT32, false, LXMERT_SCORES);
  }

  /** Bit identity, no noise rule: for comparisons where identity is a real property. */
  public static ParityOptions exact() {
    return new ParityOptions(Tolerance.EXACT, true, LXMERT_SCORES);
  }

  public ParityOptions withTolerance(Tolerance t) {
    return new ParityOptions(t, strict, scoreTensors, budget);
  }

  public ParityOptions withStrict(boolean s) {
    return new ParityOptions(tolerance, s, scoreTensors, budget);
  }

  public ParityOptions withScoreTensors(Set<String> names) {
    return new ParityOptions(tolerance, strict, names, budget);
  }

  /** These options with a budget (null: none). */
  public ParityOptions withBudget(Budget b) {
    return new ParityOptions(tolerance, strict, scoreTensors, b);
  }
}
