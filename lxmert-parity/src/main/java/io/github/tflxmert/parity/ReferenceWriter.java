package io.github.tflxmert.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.IntArray;
import io.github.tflxmert.array.Npy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Writes a reference directory in the current {@link ReferenceDirectory#FORMAT format}: add cases, then
 * {@link #finish()} writes {@code manifest.json}. For references computed on the JVM (e.g. a model version held
 * against the previous one) and for tests; Python users write the same layout with their own script (see
 * {@code docs/reference-format.md}). Not thread-safe; holds no open files between calls.
 */
public final class ReferenceWriter {
  private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9_.-]+");
  private final Path dir;
  private final ObjectNode manifest;
  private final ArrayNode cases;

  /**
   * @param dir    the directory to write (created if missing)
   * @param name   the reference's name
   * @param config the model's config (the fields of config.json; {@code l_layers}/{@code r_layers} give the
   *               execution order)
   */
  public ReferenceWriter(Path dir, String name, JsonNode config) throws IOException {
    this.dir = dir;
    Files.createDirectories(dir);
    manifest = ReferenceDirectory.JSON.createObjectNode();
    manifest.put("format", ReferenceDirectory.FORMAT);
    manifest.put("name", name);
    manifest.set("config", config.deepCopy());
    manifest.putObject("files");
    manifest.putObject("versions").put("writer", "io.github.tflxmert.parity.ReferenceWriter");
    cases = manifest.putArray("cases");
  }

  /** Records a file of the directory in the manifest's {@code files} table (e.g. {@code model_dir}). */
  public ReferenceWriter file(String key, String relative) {
    ((ObjectNode) manifest.get("files")).put(key, relative);
    return this;
  }

  /**
   * Adds a case.
   *
   * @param inputs      int inputs ({@link IntArray}) or float inputs ({@link FloatArray}) by name
   * @param outputs     the reference outputs by name
   * @param pythonNoise per output, the reference implementation's own run-to-run deviation (may be empty)
   */
  public ReferenceWriter addCase(String caseName, String description, Map<String, ?> inputs,
                                 Map<String, FloatArray> outputs, Map<String, Double> pythonNoise) throws IOException {
    check(caseName, "case name");
    ObjectNode c = cases.addObject();
    c.put("name", caseName);
    c.put("description", description);
    ObjectNode in = c.putObject("inputs");
    for (Map.Entry<String, ?> e : inputs.entrySet()) {
      check(e.getKey(), "input name");
      String rel = "cases/" + caseName + "/inputs/" + e.getKey() + ".npy";
      Path f = dir.resolve(rel);
      Files.createDirectories(f.getParent());
      if (e.getValue() instanceof IntArray a) {
        Npy.write(f, a);
        entry(in, e.getKey(), rel, a.shape(), "int32");
      } else if (e.getValue() instanceof FloatArray a) {
        Npy.write(f, a);
        entry(in, e.getKey(), rel, a.shape(), "float32");
      } else {
        throw new IllegalArgumentException("input " + e.getKey() + ": expected an IntArray or a FloatArray, found "
            + (e.getValue() == null ? "null" : e.getValue().getClass().getSimpleName()));
      }
    }
    ObjectNode out = c.putObject("outputs");
    for (Map.Entry<String, FloatArray> e : outputs.entrySet()) {
      check(e.getKey(), "output name");
      String rel = "cases/" + caseName + "/outputs/" + e.getKey() + ".npy";
      Path f = dir.resolve(rel);
      Files.createDirectories(f.getParent());
      Npy.write(f, e.getValue());
      ObjectNode t = entry(out, e.getKey(), rel, e.getValue().shape(), "float32");
      Double noise = pythonNoise.get(e.getKey());
      if (noise != null) {
        t.putObject("python_noise").put("max_abs", noise).put("source", "recorded by the writer's caller");
      }
    }
    return this;
  }

  private static void check(String name, String what) {
    if (!SAFE_NAME.matcher(name).matches() || name.equals(".") || name.equals("..")) {
      throw new IllegalArgumentException(what + ": expected letters, digits, '_', '.', '-', found \"" + name + "\"");
    }
  }

  private static ObjectNode entry(ObjectNode table, String name, String rel, long[] shape, String dtype) {
    ObjectNode t = table.putObject(name);
    t.put("file", rel);
    ArrayNode s = t.putArray("shape");
    for (long d : shape) {
      s.add(d);
    }
    t.put("dtype", dtype);
    return t;
  }

  /** Writes {@code manifest.json}; the directory can then be opened with {@link ReferenceDirectory#open}. */
  public Path finish() throws IOException {
    if (cases.isEmpty()) {
      throw new IllegalStateException(dir + ": a reference needs at least one case");
    }
    Path m = dir.resolve("manifest.json");
    Files.writeString(m, ReferenceDirectory.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(manifest) + "\n");
    return m;
  }
}
