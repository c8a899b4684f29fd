package io.github.tflxmert.cli;

import io.github.tflxmert.LxmertOutputs;
import io.github.tflxmert.array.FloatArray;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * NaN or infinite values in the outputs a command reports. A softmax over them is NaN too, so "answers" computed
 * from them would be noise printed as if it were a result; the commands warn on stderr, naming each tensor, and
 * {@code --json} carries {@code outputs_finite} and {@code non_finite_outputs}. Typical causes: broken weights
 * (a checkpoint of NaNs), overflow in a hand-made model.
 */
final class NonFinite {
  private NonFinite() {}

  /** Per output name, how many of its values are NaN or infinite; only names with at least one. */
  static Map<String, Long> count(LxmertOutputs out) {
    Map<String, Long> bad = new LinkedHashMap<>();
    for (Map.Entry<String, FloatArray> e : out.asMap().entrySet()) {
      long n = 0;
      for (float v : e.getValue().data()) {
        if (!Float.isFinite(v)) {
          n++;
        }
      }
      if (n > 0) {
        bad.put(e.getKey(), n);
      }
    }
    return bad;
  }

  /** One warning line per tensor with non-finite values. */
  static void warn(PrintWriter err, LxmertOutputs out, Map<String, Long> bad) {
    for (Map.Entry<String, Long> e : bad.entrySet()) {
      FloatArray a = out.get(e.getKey());
      err.printf("lxmert: warning: output %s %s has %d non-finite values (NaN or infinite) of %d; what is printed "
          + "from it is not meaningful (are the weights or inputs broken?)%n", e.getKey(),
          Arrays.toString(a.shape()), e.getValue(), a.data().length);
    }
    err.flush();
  }
}
