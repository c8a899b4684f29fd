package io.github.tflxmert.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/**
 * Regression test: float16, bfloat16 and float64 sources were decoded big-endian whatever their byte order
 * ({@code ByteBuffer.duplicate()} resets the order), so every non-float32 checkpoint loaded garbage.
 */
class ConversionsTest {
  static float[] convert(String dtype, ByteBuffer src, int n) {
    ByteBuffer dst = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
    Conversions.toFloat32(dtype, src.flip(), dst, "test");
    assertEquals(n * 4, dst.position());
    float[] out = new float[n];
    dst.flip().asFloatBuffer().get(out);
    return out;
  }

  @Test
  void littleAndBigEndianSourcesOfEveryFloatDtype() {
    for (ByteOrder order : new ByteOrder[] {ByteOrder.LITTLE_ENDIAN, ByteOrder.BIG_ENDIAN}) {
      ByteBuffer h = ByteBuffer.allocate(8).order(order);
      h.putShort((short) 0x3c00).putShort((short) 0xc000).putShort((short) 0x0001).putShort((short) 0x7c00);
      assertArrayEquals(new float[] {1f, -2f, 0x1p-24f, Float.POSITIVE_INFINITY}, convert("F16", h, 4), order.toString());
      ByteBuffer bf = ByteBuffer.allocate(4).order(order);
      bf.putShort((short) 0x3f80).putShort((short) 0xc040);
      assertArrayEquals(new float[] {1f, -3f}, convert("BF16", bf, 2), order.toString());
      ByteBuffer d = ByteBuffer.allocate(24).order(order);
      d.putDouble(0.1).putDouble(-1e300).putDouble(1e-40);
      assertArrayEquals(new float[] {0.1f, Float.NEGATIVE_INFINITY, (float) 1e-40}, convert("float64", d, 3),
          order.toString());
      ByteBuffer f = ByteBuffer.allocate(8).order(order);
      f.putFloat(1.5f).putFloat(-0f);
      assertArrayEquals(new float[] {1.5f, -0f}, convert("F32", f, 2), order.toString());
    }
  }

  @Test
  void everyHalfConvertsExactly() {
    for (int bits = 0; bits < 0x10000; bits++) {
      float f = Conversions.halfToFloat((short) bits);
      int exp = (bits >>> 10) & 0x1f;
      int mant = bits & 0x3ff;
      double expected = exp == 0 ? mant * 0x1p-24 : exp == 31 ? (mant == 0 ? Double.POSITIVE_INFINITY : Double.NaN)
          : (1 + mant / 1024.0) * Math.pow(2, exp - 15);
      if ((bits & 0x8000) != 0) {
        expected = -expected;
      }
      assertEquals((float) expected, f, "half bits " + Integer.toHexString(bits));
    }
  }
}
