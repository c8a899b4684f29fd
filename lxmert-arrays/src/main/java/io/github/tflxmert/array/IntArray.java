package io.github.tflxmert.array;

import java.util.Arrays;

/**
 * A dense int32 array in C order with its shape (ids, masks, token types). Same contract as
 * {@link FloatArray}: the data array is shared, thread-safe for reading, no native memory.
 *
 * @param shape dimensions, outermost first
 * @param data  {@code product(shape)} values in C order
 */
public record IntArray(long[] shape, int[] data) {

  public IntArray {
    long n = Shapes.size(shape);
    if (n != data.length) {
      throw new IllegalArgumentException(
          "shape " + Arrays.toString(shape) + " holds " + n + " values, data has " + data.length);
    }
  }

  /** A [rows, cols] array from a rectangular Java matrix. */
  public static IntArray of(int[][] m) {
    int rows = m.length;
    int cols = rows == 0 ? 0 : m[0].length;
    int[] flat = new int[rows * cols];
    for (int r = 0; r < rows; r++) {
      if (m[r].length != cols) {
        throw new IllegalArgumentException("row " + r + " has " + m[r].length + " values, row 0 has " + cols);
      }
      System.arraycopy(m[r], 0, flat, r * cols, cols);
    }
    return new IntArray(new long[] {rows, cols}, flat);
  }

  /** A [rows, cols] array filled with one value. */
  public static IntArray filled(long rows, long cols, int value) {
    int[] flat = new int[Math.toIntExact(rows * cols)];
    Arrays.fill(flat, value);
    return new IntArray(new long[] {rows, cols}, flat);
  }

  public int rank() {
    return shape.length;
  }

  public long dim(int axis) {
    return shape[axis < 0 ? shape.length + axis : axis];
  }

  public int get(long... index) {
    return data[Shapes.offset(shape, index)];
  }

  @Override
  public String toString() {
    return "IntArray" + Arrays.toString(shape);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof IntArray f && Arrays.equals(shape, f.shape) && Arrays.equals(data, f.data);
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data);
  }
}
