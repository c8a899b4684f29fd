package io.github.tflxmert.serving;

import com.google.protobuf.ByteString;
import io.github.tflxmert.array.FloatArray;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.TensorProto;
import org.tensorflow.proto.TensorShapeProto;

/**
 * {@code TensorProto} ↔ Java arrays for the dtypes the server takes: DT_INT32, DT_INT64, DT_FLOAT (and
 * DT_DOUBLE in), read from the typed {@code *_val} field or from little-endian {@code tensor_content}; a single
 * typed value with more than one element in the shape is broadcast, as TensorFlow's {@code MakeNdarray} does.
 * Outputs are written as DT_FLOAT {@code float_val}, as TF Serving does. Stateless; thread-safe.
 */
public final class TensorCodec {
  private TensorCodec() {}

  /**
   * Largest tensor decoded (16 Mi elements): a typed field holding one value is broadcast to the whole shape, so
   * the shape, not the message size, decides the memory; this bounds it.
   */
  public static final long MAX_ELEMENTS = 1L << 24;

  /** Decodes one input tensor; {@code name} is used in error messages. */
  public static NdValue decode(String name, TensorProto t) {
    long[] shape = shape(name, t.getTensorShape());
    long n = NdValue.count(shape);
    if (n > MAX_ELEMENTS) {
      throw ServingException.invalid(name + ": expected a tensor of at most " + MAX_ELEMENTS + " elements, found shape "
          + Arrays.toString(shape) + " (" + n + " elements)");
    }
    int count = (int) n;
    DataType dt = t.getDtype();
    ByteString content = t.getTensorContent();
    boolean raw = !content.isEmpty();
    int typed = switch (dt) {
      case DT_INT32 -> t.getIntValCount();
      case DT_INT64 -> t.getInt64ValCount();
      case DT_FLOAT -> t.getFloatValCount();
      case DT_DOUBLE -> t.getDoubleValCount();
      default -> 0;
    };
    int width = dt == DataType.DT_INT64 || dt == DataType.DT_DOUBLE ? 8 : 4;
    if (raw && (long) count * width != content.size()) {
      throw ServingException.invalid(name + ": expected tensor_content of " + (long) count * width + " bytes ("
          + count + " elements of " + width + " bytes), found " + content.size());
    }
    if (!raw && typed != count && !(typed == 1 && count > 1)) {
      // checked before allocating: a wrong count is the client's error, not a reason to allocate the shape
      throw ServingException.invalid(name + ": expected " + count + " values for shape " + Arrays.toString(shape)
          + " (or one, broadcast, or tensor_content), found " + typed);
    }
    switch (dt) {
      case DT_INT32 -> {
        long[] v = new long[count];
        if (raw) {
          ByteBuffer b = buffer(name, content, count, 4);
          for (int i = 0; i < count; i++) {
            v[i] = b.getInt();
          }
        } else {
          fill(name, t.getIntValCount(), count, i -> v[i] = t.getIntVal(i), i -> v[i] = v[0]);
        }
        return new NdValue("DT_INT32", shape, v, null);
      }
      case DT_INT64 -> {
        long[] v = new long[count];
        if (raw) {
          ByteBuffer b = buffer(name, content, count, 8);
          for (int i = 0; i < count; i++) {
            v[i] = b.getLong();
          }
        } else {
          fill(name, t.getInt64ValCount(), count, i -> v[i] = t.getInt64Val(i), i -> v[i] = v[0]);
        }
        return new NdValue("DT_INT64", shape, v, null);
      }
      case DT_FLOAT -> {
        float[] v = new float[count];
        if (raw) {
          ByteBuffer b = buffer(name, content, count, 4);
          for (int i = 0; i < count; i++) {
            v[i] = b.getFloat();
          }
        } else {
          fill(name, t.getFloatValCount(), count, i -> v[i] = t.getFloatVal(i), i -> v[i] = v[0]);
        }
        return new NdValue("DT_FLOAT", shape, null, v);
      }
      case DT_DOUBLE -> {
        float[] v = new float[count];
        if (raw) {
          ByteBuffer b = buffer(name, content, count, 8);
          for (int i = 0; i < count; i++) {
            v[i] = (float) b.getDouble();
          }
        } else {
          fill(name, t.getDoubleValCount(), count, i -> v[i] = (float) t.getDoubleVal(i), i -> v[i] = v[0]);
        }
        return new NdValue("DT_DOUBLE", shape, null, v);
      }
      default -> throw ServingException.invalid(name + ": expected dtype DT_INT32, DT_INT64 or DT_FLOAT, found " + dt);
    }
  }

  /** A float output as TF Serving writes it: DT_FLOAT, its shape, {@code float_val}. */
  public static TensorProto encode(FloatArray a) {
    TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
    for (long d : a.shape()) {
      s.addDim(TensorShapeProto.Dim.newBuilder().setSize(d));
    }
    TensorProto.Builder t = TensorProto.newBuilder().setDtype(DataType.DT_FLOAT).setTensorShape(s);
    for (float f : a.data()) {
      t.addFloatVal(f);
    }
    return t.build();
  }

  static long[] shape(String name, TensorShapeProto p) {
    if (p.getUnknownRank()) {
      throw ServingException.invalid(name + ": expected a tensor of known shape, found unknown_rank");
    }
    long[] s = new long[p.getDimCount()];
    for (int i = 0; i < s.length; i++) {
      s[i] = p.getDim(i).getSize();
      if (s[i] < 0) {
        throw ServingException.invalid(name + ": expected non-negative dimensions, found " + s[i] + " at axis " + i);
      }
    }
    return s;
  }

  private interface IntSetter {
    void set(int i);
  }

  private static void fill(String name, int found, int count, IntSetter copy, IntSetter broadcast) {
    if (found == count) {
      for (int i = 0; i < count; i++) {
        copy.set(i);
      }
    } else if (found == 1 && count > 1) {
      copy.set(0);
      for (int i = 1; i < count; i++) {
        broadcast.set(i);
      }
    } else {
      throw ServingException.invalid(name + ": expected " + count + " values for its shape, found " + found);
    }
  }

  private static ByteBuffer buffer(String name, ByteString content, int count, int width) {
    if ((long) count * width != content.size()) {
      throw ServingException.invalid(name + ": expected tensor_content of " + (long) count * width + " bytes ("
          + count + " elements of " + width + " bytes), found " + content.size());
    }
    return content.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }

  static String shapeText(long[] s) {
    return Arrays.toString(s);
  }
}
