package io.github.tflxmert.serving;

import java.util.Arrays;

/**
 * One request tensor after decoding (from a {@code TensorProto} or from JSON), before it is checked against a
 * signature: its dtype as TF names it, its shape, and its values as {@code long} (integer dtypes) or
 * {@code float} (float dtypes) in row-major order. Exactly one of {@code ints} / {@code floats} is non-null.
 * Immutable by convention (the arrays are not copied); thread-safe; no native memory.
 */
public record NdValue(String dtype, long[] shape, long[] ints, float[] floats) {
  public NdValue {
    if ((ints == null) == (floats == null)) {
      throw new IllegalArgumentException("NdValue: expected exactly one of ints / floats");
    }
    long n = count(shape);
    long found = ints != null ? ints.length : floats.length;
    if (n != found) {
      throw ServingException.invalid("tensor of dtype " + dtype + " and shape " + Arrays.toString(shape)
          + ": expected " + n + " values, found " + found);
    }
  }

  public boolean isInteger() {
    return ints != null;
  }

  public int rank() {
    return shape.length;
  }

  public static long count(long[] shape) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw ServingException.invalid("tensor shape " + Arrays.toString(shape) + ": expected non-negative dimensions");
      }
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  public String shapeText() {
    return Arrays.toString(shape);
  }
}
