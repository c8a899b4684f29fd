package io.github.tflxmert.weights;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Dtype conversion to little-endian float32 while copying a tensor. Stateless; thread-safe. */
final class Conversions {
  private Conversions() {}

  /**
   * Copies {@code src} (remaining bytes, in its own byte order) of the given dtype into {@code dst} as
   * little-endian float32. Accepts float32/16/64 and bfloat16 under numpy or safetensors spellings. float64 is
   * rounded to nearest (as numpy's {@code astype(float32)}); float16 and bfloat16 convert exactly.
   */
  static void toFloat32(String dtype, ByteBuffer src, ByteBuffer dst, String what) {
    ByteBuffer out = dst.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    switch (dtype) {
      case "F32", "float32" -> {
        if (src.order() == ByteOrder.LITTLE_ENDIAN) {
          out.put(src.duplicate());
        } else {
          ByteBuffer s = src.duplicate().order(src.order()); // duplicate() resets the order to big-endian
          while (s.remaining() >= 4) {
            out.putFloat(s.getFloat());
          }
        }
      }
      case "F64", "float64" -> {
        ByteBuffer s = src.duplicate().order(src.order()); // duplicate() resets the order to big-endian
        while (s.remaining() >= 8) {
          out.putFloat((float) s.getDouble());
        }
      }
      case "F16", "float16" -> {
        ByteBuffer s = src.duplicate().order(src.order()); // duplicate() resets the order to big-endian
        while (s.remaining() >= 2) {
          out.putFloat(halfToFloat(s.getShort()));
        }
      }
      case "BF16", "bfloat16" -> {
        ByteBuffer s = src.duplicate().order(src.order()); // duplicate() resets the order to big-endian
        while (s.remaining() >= 2) {
          out.putFloat(Float.intBitsToFloat((s.getShort() & 0xffff) << 16));
        }
      }
      default -> throw new IllegalArgumentException(what + ": expected a floating-point dtype "
          + "(float32, float16, bfloat16 or float64), found " + dtype);
    }
    dst.position(out.position());
  }

  /** Element {@code byteIndex / size} of {@code src} (in its byte order) as float32; dtypes as {@link #toFloat32}. */
  static float elementToFloat32(String dtype, ByteBuffer src, int byteIndex) {
    return switch (dtype) {
      case "F32", "float32" -> src.getFloat(byteIndex);
      case "F64", "float64" -> (float) src.getDouble(byteIndex);
      case "F16", "float16" -> halfToFloat(src.getShort(byteIndex));
      case "BF16", "bfloat16" -> Float.intBitsToFloat((src.getShort(byteIndex) & 0xffff) << 16);
      default -> throw new IllegalArgumentException("expected a floating-point dtype, found " + dtype);
    };
  }

  /** IEEE 754 binary16 to float32 (Float.float16ToFloat needs Java 20). */
  static float halfToFloat(short h) {
    int bits = h & 0xffff;
    int sign = (bits & 0x8000) << 16;
    int exp = (bits >>> 10) & 0x1f;
    int mant = bits & 0x3ff;
    if (exp == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    }
    if (exp == 0) {
      if (mant == 0) {
        return Float.intBitsToFloat(sign);
      }
      float v = mant / 1024f * (1f / 16384f);   // subnormal: mant * 2^-24
      return sign != 0 ? -v : v;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }
}
