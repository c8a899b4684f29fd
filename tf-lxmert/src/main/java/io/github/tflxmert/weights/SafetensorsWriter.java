package io.github.tflxmert.weights;

import io.github.tflxmert.array.FloatArray;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Writes float32 tensors as a {@code model.safetensors} file in the layout {@link SafetensorsWeightSource} reads:
 * 8-byte little-endian header length, a JSON header padded with spaces to a multiple of 8, then the data in the
 * map's order. Names are HF's TF variable names ({@code name:0}, without the model prefix) with metadata
 * {@code format: tf}, so {@code LxmertForPreTraining.fromPretrained} and HF's {@code from_pretrained} read it.
 * Stateless; thread-safe.
 */
public final class SafetensorsWriter {
  private SafetensorsWriter() {}

  /**
   * Writes {@code tensors} (HF weight name without {@code :0} → values) to {@code file}, replacing it.
   *
   * @throws IllegalArgumentException if a name holds a character JSON would need escaped
   */
  public static void writeTf(Path file, Map<String, FloatArray> tensors) throws IOException {
    write(file, tensors, "tf", ":0");
  }

  /**
   * Writes {@code tensors} (HF TF weight names without {@code :0} → values, TF layout) to {@code file} as HF's
   * PyTorch {@code save_pretrained} would: state-dict keys from {@link WeightNames#toPytorch} (the
   * {@code lxmert.} prefix kept), kernels transposed to PyTorch's [out, in], metadata {@code format: pt}.
   */
  public static void writePytorch(Path file, Map<String, FloatArray> tensors) throws IOException {
    Map<String, FloatArray> pt = new java.util.LinkedHashMap<>();
    for (Map.Entry<String, FloatArray> e : tensors.entrySet()) {
      WeightNames.PtName n = WeightNames.toPytorch(e.getKey(), false);
      FloatArray a = e.getValue();
      if (n.transposed() && a.rank() == 2) {
        int rows = (int) a.dim(0);
        int cols = (int) a.dim(1);
        float[] t = new float[a.data().length];
        for (int r = 0; r < rows; r++) {
          for (int c = 0; c < cols; c++) {
            t[c * rows + r] = a.data()[r * cols + c];
          }
        }
        a = new FloatArray(new long[] {cols, rows}, t);
      }
      pt.put(n.key(), a);
    }
    write(file, pt, "pt", "");
  }

  private static void write(Path file, Map<String, FloatArray> tensors, String format, String suffix)
      throws IOException {
    StringBuilder h = new StringBuilder("{\"__metadata__\":{\"format\":\"" + format + "\"}");
    long offset = 0;
    for (Map.Entry<String, FloatArray> e : tensors.entrySet()) {
      String name = e.getKey();
      if (name.chars().anyMatch(c -> c == '"' || c == '\\' || c < 0x20)) {
        throw new IllegalArgumentException("tensor name " + name + ": quote, backslash or control character");
      }
      long bytes = 4L * e.getValue().data().length;
      h.append(",\"").append(name).append(suffix).append("\":{\"dtype\":\"F32\",\"shape\":[");
      long[] shape = e.getValue().shape();
      for (int i = 0; i < shape.length; i++) {
        h.append(i > 0 ? "," : "").append(shape[i]);
      }
      h.append("],\"data_offsets\":[").append(offset).append(',').append(offset + bytes).append("]}");
      offset += bytes;
    }
    h.append('}');
    int unpadded = h.toString().getBytes(StandardCharsets.UTF_8).length;
    h.append(" ".repeat((8 - unpadded % 8) % 8));                     // data starts 8-byte aligned
    byte[] header = h.toString().getBytes(StandardCharsets.UTF_8);
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
      out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
      out.write(header);
      for (FloatArray a : tensors.values()) {
        ByteBuffer b = ByteBuffer.allocate(4 * a.data().length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(a.data());
        out.write(b.array());
      }
    }
  }
}
