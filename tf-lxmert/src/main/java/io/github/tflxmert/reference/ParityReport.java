package io.github.tflxmert.reference;

import io.github.tflxmert.array.FloatArray;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Tensor-by-tensor comparison of actual outputs with reference outputs. For each tensor: shape equality,
 * max absolute difference, max relative difference (max abs difference divided by the largest magnitude in
 * the reference tensor, so near-zero entries do not blow it up), and, for score tensors, whether the argmax of
 * every row agrees wherever the reference's top two values are more than {@code 2 * atol} apart (closer than
 * that, both answers are within tolerance). Immutable; thread-safe.
 */
public final class ParityReport {
  /** Outputs whose rows are scores over classes: their argmax must agree. */
  public static final Set<String> SCORE_TENSORS = Set.of("prediction_logits", "cross_relationship_score",
      "question_answering_score", "obj_predict_head.obj", "obj_predict_head.attr");

  /** One compared tensor. {@code problem} is null when shapes matched. */
  public record Row(String tensor, long[] shape, double maxAbs, double maxRel, int argmaxMismatches, boolean ok,
                    String problem) {}

  private final String title;
  private final double atol;
  private final List<Row> rows;

  private ParityReport(String title, double atol, List<Row> rows) {
    this.title = title;
    this.atol = atol;
    this.rows = List.copyOf(rows);
  }

  /**
   * Compares every reference tensor with the actual tensor of the same name.
   *
   * @param title     names the comparison in the report (e.g. {@code tiny/b1_equal via tf_model.h5})
   * @param expected  reference tensors by name
   * @param actual    actual tensors by name; a missing one is a failed row
   * @param atol      largest allowed absolute difference
   */
  public static ParityReport compare(String title, Map<String, FloatArray> expected, Map<String, FloatArray> actual,
                                     double atol) {
    List<Row> rows = new ArrayList<>();
    for (Map.Entry<String, FloatArray> e : expected.entrySet()) {
      String name = e.getKey();
      FloatArray ref = e.getValue();
      FloatArray act = actual.get(name);
      if (act == null) {
        rows.add(new Row(name, ref.shape(), Double.NaN, Double.NaN, 0, false, "missing from the actual outputs"));
        continue;
      }
      if (!Arrays.equals(ref.shape(), act.shape())) {
        rows.add(new Row(name, ref.shape(), Double.NaN, Double.NaN, 0, false,
            "shape " + Arrays.toString(act.shape()) + ", expected " + Arrays.toString(ref.shape())));
        continue;
      }
      double maxAbs = 0;
      double scale = 0;
      float[] r = ref.data();
      float[] a = act.data();
      boolean nan = false;
      for (int i = 0; i < r.length; i++) {
        double d = Math.abs((double) a[i] - (double) r[i]);
        if (Double.isNaN(d)) {
          nan = true;
        } else {
          maxAbs = Math.max(maxAbs, d);
        }
        scale = Math.max(scale, Math.abs(r[i]));
      }
      if (nan) {
        maxAbs = Double.NaN;
      }
      double maxRel = scale > 0 ? maxAbs / scale : maxAbs;
      int mismatches = SCORE_TENSORS.contains(name) ? argmaxMismatches(ref, act, atol) : 0;
      boolean ok = !nan && maxAbs <= atol && mismatches == 0;
      rows.add(new Row(name, ref.shape(), maxAbs, maxRel, mismatches, ok, null));
    }
    return new ParityReport(title, atol, rows);
  }

  private static int argmaxMismatches(FloatArray ref, FloatArray act, double atol) {
    int width = (int) ref.dim(-1);
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
      if (r[best] - r[second] <= 2 * atol) {
        continue;
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

  public String title() {
    return title;
  }

  public double atol() {
    return atol;
  }

  public List<Row> rows() {
    return rows;
  }

  public boolean passed() {
    return rows.stream().allMatch(Row::ok);
  }

  /** The row with the largest absolute difference (failed rows with a problem come first). */
  public Row worst() {
    return rows.stream().max(Comparator.comparingDouble((Row r) -> r.problem() != null || Double.isNaN(r.maxAbs())
        ? Double.POSITIVE_INFINITY : r.maxAbs())).orElseThrow();
  }

  public double maxAbs() {
    return rows.stream().mapToDouble(r -> Double.isNaN(r.maxAbs()) ? Double.POSITIVE_INFINITY : r.maxAbs()).max().orElse(0);
  }

  public double maxRel() {
    return rows.stream().mapToDouble(r -> Double.isNaN(r.maxRel()) ? Double.POSITIVE_INFINITY : r.maxRel()).max().orElse(0);
  }

  /** One line: passed or failed, tensors compared, max abs, max rel, and the worst tensor. */
  public String summary() {
    Row w = worst();
    return String.format(Locale.ROOT, "%s: %s, %d tensors, max abs %.3g, max rel %.3g, worst %s%s (atol %.1g)",
        title, passed() ? "PASSED" : "FAILED", rows.size(), maxAbs(), maxRel(), w.tensor(),
        w.problem() != null ? " (" + w.problem() + ")" : w.argmaxMismatches() > 0 ? " (" + w.argmaxMismatches()
            + " argmax mismatches)" : "", atol);
  }

  /** The full table: tensor, shape, max abs, max rel, argmax mismatches, ok. */
  public String table() {
    StringBuilder sb = new StringBuilder(summary()).append('\n');
    int w = Math.max(6, rows.stream().mapToInt(r -> r.tensor().length()).max().orElse(6));
    sb.append(String.format(Locale.ROOT, "%-" + w + "s  %-18s  %10s  %10s  %6s  %s%n", "tensor", "shape", "max abs",
        "max rel", "argmax", "ok"));
    for (Row r : rows) {
      sb.append(String.format(Locale.ROOT, "%-" + w + "s  %-18s  %10.3g  %10.3g  %6s  %s%n", r.tensor(),
          Arrays.toString(r.shape()), r.maxAbs(), r.maxRel(), r.argmaxMismatches() == 0 ? "-" : r.argmaxMismatches(),
          r.ok() ? "ok" : "FAIL" + (r.problem() != null ? " " + r.problem() : "")));
    }
    return sb.toString();
  }

  @Override
  public String toString() {
    return summary();
  }
}
