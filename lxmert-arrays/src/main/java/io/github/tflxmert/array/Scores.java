package io.github.tflxmert.array;

import java.util.Comparator;
import java.util.stream.IntStream;

/** Scores over classes: softmax and top-k, as the command, the server and the Spark job report them. Stateless. */
public final class Scores {
  private Scores() {}

  /** The softmax of one row of scores, computed in double after subtracting the maximum. */
  public static float[] softmax(float[] x) {
    double max = Double.NEGATIVE_INFINITY;
    for (float v : x) {
      max = Math.max(max, v);
    }
    double sum = 0;
    double[] e = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      e[i] = Math.exp(x[i] - max);
      sum += e[i];
    }
    float[] p = new float[x.length];
    for (int i = 0; i < x.length; i++) {
      p[i] = (float) (e[i] / sum);
    }
    return p;
  }

  /** Indices of the {@code k} largest values, largest first (ties in index order); fewer if the row is shorter. */
  public static int[] topK(float[] p, int k) {
    if (k < 1) {
      throw new IllegalArgumentException("top-k: expected at least 1, found " + k);
    }
    return IntStream.range(0, p.length).boxed().sorted(Comparator.comparingDouble(i -> -p[i]))
        .limit(k).mapToInt(Integer::intValue).toArray();
  }
}
