package io.github.tflxmert;

import java.util.Locale;

/**
 * The arithmetic a graph model computes in ({@link LoadOptions#precision()}).
 * <ul>
 *   <li>{@link #FLOAT32}: every op in float32, the path parity is judged on with the element-wise tolerance;
 *       the default.</li>
 *   <li>{@link #BFLOAT16}: mixed precision as Keras' {@code mixed_bfloat16} policy defines it — matmuls, the
 *       attention batch matmuls and the LM decoder in bfloat16 on weights held in bfloat16; LayerNorm statistics,
 *       softmax, the mask arithmetic and the outputs in float32. Inputs and outputs stay float32. Judged by
 *       the bfloat16 accuracy budget ({@code ParityOptions.bfloat16()}), not the float32 tolerance. Loading fails
 *       on a CPU without bfloat16 instructions ({@link Bfloat16Support}).</li>
 *   <li>{@link #AUTO}: {@link #BFLOAT16} where the CPU has bfloat16 instructions and bfloat16 was measured faster
 *       there (AMX-BF16, or AVX512-BF16 on an AMD core: {@link Bfloat16Support#autoPicksBfloat16}), else
 *       {@link #FLOAT32}; the model says which it picked ({@code GraphPredictor.precision()}, logged at INFO).</li>
 * </ul>
 */
public enum Precision {
  FLOAT32, BFLOAT16, AUTO;

  /** The precision named on a command line: {@code fp32}, {@code bf16} or {@code auto} (or the constant names). */
  public static Precision parse(String s) {
    return switch (s.toLowerCase(Locale.ROOT)) {
      case "fp32", "float32" -> FLOAT32;
      case "bf16", "bfloat16" -> BFLOAT16;
      case "auto" -> AUTO;
      default -> throw new IllegalArgumentException("precision: expected fp32, bf16 or auto, found " + s);
    };
  }

  /** The short name: fp32, bf16, auto. */
  public String shortName() {
    return switch (this) {
      case FLOAT32 -> "fp32";
      case BFLOAT16 -> "bf16";
      case AUTO -> "auto";
    };
  }

  /**
   * {@link #FLOAT32} or {@link #BFLOAT16}: what a model loaded with this precision computes in on hardware that
   * {@code support} describes.
   *
   * @throws UnsupportedOperationException for {@link #BFLOAT16} where {@code support} has no bfloat16 instructions,
   *                                       with one line naming what is missing
   */
  public Precision resolve(Bfloat16Support support) {
    return switch (this) {
      case FLOAT32 -> FLOAT32;
      case AUTO -> support.autoPicksBfloat16() ? BFLOAT16 : FLOAT32;
      case BFLOAT16 -> {
        if (!support.available()) {
          throw new UnsupportedOperationException("precision bf16: " + support.missing());
        }
        yield BFLOAT16;
      }
    };
  }
}
