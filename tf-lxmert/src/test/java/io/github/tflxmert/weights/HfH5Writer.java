package io.github.tflxmert.weights;

import io.jhdf.HdfFile;
import io.jhdf.WritableHdfFile;
import io.jhdf.api.WritableGroup;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Test helper: writes weights in the layout of HF's tf_model.h5 (root layer_names, one group per top-level
 * layer with weight_names, datasets at group/model_name/.../leaf:0), so tests can make checkpoints of any
 * size without Python.
 */
public final class HfH5Writer {
  private HfH5Writer() {}

  /** @param weights canonical name (no model prefix, no :0) → flat float32 values with shape */
  public static void write(Path file, String modelName, Map<String, long[]> shapes, Map<String, float[]> values) {
    Map<String, List<String>> byTop = new LinkedHashMap<>();
    for (String n : shapes.keySet()) {
      byTop.computeIfAbsent(n.substring(0, n.indexOf('/')), k -> new ArrayList<>()).add(n);
    }
    try (WritableHdfFile hdf = HdfFile.write(file)) {
      hdf.putAttribute("layer_names", byTop.keySet().toArray(new String[0]));
      hdf.putAttribute("backend", "tensorflow");
      for (Map.Entry<String, List<String>> e : byTop.entrySet()) {
        WritableGroup g = hdf.putGroup(e.getKey());
        List<String> stored = new ArrayList<>();
        Map<String, WritableGroup> groups = new HashMap<>();
        for (String n : e.getValue()) {
          String full = modelName + "/" + n + ":0";
          stored.add(full);
          String[] parts = full.split("/");
          WritableGroup cur = g;
          StringBuilder path = new StringBuilder();
          for (int i = 0; i < parts.length - 1; i++) {
            path.append('/').append(parts[i]);
            WritableGroup parent = cur;
            String part = parts[i];
            cur = groups.computeIfAbsent(path.toString(), k -> parent.putGroup(part));
          }
          cur.putDataset(parts[parts.length - 1], reshape(values.get(n), shapes.get(n)));
        }
        g.putAttribute("weight_names", stored.toArray(new String[0]));
      }
    }
  }

  private static Object reshape(float[] flat, long[] shape) {
    if (shape.length == 1) {
      return flat;
    }
    if (shape.length == 2) {
      float[][] m = new float[(int) shape[0]][(int) shape[1]];
      for (int r = 0; r < m.length; r++) {
        System.arraycopy(flat, r * m[r].length, m[r], 0, m[r].length);
      }
      return m;
    }
    throw new IllegalArgumentException("rank " + shape.length);
  }
}
