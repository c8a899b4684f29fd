package io.github.tflxmert.parity;

/** Index arithmetic for C-order arrays. */
final class Shape {
  private Shape() {}

  /** The multi-dimensional index of flat position {@code flat} in an array of the given shape. */
  static long[] index(long[] shape, long flat) {
    long[] idx = new long[shape.length];
    for (int d = shape.length - 1; d >= 0; d--) {
      long n = shape[d];
      idx[d] = n == 0 ? 0 : flat % n;
      flat = n == 0 ? 0 : flat / n;
    }
    return idx;
  }
}
