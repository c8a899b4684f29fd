package io.github.tflxmert.reference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.IntArray;
import io.github.tflxmert.LxmertConfig;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.array.Npy;
import io.github.tflxmert.array.NpyArray;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * A reference directory written by {@code parity-tests/python/export_reference.py}: {@code manifest.json}, the
 * model saved by Hugging Face ({@code model/}, {@code model-pt/}, a SavedModel as {@code saved_model/} or
 * {@code saved_model.zip}) and, per input case, the inputs and every output of the Python model as {@code .npy}
 * (format in the README, "Reference directory format").
 *
 * <p>Closing deletes the temporary directory a zipped SavedModel was unpacked into; the caller that opened
 * the directory closes it. Not thread-safe while a zipped SavedModel is first unpacked; otherwise read-only.
 */
public final class ReferenceDirectory implements AutoCloseable {
  public static final String FORMAT = "tf-lxmert-reference/1";
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Largest manifest.json read (the fixtures' are about 20 KB). */
  private static final long MAX_MANIFEST = 64L << 20;
  /** Largest entry unpacked from saved_model.zip, and largest total. */
  private static final long MAX_UNZIPPED = 2L << 30;

  private final Path dir;
  private final JsonNode manifest;
  private final LxmertConfig config;
  private final List<Case> cases;
  private Path unpacked;

  private ReferenceDirectory(Path dir, JsonNode manifest) {
    this.dir = dir;
    this.manifest = manifest;
    String format = manifest.path("format").asText("");
    if (!FORMAT.equals(format)) {
      throw new IllegalArgumentException(dir.resolve("manifest.json") + ": field format: expected \"" + FORMAT
          + "\", found \"" + format + "\"");
    }
    JsonNode cfg = manifest.get("config");
    if (cfg == null || !cfg.isObject()) {
      throw new IllegalArgumentException(dir.resolve("manifest.json") + ": field config: expected an object with the "
          + "fields of config.json, found " + (cfg == null ? "nothing" : cfg.getNodeType().toString().toLowerCase()));
    }
    this.config = LxmertConfig.fromJsonString(cfg.toString(), dir.resolve("manifest.json") + " config");
    List<Case> cs = new ArrayList<>();
    for (JsonNode c : manifest.path("cases")) {
      cs.add(new Case(this, c));
    }
    if (cs.isEmpty()) {
      throw new IllegalArgumentException(dir.resolve("manifest.json") + ": field cases: expected at least one case, found none");
    }
    this.cases = List.copyOf(cs);
  }

  /** Opens a reference directory. @throws IllegalArgumentException if its manifest is missing or malformed */
  public static ReferenceDirectory open(Path dir) throws IOException {
    Path m = dir.resolve("manifest.json");
    if (!Files.isRegularFile(m)) {
      throw new IllegalArgumentException(dir + ": not a reference directory (expected manifest.json, found none)");
    }
    long size = Files.size(m);
    if (size > MAX_MANIFEST) {
      throw new IllegalArgumentException(m + ": expected a manifest of at most " + MAX_MANIFEST + " bytes, found "
          + size + " bytes");
    }
    return open(dir, Files.readAllBytes(m));
  }

  /**
   * Opens a reference directory with the given manifest text in place of its {@code manifest.json} (for tools
   * that rewrite manifests, and for fuzzing the manifest reader). Files the manifest names are still read from
   * {@code dir}, and only from inside it.
   *
   * @throws IllegalArgumentException if the manifest is malformed, naming the field, expected and found
   */
  public static ReferenceDirectory open(Path dir, byte[] manifestJson) {
    Path m = dir.resolve("manifest.json");
    JsonNode root;
    try {
      root = JSON.readTree(manifestJson);
    } catch (IOException e) { // JsonProcessingException; nothing else can fail on a byte array
      throw new IllegalArgumentException(m + ": not valid JSON: " + (e instanceof
          com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()), e);
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException(m + ": expected a JSON object, found "
          + (root == null ? "nothing" : root.getNodeType().toString().toLowerCase()));
    }
    return new ReferenceDirectory(dir, root);
  }

  /** {@code relative} resolved against the directory; it must not point outside it. */
  Path inside(String relative, String what) {
    Path base = dir.toAbsolutePath().normalize();
    Path p;
    try {
      p = base.resolve(relative).normalize();
    } catch (java.nio.file.InvalidPathException e) {
      throw new IllegalArgumentException(dir.resolve("manifest.json") + ": " + what + ": expected a path inside "
          + dir + ", found \"" + relative + "\" (" + e.getReason() + ")", e);
    }
    if (!p.startsWith(base) || p.equals(base)) {
      throw new IllegalArgumentException(dir.resolve("manifest.json") + ": " + what + ": expected a file inside "
          + dir + ", found \"" + relative + "\"");
    }
    // The text check above cannot see symbolic links: compare where the file really is (a missing file is left
    // for the reader to report).
    if (Files.exists(p)) {
      try {
        Path real = p.toRealPath();
        if (!real.startsWith(base.toRealPath())) {
          throw new IllegalArgumentException(dir.resolve("manifest.json") + ": " + what + ": expected a file inside "
              + dir + ", found \"" + relative + "\", a symbolic link to a file outside it (not read)");
        }
      } catch (IOException e) {
        throw new IllegalArgumentException(dir.resolve("manifest.json") + ": " + what + ": cannot resolve \""
            + relative + "\": " + e.getMessage(), e);
      }
    }
    return p;
  }

  public Path dir() {
    return dir;
  }

  public String name() {
    return manifest.path("name").asText(dir.getFileName().toString());
  }

  public LxmertConfig config() {
    return config;
  }

  public JsonNode manifest() {
    return manifest;
  }

  /** Versions of python, tensorflow, tf_keras, transformers, numpy that wrote this directory. */
  public Map<String, String> versions() {
    Map<String, String> v = new LinkedHashMap<>();
    manifest.path("versions").fields().forEachRemaining(e -> v.put(e.getKey(), e.getValue().asText()));
    return v;
  }

  /** A file named in the manifest's {@code files} table (e.g. {@code tf_model_h5}, {@code pt_model_dir}). */
  public Path file(String key) {
    JsonNode f = manifest.path("files").get(key);
    if (f == null || f.isNull()) {
      throw new IllegalArgumentException(dir.resolve("manifest.json") + ": files." + key + " is not present");
    }
    return dir.resolve(f.asText());
  }

  /** The HF model directory (config.json, tf_model.h5, TF-format model.safetensors, vocab.txt). */
  public Path modelDir() {
    return file("model_dir");
  }

  /** The directory holding the PyTorch-format model.safetensors. */
  public Path ptModelDir() {
    return file("pt_model_dir");
  }

  public boolean hasSavedModel() {
    JsonNode sm = manifest.path("saved_model");
    return sm.isObject() && (!sm.path("dir").isNull() && sm.has("dir") || !sm.path("zip").isNull() && sm.has("zip"));
  }

  /**
   * The Python-exported SavedModel's version directory ({@code .../1}), unpacked into a temporary directory
   * first when stored as a zip.
   */
  public synchronized Path savedModelDir() throws IOException {
    JsonNode sm = manifest.path("saved_model");
    if (!hasSavedModel()) {
      throw new IllegalArgumentException(dir + ": this reference has no SavedModel");
    }
    String version = sm.path("version").asText("1");
    if (sm.hasNonNull("dir")) {
      return dir.resolve(sm.get("dir").asText()).resolve(version);
    }
    if (unpacked == null) {
      Path tmp = Files.createTempDirectory("tf-lxmert-ref-sm");
      unzip(dir.resolve(sm.get("zip").asText()), tmp);
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

  /** One input case: its inputs and the Python model's outputs. */
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

    /** The case's inputs as {@link LxmertInputs} (not yet validated against a config). */
    public LxmertInputs inputs() throws IOException {
      try {
        return buildInputs();
      } catch (IllegalArgumentException e) {
        if (e.getMessage() != null && e.getMessage().contains(ref.dir.toString())) {
          throw e; // already names a file of this directory
        }
        throw new IllegalArgumentException(ref.dir + ": case " + name() + ": " + e.getMessage(), e);
      }
    }

    private LxmertInputs buildInputs() throws IOException {
      LxmertInputs.Builder b = LxmertInputs.builder()
          .inputIds(intInput("input_ids"))
          .visualFeats(floatTensor(node.path("inputs"), "visual_feats"))
          .visualPos(floatTensor(node.path("inputs"), "visual_pos"));
      if (node.path("inputs").has("attention_mask")) {
        b.attentionMask(intInput("attention_mask"));
      }
      if (node.path("inputs").has("token_type_ids")) {
        b.tokenTypeIds(intInput("token_type_ids"));
      }
      if (node.path("inputs").has("visual_attention_mask")) {
        b.visualAttentionMask(intInput("visual_attention_mask"));
      }
      return b.build();
    }

    /** Output names recorded for this case, in manifest order. */
    public List<String> outputNames() {
      List<String> names = new ArrayList<>();
      node.path("outputs").fieldNames().forEachRemaining(names::add);
      return names;
    }

    public FloatArray output(String name) throws IOException {
      return floatTensor(node.path("outputs"), name);
    }

    /** Every recorded output, by name. */
    public Map<String, FloatArray> outputs() throws IOException {
      Map<String, FloatArray> m = new LinkedHashMap<>();
      for (String n : outputNames()) {
        m.put(n, output(n));
      }
      return m;
    }

    private IntArray intInput(String name) throws IOException {
      return load(node.path("inputs"), name).toIntArray();
    }

    private FloatArray floatTensor(JsonNode table, String name) throws IOException {
      return load(table, name).toFloatArray();
    }

    private NpyArray load(JsonNode table, String name) throws IOException {
      JsonNode e = table.get(name);
      if (e == null) {
        throw new IllegalArgumentException(ref.dir + ": case " + name() + " has no tensor " + name);
      }
      NpyArray a = Npy.read(ref.inside(e.path("file").asText(), "case " + name() + " tensor " + name + " file"));
      long[] declared;
      try {
        declared = JSON.convertValue(e.path("shape"), long[].class);
      } catch (IllegalArgumentException x) {
        throw new IllegalArgumentException(ref.dir.resolve("manifest.json") + ": case " + name() + " tensor " + name
            + " shape: expected an array of integers, found " + e.path("shape"), x);
      }
      if (!Arrays.equals(declared, a.shape())) {
        throw new IllegalArgumentException(a.source() + ": manifest says shape " + Arrays.toString(declared)
            + ", file has " + Arrays.toString(a.shape()));
      }
      return a;
    }

    @Override
    public String toString() {
      return ref.name() + "/" + name();
    }

    /** Unused by the reader itself; lets tests open raw files next to the manifest. */
    public InputStream open(String relative) throws IOException {
      return Files.newInputStream(ref.dir.resolve(relative));
    }
  }
}
