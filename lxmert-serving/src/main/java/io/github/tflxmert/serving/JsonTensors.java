package io.github.tflxmert.serving;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.tflxmert.array.FloatArray;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * JSON ↔ tensors for the REST API, as TF Serving reads and writes them: a tensor is a nested list (rectangular;
 * its nesting is its shape); integer inputs take JSON integers, float inputs any JSON number. Row format: each
 * instance is an object of named tensors without the batch axis, stacked into a batch; columnar format: an
 * object of named tensors with it. Stateless; thread-safe.
 */
final class JsonTensors {
  private JsonTensors() {}

  static Map<String, NdValue> fromInputs(JsonNode inputs, ServingSignature sig) {
    if (inputs == null || !inputs.isObject()) {
      throw ServingException.invalid("\"inputs\": expected an object of named tensors (columnar format), found "
          + (inputs == null ? "nothing" : inputs.getNodeType()));
    }
    Map<String, NdValue> out = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = inputs.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      out.put(e.getKey(), tensor("inputs." + e.getKey(), e.getValue(), dtype(sig, e.getKey())));
    }
    return out;
  }

  static Map<String, NdValue> fromInstances(JsonNode instances, ServingSignature sig) {
    if (instances == null || !instances.isArray() || instances.isEmpty()) {
      throw ServingException.invalid("\"instances\": expected a non-empty list of objects (row format), found "
          + (instances == null ? "nothing" : instances.isArray() ? "an empty list" : instances.getNodeType()));
    }
    Map<String, List<NdValue>> cols = new LinkedHashMap<>();
    int row = 0;
    for (JsonNode inst : instances) {
      if (!inst.isObject()) {
        throw ServingException.invalid("instances[" + row + "]: expected an object of named inputs, found "
            + inst.getNodeType());
      }
      if (row > 0 && !fieldNames(inst).equals(new ArrayList<>(cols.keySet()))) {
        throw ServingException.invalid("instances[" + row + "]: expected the inputs of instances[0] "
            + cols.keySet() + ", found " + fieldNames(inst));
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = inst.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        cols.computeIfAbsent(e.getKey(), k -> new ArrayList<>())
            .add(tensor("instances[" + row + "]." + e.getKey(), e.getValue(), dtype(sig, e.getKey())));
      }
      row++;
    }
    Map<String, NdValue> out = new LinkedHashMap<>();
    cols.forEach((k, parts) -> out.put(k, stack(k, parts)));
    return out;
  }

  private static List<String> fieldNames(JsonNode o) {
    List<String> l = new ArrayList<>();
    o.fieldNames().forEachRemaining(l::add);
    return l;
  }

  private static String dtype(ServingSignature sig, String name) {
    ServingSignature.Spec s = sig.inputs().get(name);
    if (s == null) {
      throw ServingException.invalid("input '" + name + "': expected one of the inputs of signature " + sig.key()
          + " " + sig.inputs().keySet());
    }
    return s.dtype();
  }

  private static NdValue stack(String name, List<NdValue> rows) {
    long[] s0 = rows.get(0).shape();
    for (int i = 1; i < rows.size(); i++) {
      if (!Arrays.equals(s0, rows.get(i).shape())) {
        throw ServingException.invalid("instances[" + i + "]." + name + ": expected shape " + Arrays.toString(s0)
            + " (as instances[0]; row format needs equal shapes, pad or use the columnar format), found "
            + rows.get(i).shapeText());
      }
    }
    long[] shape = new long[s0.length + 1];
    shape[0] = rows.size();
    System.arraycopy(s0, 0, shape, 1, s0.length);
    NdValue f = rows.get(0);
    int n = f.isInteger() ? f.ints().length : f.floats().length;
    if (f.isInteger()) {
      long[] d = new long[n * rows.size()];
      for (int i = 0; i < rows.size(); i++) {
        System.arraycopy(rows.get(i).ints(), 0, d, i * n, n);
      }
      return new NdValue(f.dtype(), shape, d, null);
    }
    float[] d = new float[n * rows.size()];
    for (int i = 0; i < rows.size(); i++) {
      System.arraycopy(rows.get(i).floats(), 0, d, i * n, n);
    }
    return new NdValue(f.dtype(), shape, null, d);
  }

  /** A nested JSON list as a tensor of the given dtype. */
  static NdValue tensor(String where, JsonNode node, String dtype) {
    List<Long> shape = new ArrayList<>();
    for (JsonNode n = node; n.isArray(); n = n.get(0)) {
      shape.add((long) n.size());
      if (n.isEmpty()) {
        break;
      }
    }
    long[] s = shape.stream().mapToLong(Long::longValue).toArray();
    boolean integer = dtype.equals("DT_INT32") || dtype.equals("DT_INT64");
    long n = NdValue.count(s);
    if (n > TensorCodec.MAX_ELEMENTS) { // checked before allocating: a ragged list can claim a huge shape
      throw ServingException.invalid(where + ": expected a tensor of at most " + TensorCodec.MAX_ELEMENTS
          + " elements, found shape " + Arrays.toString(s));
    }
    int count = (int) n;
    long[] ints = integer ? new long[count] : null;
    float[] floats = integer ? null : new float[count];
    int[] pos = {0};
    fill(where, node, s, 0, ints, floats, pos);
    return new NdValue(dtype, s, ints, floats);
  }

  private static void fill(String where, JsonNode n, long[] shape, int axis, long[] ints, float[] floats, int[] pos) {
    if (axis == shape.length) {
      if (!n.isNumber()) {
        throw ServingException.invalid(where + ": expected a number" + (shape.length > 0 ? " at depth " + axis : "")
            + ", found " + (n.isArray() ? "a list (ragged nesting)" : n.getNodeType().toString().toLowerCase()));
      }
      if (ints != null) {
        if (!n.canConvertToLong() || !(n.isIntegralNumber() || n.asDouble() == Math.rint(n.asDouble()))) {
          throw ServingException.invalid(where + ": expected an integer, found " + n);
        }
        ints[pos[0]++] = n.asLong();
      } else {
        floats[pos[0]++] = (float) n.asDouble();
      }
      return;
    }
    if (!n.isArray() || n.size() != shape[axis]) {
      throw ServingException.invalid(where + ": expected a list of " + shape[axis] + " at depth " + axis
          + " (a rectangular nested list of shape " + Arrays.toString(shape) + "), found "
          + (n.isArray() ? "a list of " + n.size() : n.getNodeType().toString().toLowerCase()));
    }
    for (JsonNode c : n) {
      fill(where, c, shape, axis + 1, ints, floats, pos);
    }
  }

  static void write(JsonGenerator g, FloatArray a) throws IOException {
    write(g, a.data(), a.shape(), 0, 0);
  }

  /** Row {@code row} of an output (for a stacked tuple [L,B,...], the row of axis 1: [L,...]). */
  static void writeRow(JsonGenerator g, FloatArray a, int row, boolean tuple) throws IOException {
    long[] s = a.shape();
    if (!tuple) {
      long n = NdValue.count(Arrays.copyOfRange(s, 1, s.length));
      write(g, a.data(), Arrays.copyOfRange(s, 1, s.length), 0, (int) (row * n));
      return;
    }
    long inner = NdValue.count(Arrays.copyOfRange(s, 2, s.length));
    g.writeStartArray();
    for (int l = 0; l < s[0]; l++) {
      write(g, a.data(), Arrays.copyOfRange(s, 2, s.length), 0, (int) ((l * s[1] + row) * inner));
    }
    g.writeEndArray();
  }

  private static int write(JsonGenerator g, float[] d, long[] shape, int axis, int pos) throws IOException {
    if (axis == shape.length) {
      g.writeNumber(d[pos]);
      return pos + 1;
    }
    g.writeStartArray();
    for (int i = 0; i < shape[axis]; i++) {
      pos = write(g, d, shape, axis + 1, pos);
    }
    g.writeEndArray();
    return pos;
  }
}
