package io.github.tflxmert.array;

import java.util.Arrays;

/**
 * One array read from a {@code .npy} file: its dtype as numpy spells it ({@code <f4}, {@code <i8}, ...), its
 * shape and its values widened or narrowed to a Java array. Float dtypes are held as float[] (float64 is
 * rounded to float32), integer dtypes as long[]. Immutable by convention; no native memory.
 */
public record NpyArray(String source, String dtype, long[] shape, float[] floats, long[] longs) {

  public boolean isFloat() {
    return floats != null;
  }

  /** The values as float32. @throws IllegalArgumentException for an integer array */
  public FloatArray toFloatArray() {
    if (floats == null) {
      throw new IllegalArgumentException(source + ": expected a float32/float64 array, found dtype " + dtype);
    }
    return new FloatArray(shape, floats);
  }

  /**
   * The values as int32. @throws IllegalArgumentException for a float array or a value outside the int range
   */
  public IntArray toIntArray() {
    if (longs == null) {
      throw new IllegalArgumentException(source + ": expected an integer array, found dtype " + dtype);
    }
    int[] out = new int[longs.length];
    for (int i = 0; i < longs.length; i++) {
      if (longs[i] < Integer.MIN_VALUE || longs[i] > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(source + ": value " + longs[i] + " at flat index " + i + " does not fit int32");
      }
      out[i] = (int) longs[i];
    }
    return new IntArray(shape, out);
  }

  @Override
  public String toString() {
    return source + " " + dtype + " " + Arrays.toString(shape);
  }
}
