package io.github.tflxmert.parity;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.tflxmert.array.FloatArray;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Every tensor of one case held against its reference under the {@link Tolerance tolerance model}, in
 * {@link ExecutionOrder execution order}, so that {@link #firstDivergence()} names the block where a difference
 * starts. Immutable; thread-safe.
 *
 * <p>The Python-noise rule (off in strict mode): a tensor that breaks the fixed tolerance still passes when its
 * largest deviation is at most {@link #NOISE_FACTOR} times the deviation between Python's own eager and traced
 * runs of the same model on the same tensor, as the reference recorded it. It never passes a NaN/Inf misplacement,
 * a shape mismatch, a missing tensor or a changed argmax, and needs a recorded, non-zero noise.
 */
public final class ParityReport {
  /** How many times Python's own eager-vs-traced deviation a tensor may deviate under the noise rule. */
  public static final double NOISE_FACTOR = 2.0;

  private final String title;
  private final ParityOptions options;
  private final ExecutionOrder order;
  private final List<TensorComparison> rows;

  private ParityReport(String title, ParityOptions options, ExecutionOrder order, List<TensorComparison> rows) {
    this.title = title;
    this.options = options;
    this.order = order;
    this.rows = List.copyOf(rows);
  }

  /** Compares without recorded Python noise; layer counts unknown. */
  public static ParityReport compare(String title, Map<String, FloatArray> expected, Map<String, FloatArray> actual,
                                     ParityOptions options) {
    return compare(title, expected, actual, options, Map.of(), new ExecutionOrder(0, 0));
  }

  /**
   * Compares every expected tensor with the actual tensor of the same name (a missing one fails).
   *
   * @param pythonNoise Python's own eager-vs-traced max abs deviation per tensor, where recorded
   * @param order       the model's execution order (layer counts)
   */
  public static ParityReport compare(String title, Map<String, FloatArray> expected, Map<String, FloatArray> actual,
                                     ParityOptions options, Map<String, Double> pythonNoise, ExecutionOrder order) {
    List<TensorComparison> rows = new ArrayList<>();
    for (String name : order.sort(expected.keySet())) {
      rows.add(TensorComparison.compare(name, expected.get(name), actual.get(name), options.tolerance(),
          options.scoreTensors().contains(name), pythonNoise.get(name), options.strict(), options.budget()));
    }
    return new ParityReport(title, options, order, rows);
  }

  public String title() {
    return title;
  }

  public ParityOptions options() {
    return options;
  }

  /** One row per tensor, in execution order. */
  public List<TensorComparison> rows() {
    return rows;
  }

  public boolean passed() {
    return rows.stream().allMatch(TensorComparison::passed);
  }

  public List<TensorComparison> failures() {
    return rows.stream().filter(r -> !r.passed()).toList();
  }

  /** The first failed tensor in execution order: where the difference starts. */
  public Optional<TensorComparison> firstDivergence() {
    return rows.stream().filter(r -> !r.passed()).findFirst();
  }

  /** The block of the model a tensor belongs to ("cross layer 1"). */
  public String block(String tensor) {
    return order.block(tensor);
  }

  /** The row with the largest deviation (rows with a problem first). */
  public TensorComparison worst() {
    return rows.stream().max(Comparator.comparingDouble((TensorComparison r) -> r.problem() != null
        ? Double.POSITIVE_INFINITY : r.maxAbs())).orElseThrow(() -> new IllegalStateException(title
        + ": no tensors compared"));
  }

  public double maxAbs() {
    return rows.stream().mapToDouble(r -> Double.isNaN(r.maxAbs()) ? Double.POSITIVE_INFINITY : r.maxAbs()).max()
        .orElse(0);
  }

  /** Largest element-wise relative difference over all tensors. */
  public double maxRel() {
    return rows.stream().mapToDouble(r -> Double.isNaN(r.maxRel()) ? Double.POSITIVE_INFINITY : r.maxRel()).max()
        .orElse(0);
  }

  /** One line: passed or failed, tensors, max abs, worst tensor, first divergence, tolerance. */
  public String summary() {
    long noise = rows.stream().filter(r -> r.verdict() == Verdict.WITHIN_PYTHON_NOISE).count();
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%s: %s, %d tensors", title,
        passed() ? "PASSED" : "FAILED", rows.size()));
    if (noise > 0) {
      sb.append(String.format(Locale.ROOT, " (%d within Python's own noise)", noise));
    }
    if (!rows.isEmpty()) {
      TensorComparison w = worst();
      sb.append(String.format(Locale.ROOT, ", max abs %.3g, worst %s", maxAbs(), w.tensor()));
    }
    firstDivergence().ifPresent(f -> sb.append(", first divergence ").append(f.tensor()).append(" (")
        .append(block(f.tensor())).append(')').append(f.problem() != null ? ": " + f.problem() : ""));
    long budget = rows.stream().filter(r -> r.verdict() == Verdict.WITHIN_BUDGET).count();
    if (options.budget() != null) {
      sb.append(String.format(Locale.ROOT, " (%d within the budget)", budget));
    }
    // a budget run is always strict: say what that means, since it was not asked for with --strict
    String strictness = !options.strict() ? "" : options.budget() != null
        ? ", strict: no Python-noise rule" : ", strict";
    sb.append(" (").append(options.tolerance()).append(strictness)
        .append(options.budget() != null ? "; " + options.budget() : "").append(')');
    return sb.toString();
  }

  /** The full table: per tensor its shape, max abs, max rel, max ulp, elements over tolerance, ratio to
   * Python's noise, rule, and the worst element with both values. */
  public String table() {
    StringBuilder sb = new StringBuilder(summary()).append('\n');
    int w = Math.max(6, rows.stream().mapToInt(r -> r.tensor().length()).max().orElse(6));
    if (options.budget() != null) {
      return budgetTable(sb, w);
    }
    String fmt = "%-" + w + "s  %-16s  %9s  %9s  %8s  %-13s  %7s  %-12s  %s%n";
    sb.append(String.format(Locale.ROOT, fmt, "tensor", "shape", "max abs", "max rel", "max ulp", "over",
        "/noise", "rule", "worst element"));
    for (TensorComparison r : rows) {
      double ratio = r.noiseRatio();
      sb.append(String.format(Locale.ROOT, fmt, r.tensor(), Arrays.toString(r.shape()), num(r.maxAbs()),
          num(r.maxRel()), r.maxUlp(), r.overTolerance() + "/" + r.elements(),
          Double.isNaN(ratio) ? "-" : String.format(Locale.ROOT, "%.2fx", ratio),
          r.verdict().label() + (r.argmaxMismatches() > 0 ? " argmax" + r.argmaxMismatches() : ""),
          r.problem() != null ? r.problem() : r.worstElement()));
    }
    return sb.toString();
  }

  /** The table under a budget: the element-wise deviations, then cosine and top-1 agreement. */
  private String budgetTable(StringBuilder sb, int w) {
    String fmt = "%-" + w + "s  %-16s  %9s  %9s  %10s  %7s  %-20s  %-9s  %s%n";
    sb.append(String.format(Locale.ROOT, fmt, "tensor", "shape", "max abs", "max rel", "cosine", "top-1",
        "top-1 decided rows", "rule", "problem"));
    for (TensorComparison r : rows) {
      sb.append(String.format(Locale.ROOT, fmt, r.tensor(), Arrays.toString(r.shape()), num(r.maxAbs()),
          num(r.maxRel()), Double.isNaN(r.cosine()) ? "-" : String.format(Locale.ROOT, "%.6f", r.cosine()),
          Double.isNaN(r.top1Agreement()) ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * r.top1Agreement()),
          r.top1() == null ? "-" : String.format(Locale.ROOT, "%d/%d (%.1f%%)", r.top1().agreeing(),
              r.top1().decided(), 100 * r.top1().agreement()),
          r.verdict().label(), r.problem() != null ? r.problem() : ""));
    }
    return sb.toString();
  }

  /** The lowest cosine over the rows that have one (NaN when none does). */
  public double minCosine() {
    return rows.stream().mapToDouble(TensorComparison::cosine).filter(c -> !Double.isNaN(c)).min()
        .orElse(Double.NaN);
  }

  private static String num(double v) {
    return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.3g", v);
  }

  /** The report as JSON: every field of every row. */
  public ObjectNode toJson() {
    ObjectNode root = JsonNodeFactory.instance.objectNode();
    root.put("title", title);
    root.put("passed", passed());
    root.put("rtol", options.tolerance().rtol());
    root.put("atol", options.tolerance().atol());
    root.put("strict", options.strict());
    root.put("noise_factor", NOISE_FACTOR);
    if (options.budget() != null) {
      root.put("budget_min_cosine", options.budget().minCosine());
      root.put("budget_min_top1_agreement", options.budget().minTop1Agreement());
      root.put("budget_tie_margin", options.budget().tieMargin());
    }
    root.put("max_abs", maxAbs());
    firstDivergence().ifPresentOrElse(f -> {
      root.put("first_divergence", f.tensor());
      root.put("first_divergence_block", block(f.tensor()));
    }, () -> root.putNull("first_divergence"));
    ArrayNode ts = root.putArray("tensors");
    for (TensorComparison r : rows) {
      ObjectNode t = ts.addObject();
      t.put("tensor", r.tensor());
      ArrayNode shape = t.putArray("shape");
      for (long d : r.shape()) {
        shape.add(d);
      }
      t.put("block", block(r.tensor()));
      t.put("verdict", r.verdict().name().toLowerCase(Locale.ROOT));
      t.put("passed", r.passed());
      t.put("elements", r.elements());
      putNumber(t, "max_abs", r.maxAbs());
      putNumber(t, "max_rel", r.maxRel());
      t.put("max_ulp", r.maxUlp());
      t.put("over_tolerance", r.overTolerance());
      t.put("argmax_mismatches", r.argmaxMismatches());
      if (r.pythonNoise() == null) {
        t.putNull("python_noise");
      } else {
        t.put("python_noise", r.pythonNoise());
      }
      putNumber(t, "noise_ratio", r.noiseRatio());
      if (r.worstIndex() == null) {
        t.putNull("worst_index");
      } else {
        ArrayNode idx = t.putArray("worst_index");
        for (long i : r.worstIndex()) {
          idx.add(i);
        }
        putNumber(t, "worst_actual", r.worstActual());
        putNumber(t, "worst_expected", r.worstExpected());
      }
      t.put("problem", r.problem());
      putNumber(t, "cosine", r.cosine());
      putNumber(t, "top1_agreement", r.top1Agreement());
      if (r.top1() != null) {
        t.put("top1_decided_rows", r.top1().decided());
        t.put("top1_decided_agreeing", r.top1().agreeing());
      }
    }
    return root;
  }

  /** JSON has no NaN or infinity: those become strings ("NaN", "Infinity", "-Infinity"). */
  private static void putNumber(ObjectNode n, String field, double v) {
    if (Double.isFinite(v)) {
      n.put(field, v);
    } else {
      n.put(field, Double.toString(v));
    }
  }

  @Override
  public String toString() {
    return summary();
  }
}
