package io.github.tflxmert.array;

import java.util.Arrays;

/**
 * A dense float32 array in C (row-major) order with its shape: the plain-Java form of every tensor the
 * library hands out. Immutable by convention: the {@code data} array is shared, not copied; callers that
 * mutate it own the consequences.
 *
 * <p>Thread-safe for reading. Holds no native memory; nothing to close.
 *
 * @param shape dimensions, outermost first
 * @param data  {@code product(shape)} values in C order
 */
public record FloatArray(long[] shape, float[] data) {

  public FloatArray {
    long n = Shapes.size(shape);
    if (n != data.length) {
      throw new IllegalArgumentException(
          "shape " + Arrays.toString(shape) + " holds " + n + " values, data has " + data.length);
    }
  }

  public int rank() {
    return shape.length;
  }

  public long dim(int axis) {
    return shape[axis < 0 ? shape.length + axis : axis];
  }

  /** The value at the given index (one index per axis). */
  public float get(long... index) {
    return data[Shapes.offset(shape, index)];
  }

  /** The last-axis row at the given leading index, e.g. {@code row(b, s)} of a [B,S,V] logits array. */
  public float[] row(long... leading) {
    if (leading.length != shape.length - 1) {
      throw new IllegalArgumentException("row() needs " + (shape.length - 1) + " indices, got " + leading.length);
    }
    long[] full = Arrays.copyOf(leading, shape.length);
    int start = Shapes.offset(shape, full);
    return Arrays.copyOfRange(data, start, start + (int) shape[shape.length - 1]);
  }

  /** Index of the largest value in the last-axis row at the given leading index. */
  public int argmax(long... leading) {
    float[] r = row(leading);
    int best = 0;
    for (int i = 1; i < r.length; i++) {
      if (r[i] > r[best]) {
        best = i;
      }
    }
    return best;
  }

  @Override
  public String toString() {
    return "FloatArray" + Arrays.toString(shape);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FloatArray f && Arrays.equals(shape, f.shape) && Arrays.equals(data, f.data);
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data);
  }
}
