package io.github.tflxmert.array;

import java.util.Arrays;

/** Shape arithmetic shared by the array types and readers. */
public final class Shapes {
  private Shapes() {}

  /** Number of elements of a shape; rejects negative dimensions and totals beyond an int array. */
  public static long size(long[] shape) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
      }
      n = Math.multiplyExact(n, d);
    }
    if (n > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has " + n
          + " elements, more than a Java array holds");
    }
    return n;
  }

  static int offset(long[] shape, long[] index) {
    if (index.length != shape.length) {
      throw new IllegalArgumentException("index of rank " + index.length + " for shape " + Arrays.toString(shape));
    }
    long off = 0;
    for (int i = 0; i < shape.length; i++) {
      if (index[i] < 0 || index[i] >= shape[i]) {
        throw new IndexOutOfBoundsException("index " + Arrays.toString(index) + " outside " + Arrays.toString(shape));
      }
      off = off * shape[i] + index[i];
    }
    return (int) off;
  }
}
