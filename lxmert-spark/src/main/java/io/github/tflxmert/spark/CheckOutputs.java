package io.github.tflxmert.spark;

import io.github.tflxmert.parity.Tolerance;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Checks a job's output against its input and a reference output (e.g. a single-JVM run): every input
 * question_id exactly once, nothing else, and per row the match probability and the top-k answer scores equal
 * under the project's tolerance model ({@link Tolerance#FLOAT32}); top-k indices equal except where two scores tie
 * within the tolerance. Usage: {@code CheckOutputs --input IN --output OUT --reference REF}. Prints one line and
 * exits 0 when everything holds, 1 otherwise. Stateless.
 */
public final class CheckOutputs {
  private CheckOutputs() {}

  /** The check result: a one-line report, and whether it passed. */
  record Result(boolean passed, String line) {}

  static Result check(SparkSession spark, String input, String output, String reference) {
    Dataset<Row> in = spark.read().parquet(input).select("question_id");
    Dataset<Row> out = spark.read().parquet(output);
    long inRows = in.count();
    long outRows = out.count();
    long unique = out.select("question_id").distinct().count();
    long missing = in.except(out.select("question_id")).count();
    long extra = out.select("question_id").except(in).count();
    Map<Long, Row> ref = new HashMap<>();
    for (Row r : spark.read().parquet(reference).select("question_id", "match", "answers").collectAsList()) {
      ref.put(((Number) r.get(0)).longValue(), r);
    }
    long compared = 0;
    long mismatched = 0;
    double maxDiff = 0;
    String first = "";
    Tolerance tol = Tolerance.FLOAT32;
    for (Row r : out.select("question_id", "match", "answers").collectAsList()) {
      Row e = ref.get(((Number) r.get(0)).longValue());
      if (e == null) {
        continue;
      }
      compared++;
      float am = r.getFloat(1);
      float em = e.getFloat(1);
      maxDiff = Math.max(maxDiff, Math.abs(am - em));
      boolean ok = tol.allows(am, em);
      List<Row> aa = r.getList(2);
      List<Row> ea = e.getList(2);
      ok &= aa.size() == ea.size();
      for (int k = 0; ok && k < aa.size(); k++) {
        float as = aa.get(k).getFloat(2);
        float es = ea.get(k).getFloat(2);
        maxDiff = Math.max(maxDiff, Math.abs(as - es));
        ok = tol.allows(as, es) && (aa.get(k).getInt(1) == ea.get(k).getInt(1)
            || (k + 1 < ea.size() && tol.allows(ea.get(k + 1).getFloat(2), es)) // tie within tolerance
            || (k > 0 && tol.allows(ea.get(k - 1).getFloat(2), es)));
      }
      if (!ok) {
        mismatched++;
        if (first.isEmpty()) {
          first = " first_mismatch=question_id:" + r.get(0);
        }
      }
    }
    boolean passed = inRows == outRows && unique == outRows && missing == 0 && extra == 0 && compared == outRows
        && mismatched == 0;
    return new Result(passed, String.format(Locale.ROOT, "check: input_rows=%d output_rows=%d unique=%d missing=%d "
        + "extra=%d compared=%d mismatched=%d max_abs_diff=%.3g tolerance=%s%s %s", inRows, outRows, unique, missing,
        extra, compared, mismatched, maxDiff, tol, first, passed ? "PASS" : "FAIL"));
  }

  public static void main(String[] argv) {
    Map<String, String> m = new HashMap<>();
    for (int i = 0; i + 1 < argv.length; i += 2) {
      m.put(argv[i], argv[i + 1]);
    }
    for (String k : List.of("--input", "--output", "--reference")) {
      if (!m.containsKey(k)) {
        System.err.println("usage: CheckOutputs --input IN --output OUT --reference REF (" + k + " missing)");
        System.exit(2);
      }
    }
    SparkSession spark = SparkSession.builder().appName("lxmert-spark-check").getOrCreate();
    Result r;
    try {
      r = check(spark, m.get("--input"), m.get("--output"), m.get("--reference"));
    } finally {
      spark.stop();
    }
    System.out.println(r.line());
    if (!r.passed()) {
      System.exit(1);
    }
  }
}
