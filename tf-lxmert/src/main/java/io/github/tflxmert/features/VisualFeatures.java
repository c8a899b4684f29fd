package io.github.tflxmert.features;

import io.github.tflxmert.array.FloatArray;
import java.util.Arrays;

/**
 * Region features of one image: {@code features} [N, F] (Faster R-CNN RoI features; 36 × 2048 for the
 * published checkpoint) and {@code boxes} [N, 4] as (x1, y1, x2, y2) divided by image width/height, so in
 * [0, 1]. Immutable; no native memory.
 */
public record VisualFeatures(FloatArray features, FloatArray boxes, String source) {
  public VisualFeatures {
    if (features.rank() != 2) {
      throw new IllegalArgumentException(source + ": features: expected shape [N, F], found "
          + Arrays.toString(features.shape()));
    }
    if (boxes.rank() != 2 || boxes.dim(1) != 4 || boxes.dim(0) != features.dim(0)) {
      throw new IllegalArgumentException(source + ": boxes: expected shape [" + features.dim(0) + ", 4], found "
          + Arrays.toString(boxes.shape()));
    }
  }

  public int regions() {
    return (int) features.dim(0);
  }

  /** features as [1, N, F] and boxes as [1, N, 4], ready for LxmertInputs. */
  public FloatArray batchedFeatures() {
    return new FloatArray(new long[] {1, features.dim(0), features.dim(1)}, features.data());
  }

  public FloatArray batchedBoxes() {
    return new FloatArray(new long[] {1, boxes.dim(0), 4}, boxes.data());
  }
}
