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
 * Outputs are written as DT_FLOAT {@code float_val}, as TF Serving does, or on request as {@code tensor_content}.
 * Stateless; thread-safe.
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

  /**
   * A {@code PredictResponse} serialized straight from the outputs, byte for byte what
   * {@code PredictResponse.newBuilder().setModelSpec(spec).putOutputs(k, encode(v))...build().toByteArray()} parses
   * to (outputs as {@code float_val}, as TF Serving answers; clients see no difference): the model spec, then per
   * output one map entry whose packed {@code float_val} is the floats' little-endian bytes, written in one bulk
   * copy. Building the message instead adds each of a 2.4 MB {@code prediction_logits}' 610,440 values to a
   * growing protobuf list (about 25 reallocations, the large ones G1 humongous allocations that start concurrent
   * GC cycles on the model's cores) and then writes them one call each.
   */
  public static byte[] predictResponse(tensorflow.serving.Model.ModelSpec spec, java.util.Map<String, FloatArray> outputs) {
    return predictResponse(spec, outputs, false);
  }

  /**
   * {@link #predictResponse(tensorflow.serving.Model.ModelSpec, java.util.Map)}, with each output's floats in
   * {@code float_val} (TF Serving's answer) or, when {@code tensorContent}, in {@code tensor_content}: the same
   * little-endian bytes under another field number, so the message has the same size. {@code tf.make_ndarray} and
   * TensorFlow's {@code Tensor::FromProto} read either; a client that reads {@code float_val} itself finds it empty.
   * What it saves is the client's parse: a packed {@code float_val} is decoded value by value into a list (in
   * Python's pure protobuf backend, hundreds of ms for 610,440 values), {@code tensor_content} is one byte copy
   * ({@code bench/tfs-client-parse.py} measures both).
   */
  public static byte[] predictResponse(tensorflow.serving.Model.ModelSpec spec, java.util.Map<String, FloatArray> outputs,
                                       boolean tensorContent) {
    byte[] head = tensorflow.serving.Predict.PredictResponse.newBuilder().setModelSpec(spec).build().toByteArray();
    int n = outputs.size();
    byte[][] keys = new byte[n][];
    byte[][] tensorHeads = new byte[n][];
    float[][] values = new float[n][];
    long total = head.length;
    int i = 0;
    for (java.util.Map.Entry<String, FloatArray> e : outputs.entrySet()) {
      keys[i] = e.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8);
      TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
      for (long d : e.getValue().shape()) {
        s.addDim(TensorShapeProto.Dim.newBuilder().setSize(d));
      }
      tensorHeads[i] = TensorProto.newBuilder().setDtype(DataType.DT_FLOAT).setTensorShape(s).build().toByteArray();
      values[i] = e.getValue().data();
      long entry = entryLength(keys[i], tensorHeads[i], values[i]);
      total += 1 + varintSize(entry) + entry;
      i++;
    }
    if (total > Integer.MAX_VALUE - 16) {
      throw ServingException.invalid("outputs: expected an answer under 2 GiB, found " + total + " bytes; ask for fewer"
          + " outputs with output_filter");
    }
    ByteBuffer b = ByteBuffer.allocate((int) total).order(ByteOrder.LITTLE_ENDIAN);
    b.put(head);
    for (i = 0; i < n; i++) {
      b.put((byte) 0x0A); // PredictResponse.outputs = 1, length-delimited map entry
      putVarint(b, entryLength(keys[i], tensorHeads[i], values[i]));
      b.put((byte) 0x0A); // entry key = 1
      putVarint(b, keys[i].length);
      b.put(keys[i]);
      b.put((byte) 0x12); // entry value = 2 (TensorProto)
      putVarint(b, tensorLength(tensorHeads[i], values[i]));
      b.put(tensorHeads[i]);
      if (values[i].length > 0) {
        b.put((byte) (tensorContent ? 0x22 : 0x2A)); // TensorProto.tensor_content = 4 or float_val = 5, packed
        putVarint(b, 4L * values[i].length);
        b.asFloatBuffer().put(values[i]);
        b.position(b.position() + 4 * values[i].length);
      }
    }
    return b.array();
  }

  private static long tensorLength(byte[] tensorHead, float[] v) {
    long floats = 4L * v.length;
    return tensorHead.length + (v.length > 0 ? 1 + varintSize(floats) + floats : 0);
  }

  private static long entryLength(byte[] key, byte[] tensorHead, float[] v) {
    long t = tensorLength(tensorHead, v);
    return 1 + varintSize(key.length) + key.length + 1 + varintSize(t) + t;
  }

  private static int varintSize(long v) {
    int n = 1;
    while ((v >>>= 7) != 0) {
      n++;
    }
    return n;
  }

  private static void putVarint(ByteBuffer b, long v) {
    while ((v & ~0x7FL) != 0) {
      b.put((byte) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    b.put((byte) v);
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
