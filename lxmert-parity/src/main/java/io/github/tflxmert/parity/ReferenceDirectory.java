package io.github.tflxmert.parity;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.Npy;
import io.github.tflxmert.array.NpyArray;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * A reference directory: {@code manifest.json} plus {@code .npy} files holding, per input case, the inputs and the
 * outputs of the reference model (format in {@code docs/reference-format.md}; written by
 * {@code parity-tests/python/export_reference.py}, by {@link ReferenceWriter}, or by a user's own script). Every
 * file the manifest names must lie inside the directory after symbolic links are resolved.
 *
 * <p>Closing deletes the temporary directory a zipped SavedModel was unpacked into; whoever opened the directory
 * closes it. Thread-safe: reads are independent, and the one-time unpacking is synchronized.
 */
public final class ReferenceDirectory implements AutoCloseable {
  /** The format this library writes. */
  public static final String FORMAT = "tf-lxmert-reference/2";
  /** Formats this library reads: version 1 has no per-tensor Python noise. */
  public static final Set<String> READABLE = Set.of("tf-lxmert-reference/1", FORMAT);
  static final ObjectMapper JSON = new ObjectMapper();
  /** Largest manifest.json read (the fixtures' are about 30 KB). */
  private static final long MAX_MANIFEST = 64L << 20;
  /** Largest total unpacked from saved_model.zip. */
  private static final long MAX_UNZIPPED = 2L << 30;

  private final Path dir;
  private final JsonNode manifest;
  private final List<Case> cases;
  private final ExecutionOrder order;
  private Path unpacked;

  private ReferenceDirectory(Path dir, JsonNode manifest) {
    this.dir = dir;
    this.manifest = manifest;
    String format = manifest.path("format").asText("");
    if (!READABLE.contains(format)) {
      throw new IllegalArgumentException(where() + ": field format: expected one of " + READABLE.stream().sorted()
          .toList() + ", found \"" + format + "\"");
    }
    JsonNode cfg = manifest.get("config");
    if (cfg == null || !cfg.isObject()) {
      throw new IllegalArgumentException(where() + ": field config: expected an object with the fields of "
          + "config.json, found " + (cfg == null ? "nothing" : cfg.getNodeType().toString().toLowerCase(Locale.ROOT)));
    }
    this.order = new ExecutionOrder(cfg.path("l_layers").asInt(0), cfg.path("r_layers").asInt(0));
    JsonNode cs = manifest.path("cases");
    if (!cs.isArray() || cs.isEmpty()) {
      throw new IllegalArgumentException(where() + ": field cases: expected a list with at least one case, found "
          + (cs.isMissingNode() ? "nothing" : cs.isArray() ? "an empty list" : cs.getNodeType().toString()
          .toLowerCase(Locale.ROOT)));
    }
    List<Case> list = new ArrayList<>();
    for (JsonNode c : cs) {
      if (!c.isObject() || !c.path("name").isTextual() || !c.path("outputs").isObject()) {
        throw new IllegalArgumentException(where() + ": cases[" + list.size() + "]: expected an object with a name "
            + "and an outputs table, found " + c.getNodeType().toString().toLowerCase(Locale.ROOT));
      }
      list.add(new Case(this, c));
    }
    this.cases = List.copyOf(list);
  }

  private String where() {
    return dir.resolve("manifest.json").toString();
  }

  /** Opens a reference directory. @throws IllegalArgumentException if its manifest is missing or malformed */
  public static ReferenceDirectory open(Path dir) throws IOException {
    Path m = dir.resolve("manifest.json");
    if (!Files.isRegularFile(m)) {
      throw new IllegalArgumentException(dir + ": not a reference directory (expected manifest.json, found "
          + (Files.exists(m) ? "something that is not a regular file" : "none") + ")");
    }
    long size = Files.size(m);
    if (size > MAX_MANIFEST) {
      throw new IllegalArgumentException(m + ": expected a manifest of at most " + MAX_MANIFEST + " bytes, found "
          + size + " bytes");
    }
    return open(dir, Files.readAllBytes(m));
  }

  /**
   * Opens a reference directory with the given manifest text in place of its {@code manifest.json} (for tools that
   * rewrite manifests, and for fuzzing the reader). Files the manifest names are still read from {@code dir}.
   *
   * @throws IllegalArgumentException if the manifest is malformed, naming the field, expected and found
   */
  public static ReferenceDirectory open(Path dir, byte[] manifestJson) {
    JsonNode root;
    try {
      root = JSON.readTree(manifestJson);
    } catch (IOException e) {
      throw new IllegalArgumentException(dir.resolve("manifest.json") + ": not valid JSON: "
          + (e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()), e);
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException(dir.resolve("manifest.json") + ": expected a JSON object, found "
          + (root == null || root.isMissingNode() ? "nothing" : root.getNodeType().toString().toLowerCase(Locale.ROOT)));
    }
    return new ReferenceDirectory(dir, root);
  }

  /**
   * {@code relative} resolved against the directory. It must lie inside it, judged on real paths: a symbolic link
   * that leads outside is refused as well as {@code ../}.
   */
  Path inside(String relative, String what) {
    Path p;
    try {
      Path base = dir.toAbsolutePath().normalize();
      p = base.resolve(relative).normalize();
      if (!p.startsWith(base) || p.equals(base)) {
        throw outside(relative, what, null);
      }
      if (Files.exists(p)) {
        Path realBase = base.toRealPath();
        Path real = p.toRealPath();
        if (!real.startsWith(realBase)) {
          throw outside(relative, what, real);
        }
      }
      return p;
    } catch (InvalidPathException e) {
      throw new IllegalArgumentException(where() + ": " + what + ": expected a path inside " + dir + ", found \""
          + relative + "\" (" + e.getReason() + ")", e);
    } catch (IOException e) {
      throw new IllegalArgumentException(where() + ": " + what + ": cannot resolve \"" + relative + "\": " + e, e);
    }
  }

  private IllegalArgumentException outside(String relative, String what, Path real) {
    return new IllegalArgumentException(where() + ": " + what + ": expected a file inside " + dir + ", found \""
        + relative + "\"" + (real != null ? ", a symbolic link to a file outside it (" + real + ")" : ""));
  }

  public Path dir() {
    return dir;
  }

  public String name() {
    return manifest.path("name").asText(dir.toAbsolutePath().getFileName().toString());
  }

  /** The manifest's format string ({@code tf-lxmert-reference/1} or {@code /2}). */
  public String format() {
    return manifest.path("format").asText();
  }

  /** The model's config as the manifest records it (the fields of HF's {@code config.json}). */
  public JsonNode config() {
    return manifest.get("config");
  }

  public JsonNode manifest() {
    return manifest;
  }

  /** The order in which the reference model computes its outputs (layer counts from the config). */
  public ExecutionOrder executionOrder() {
    return order;
  }

  /** Versions of the software that wrote this directory (python, tensorflow, transformers, ...). */
  public Map<String, String> versions() {
    Map<String, String> v = new LinkedHashMap<>();
    manifest.path("versions").fields().forEachRemaining(e -> v.put(e.getKey(), e.getValue().asText()));
    return v;
  }

  /** The machine that wrote this directory (CPU model, instruction-set flags), as far as recorded. */
  public Map<String, String> machine() {
    Map<String, String> v = new LinkedHashMap<>();
    manifest.path("machine").fields().forEachRemaining(e -> v.put(e.getKey(), e.getValue().asText()));
    return v;
  }

  /** A file named in the manifest's {@code files} table (e.g. {@code model_dir}, {@code tf_model_h5}). */
  public Path file(String key) {
    JsonNode f = manifest.path("files").get(key);
    if (f == null || !f.isTextual()) {
      throw new IllegalArgumentException(where() + ": files." + key + ": expected a path, found "
          + (f == null ? "nothing" : f));
    }
    return inside(f.asText(), "files." + key);
  }

  /** The model directory the reference was computed with ({@code files.model_dir}). */
  public Path modelDir() {
    return file("model_dir");
  }

  /** The directory holding the PyTorch-format weights ({@code files.pt_model_dir}). */
  public Path ptModelDir() {
    return file("pt_model_dir");
  }

  public boolean hasSavedModel() {
    JsonNode sm = manifest.path("saved_model");
    return sm.isObject() && (sm.path("dir").isTextual() || sm.path("zip").isTextual());
  }

  /** The exported SavedModel's version directory ({@code .../1}), unpacked to a temporary directory if zipped. */
  public synchronized Path savedModelDir() throws IOException {
    if (!hasSavedModel()) {
      throw new IllegalArgumentException(dir + ": this reference has no SavedModel");
    }
    JsonNode sm = manifest.path("saved_model");
    String version = sm.path("version").asText("1");
    if (sm.path("dir").isTextual()) {
      return inside(sm.get("dir").asText(), "saved_model.dir").resolve(version);
    }
    if (unpacked == null) {
      Path tmp = Files.createTempDirectory("tf-lxmert-ref-sm");
      unzip(inside(sm.get("zip").asText(), "saved_model.zip"), tmp);
      unpacked = tmp;
    }
    return unpacked.resolve(version);
  }

  public List<Case> cases() {
    return cases;
  }

  public Case caseNamed(String name) {
    return cases.stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow(() ->
        new IllegalArgumentException(dir + ": no case named " + name + "; cases are "
            + cases.stream().map(Case::name).toList()));
  }

  static void unzip(Path zip, Path target) throws IOException {
    long total = 0;
    try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
      ZipEntry e;
      byte[] buf = new byte[1 << 16];
      while ((e = in.getNextEntry()) != null) {
        Path out = target.resolve(e.getName()).normalize();
        if (!out.startsWith(target)) {
          throw new IllegalArgumentException(zip + ": entry " + e.getName() + " points outside the archive");
        }
        if (e.isDirectory()) {
          Files.createDirectories(out);
          continue;
        }
        Files.createDirectories(out.getParent());
        try (var os = Files.newOutputStream(out)) {
          int n;
          while ((n = in.read(buf)) > 0) {
            total += n;
            if (total > MAX_UNZIPPED) {
              throw new IllegalArgumentException(zip + ": unpacks to more than " + MAX_UNZIPPED + " bytes");
            }
            os.write(buf, 0, n);
          }
        }
      }
    }
  }

  @Override
  public synchronized void close() {
    if (unpacked != null) {
      try (Stream<Path> s = Files.walk(unpacked)) {
        for (Iterator<Path> it = s.sorted(Comparator.reverseOrder()).iterator(); it.hasNext(); ) {
          Files.deleteIfExists(it.next());
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      unpacked = null;
    }
  }

  /** One input case: its inputs, the reference outputs, and Python's own noise per output. Thread-safe. */
  public static final class Case {
    private final ReferenceDirectory ref;
    private final JsonNode node;

    Case(ReferenceDirectory ref, JsonNode node) {
      this.ref = ref;
      this.node = node;
    }

    public String name() {
      return node.path("name").asText();
    }

    public String description() {
      return node.path("description").asText("");
    }

    public ReferenceDirectory reference() {
      return ref;
    }

    public List<String> inputNames() {
      List<String> names = new ArrayList<>();
      node.path("inputs").fieldNames().forEachRemaining(names::add);
      return names;
    }

    /** Every input as stored (int or float), by name, in manifest order. */
    public Map<String, NpyArray> inputs() throws IOException {
      Map<String, NpyArray> m = new LinkedHashMap<>();
      for (String n : inputNames()) {
        m.put(n, load(node.path("inputs"), n));
      }
      return m;
    }

    /** Output names recorded for this case, in manifest order. */
    public List<String> outputNames() {
      List<String> names = new ArrayList<>();
      node.path("outputs").fieldNames().forEachRemaining(names::add);
      return names;
    }

    public FloatArray output(String name) throws IOException {
      return load(node.path("outputs"), name).toFloatArray();
    }

    /** Every recorded output, by name, in manifest order. */
    public Map<String, FloatArray> outputs() throws IOException {
      Map<String, FloatArray> m = new LinkedHashMap<>();
      for (String n : outputNames()) {
        m.put(n, output(n));
      }
      return m;
    }

    /**
     * Python's own deviation for one output: the max abs difference between the eager and the traced run of the
     * reference model, or null when the reference did not record it (format 1, or a case eager Python cannot run).
     */
    public Double pythonNoise(String output) {
      JsonNode n = node.path("outputs").path(output).path("python_noise").path("max_abs");
      return n.isNumber() ? n.asDouble() : null;
    }

    /** {@link #pythonNoise(String)} for every output that has it. */
    public Map<String, Double> pythonNoise() {
      Map<String, Double> m = new LinkedHashMap<>();
      for (String n : outputNames()) {
        Double d = pythonNoise(n);
        if (d != null) {
          m.put(n, d);
        }
      }
      return m;
    }

    /**
     * Holds {@code actual} against every output of this case that {@code actual} was asked for: {@code only}
     * names the outputs to compare (null: all recorded outputs).
     */
    public ParityReport compare(String title, Map<String, FloatArray> actual, ParityOptions options,
                                Set<String> only) throws IOException {
      Map<String, FloatArray> expected = new LinkedHashMap<>();
      for (String n : outputNames()) {
        if (only == null || only.contains(n)) {
          expected.put(n, output(n));
        }
      }
      return ParityReport.compare(title, expected, actual, options, pythonNoise(), ref.order);
    }

    private NpyArray load(JsonNode table, String name) throws IOException {
      JsonNode e = table.get(name);
      if (e == null || !e.path("file").isTextual()) {
        throw new IllegalArgumentException(ref.where() + ": case " + name() + ": tensor " + name + ": expected an "
            + "entry with a file, found " + (e == null ? "nothing" : e));
      }
      NpyArray a = Npy.read(ref.inside(e.path("file").asText(), "case " + name() + " tensor " + name + " file"));
      if (e.has("shape")) {
        long[] declared;
        try {
          declared = JSON.convertValue(e.path("shape"), long[].class);
        } catch (IllegalArgumentException x) {
          throw new IllegalArgumentException(ref.where() + ": case " + name() + " tensor " + name
              + " shape: expected an array of integers, found " + e.path("shape"), x);
        }
        if (!Arrays.equals(declared, a.shape())) {
          throw new IllegalArgumentException(a.source() + ": manifest says shape " + Arrays.toString(declared)
              + ", file has " + Arrays.toString(a.shape()));
        }
      }
      return a;
    }

    @Override
    public String toString() {
      return ref.name() + "/" + name();
    }
  }
}
