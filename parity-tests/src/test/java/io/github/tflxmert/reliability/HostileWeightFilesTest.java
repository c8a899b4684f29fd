package io.github.tflxmert.reliability;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.LoadOptions;
import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.parity.LxmertReference;
import io.github.tflxmert.weights.H5WeightSource;
import io.github.tflxmert.weights.SafetensorsWeightSource;
import io.github.tflxmert.weights.WeightSource;
import io.github.tflxmert.weights.WeightSources;
import io.jhdf.HdfFile;
import io.jhdf.WritableHdfFile;
import io.jhdf.api.Dataset;
import io.jhdf.api.Group;
import io.jhdf.api.WritableGroup;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Hostile checkpoints: truncated, bit-flipped and structurally broken {@code tf_model.h5} and
 * {@code model.safetensors}, other float dtypes, and checkpoints that do not match their config. Each must give
 * an {@link IllegalArgumentException} naming the file (never another exception, never a native crash) with
 * bounded memory, or load with the right values. Hostile copies are made from the tiny fixture in a temp
 * directory; the few HDF5 files jhdf cannot write come from {@code python/make_hostile_files.py}.
 */
class HostileWeightFilesTest {
  @TempDir
  static Path tmp;

  static LxmertConfig config;
  static byte[] h5;
  static byte[] safetensors;
  static LxmertReference ref;

  @BeforeAll
  static void load() throws IOException {
    ref = LxmertReference.open(Fixtures.tiny());
    config = ref.config();
    h5 = Fixtures.read(Fixtures.tinyModel().resolve("tf_model.h5"));
    safetensors = Fixtures.read(Fixtures.tinyModel().resolve("model.safetensors"));
  }

  @AfterAll
  static void close() {
    ref.close();
  }

  static Path write(String name, byte[] bytes) throws IOException {
    Path dir = Files.createTempDirectory(tmp, "case");
    Path f = dir.resolve(name);
    Files.write(f, bytes);
    return f;
  }

  /** Opens the checkpoint and reads every tensor, as the loader would. */
  static Map<String, float[]> readAll(Path file) throws IOException {
    try (WeightSource src = WeightSources.open(file)) {
      return readAll(src);
    }
  }

  /** Every tensor of an open source, by name. */
  static Map<String, float[]> readAll(WeightSource src) throws IOException {
    Map<String, float[]> out = new LinkedHashMap<>();
    for (WeightSource.Entry e : src.entries().values()) {
      ByteBuffer b = ByteBuffer.allocate((int) e.elements() * 4).order(ByteOrder.LITTLE_ENDIAN);
      src.read(e.name(), b);
      float[] f = new float[(int) e.elements()];
      b.flip().asFloatBuffer().get(f);
      out.put(e.name(), f);
    }
    return out;
  }

  static IllegalArgumentException rejects(Path file, String... fragments) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> readAll(file));
    assertNamesFile(e, file, fragments);
    return e;
  }

  static void assertNamesFile(Exception e, Path file, String... fragments) {
    assertTrue(e.getMessage().contains(file.toString()), "message should name " + file + ": " + e.getMessage());
    for (String f : fragments) {
      assertTrue(e.getMessage().contains(f), "message lacks \"" + f + "\": " + e.getMessage());
    }
  }

  static long allocatedBytes() {
    return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
  }

  // ---------------------------------------------------------------------------------------------- tf_model.h5

  @ParameterizedTest(name = "truncated to {0} of 1000")
  @ValueSource(ints = {0, 1, 5, 10, 50, 100, 250, 500, 750, 900, 990, 999})
  void truncatedH5(int perMille) throws IOException {
    int len = (int) ((long) h5.length * perMille / 1000);
    Path f = write("tf_model.h5", Arrays.copyOf(h5, len));
    rejects(f);
  }

  /** The last byte is padding nothing reads; the superblock's recorded size still shows the cut. */
  @Test
  void h5CutByOneByteIsReportedAsTruncated() throws IOException {
    Path f = write("tf_model.h5", Arrays.copyOf(h5, h5.length - 1));
    rejects(f, "truncated: the HDF5 superblock records " + h5.length + " bytes, found " + (h5.length - 1));
  }

  /**
   * 300 seeded single-bit flips anywhere in the file: each either loads (HDF5 as Keras writes it has no checksum,
   * so a flip in a data region, or in metadata jhdf does not check, reads as a different number or name) or is
   * rejected naming the file. Nothing else may escape.
   */
  @Test
  void bitFlippedH5LoadsOrIsRejectedCleanly() throws IOException {
    Random rnd = new Random(8);
    int loaded = 0;
    int rejected = 0;
    Path f = tmp.resolve("flipped.h5");
    for (int i = 0; i < 300; i++) {
      byte[] b = h5.clone();
      int pos = i % 2 == 0 ? rnd.nextInt(8192) : rnd.nextInt(b.length); // half in the first metadata blocks
      b[pos] ^= (byte) (1 << rnd.nextInt(8));
      Files.write(f, b);
      try {
        readAll(f);
        loaded++;
      } catch (IllegalArgumentException e) {
        assertNamesFile(e, f);
        rejected++;
      }
    }
    System.out.println("bit-flipped tf_model.h5: " + loaded + " loaded, " + rejected + " rejected");
    assertTrue(rejected > 0 && loaded > 0);
  }

  /**
   * Regression: byte 1715 of the tiny tf_model.h5 is in the length field of a group's local heap. Set to 82 the
   * length becomes about 1.4 GB; jhdf's file reader allocated a heap buffer of that size before finding the region
   * outside the file (OutOfMemoryError under a 512 MiB heap). Files are now read through a mapping that bounds
   * every region by the file.
   */
  @Test
  void corruptLocalHeapLengthIsRejectedWithoutAllocatingIt() throws IOException {
    byte[] b = h5.clone();
    b[1715] = 82;
    Path f = write("tf_model.h5", b);
    long before = allocatedBytes();
    rejects(f); // now: the group's children cannot be listed, so a weight_names entry has no dataset
    long allocated = allocatedBytes() - before;
    assertTrue(allocated < 64L << 20, "allocated " + (allocated >> 20) + " MiB while rejecting");
  }

  /** A flip inside a dataset's data is not detectable: the file loads with exactly one different number. */
  @Test
  void bitFlipInH5DataLoadsADifferentNumber() throws IOException {
    Map<String, float[]> original = readAll(Fixtures.tinyModel().resolve("tf_model.h5"));
    String name = "lxmert/encoder/layer_._0/attention/self/query/kernel";
    float[] w = original.get(name);
    ByteBuffer needle = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < 16; i++) {
      needle.putFloat(w[i]);
    }
    int at = indexOf(h5, needle.array());
    assertTrue(at > 0, "data of " + name + " found in the file");
    byte[] b = h5.clone();
    b[at + 4 * 3 + 2] ^= 0x10; // a mantissa bit of element 3
    Map<String, float[]> flipped = readAll(write("tf_model.h5", b));
    int differing = 0;
    for (Map.Entry<String, float[]> e : original.entrySet()) {
      float[] g = flipped.get(e.getKey());
      for (int i = 0; i < g.length; i++) {
        if (Float.floatToIntBits(g[i]) != Float.floatToIntBits(e.getValue()[i])) {
          differing++;
          assertEquals(name, e.getKey());
          assertEquals(3, i);
        }
      }
    }
    assertEquals(1, differing);
  }

  static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  @Test
  void h5Float16AndFloat64DatasetsAreConverted() throws IOException {
    Path f = Fixtures.hostile("dtypes.h5");
    Map<String, float[]> m = readAll(f);
    // float16 converts exactly (every half is a float): 1/3 is stored as 0.333251953125.
    assertArrayEquals(new float[] {0f, -0f, 1f, -2f, 65504f, 0x1p-14f, 0x1p-24f, Float.POSITIVE_INFINITY,
        Float.NEGATIVE_INFINITY, Float.NaN, 0.333251953125f, -1.5f}, m.get("lxmert/f16"));
    // float64 rounds to nearest, as numpy's astype(float32): overflow to infinity, 1e-40 to a subnormal.
    assertArrayEquals(new float[] {0f, -0f, 1f, (float) (1.0 / 3), (float) 1e-40, Float.MAX_VALUE,
        Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 0.1f}, m.get("lxmert/f64"));
    assertArrayEquals(new float[] {1.5f, -2.25f, 3.4e38f, 1e-45f}, m.get("lxmert/f32be"));
    assertArrayEquals(new float[] {0.1f, -0.2f, 0f, 2.5f}, m.get("lxmert/f64be"));
    float[] chunked = new float[12];
    for (int i = 0; i < 12; i++) {
      chunked[i] = i / 7f;
    }
    assertArrayEquals(chunked, m.get("lxmert/f32_chunked_gzip"));
    float[] halfChunked = m.get("lxmert/f16_chunked");
    for (int i = 0; i < 12; i++) {
      assertEquals(chunked[i], halfChunked[i], Math.ulp(chunked[i]) * 8192 + 1e-7, "float16 of " + chunked[i]);
    }
  }

  /** The whole tiny model stored as float64 (exact for float32 values) gives the float32 model's outputs bit for bit. */
  @Test
  void float64CheckpointsGiveTheSameOutputs() throws IOException {
    Path h5f64 = tmp.resolve("f64/tf_model.h5");
    Files.createDirectories(h5f64.getParent());
    rewriteH5AsFloat64(Fixtures.tinyModel().resolve("tf_model.h5"), h5f64);
    Path stf64 = write("model.safetensors", safetensorsAsFloat64(safetensors));
    LxmertReference.Case c = ref.caseNamed("b3_padded");
    OutputSelection sel = OutputSelection.all(config);
    Map<String, FloatArray> f32;
    try (LxmertForPreTraining m = LxmertForPreTraining.create(config, Fixtures.tinyModel().resolve("tf_model.h5"),
        LoadOptions.defaults())) {
      f32 = m.predict(c.inputs(), sel).asMap();
    }
    for (Path p : List.of(h5f64, stf64)) {
      try (WeightSource src = WeightSources.open(p)) {
        assertTrue(src.entries().values().stream().allMatch(e -> e.dtype().equals("float64") || e.dtype().equals("F64")));
      }
      try (LxmertForPreTraining m = LxmertForPreTraining.create(config, p, LoadOptions.defaults())) {
        assertEquals(f32, m.predict(c.inputs(), sel).asMap(), p.toString());
      }
    }
  }

  static void rewriteH5AsFloat64(Path in, Path out) {
    try (HdfFile src = new HdfFile(in); WritableHdfFile dst = HdfFile.write(out)) {
      String[] layers = (String[]) src.getAttribute("layer_names").getData();
      dst.putAttribute("layer_names", layers);
      for (String layer : layers) {
        Group g = (Group) src.getChild(layer);
        String[] names = (String[]) g.getAttribute("weight_names").getData();
        WritableGroup wg = dst.putGroup(layer);
        wg.putAttribute("weight_names", names);
        Map<String, WritableGroup> groups = new HashMap<>();
        for (String name : names) {
          String[] parts = name.split("/");
          WritableGroup at = wg;
          String path = "";
          for (int i = 0; i < parts.length - 1; i++) {
            path += "/" + parts[i];
            WritableGroup parent = at;
            String part = parts[i];
            at = groups.computeIfAbsent(path, k -> parent.putGroup(part));
          }
          Dataset ds = src.getDatasetByPath(layer + "/" + name);
          at.putDataset(parts[parts.length - 1], toDouble(ds.getData()));
        }
      }
    }
  }

  static Object toDouble(Object data) {
    if (data instanceof float[] f) {
      double[] d = new double[f.length];
      for (int i = 0; i < f.length; i++) {
        d[i] = f[i];
      }
      return d;
    }
    Object[] rows = (Object[]) data;
    double[][] d = new double[rows.length][];
    for (int i = 0; i < rows.length; i++) {
      d[i] = (double[]) toDouble(rows[i]);
    }
    return d;
  }

  static byte[] safetensorsAsFloat64(byte[] file) {
    Fixtures.Safetensors st = Fixtures.Safetensors.parse(file);
    ByteBuffer in = ByteBuffer.wrap(st.data()).order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer out = ByteBuffer.allocate(st.data().length * 2).order(ByteOrder.LITTLE_ENDIAN);
    for (Iterator<Map.Entry<String, com.fasterxml.jackson.databind.JsonNode>> it = st.header().fields(); it.hasNext(); ) {
      Map.Entry<String, com.fasterxml.jackson.databind.JsonNode> e = it.next();
      if (e.getKey().equals("__metadata__")) {
        continue;
      }
      ObjectNode t = (ObjectNode) e.getValue();
      long begin = t.get("data_offsets").get(0).asLong();
      long end = t.get("data_offsets").get(1).asLong();
      t.put("dtype", "F64");
      ((ArrayNode) t.get("data_offsets")).removeAll().add(begin * 2).add(end * 2);
      for (long i = begin; i < end; i += 4) {
        out.putDouble((int) i * 2, in.getFloat((int) i));
      }
    }
    return new Fixtures.Safetensors(st.header(), out.array()).toBytes();
  }

  @Test
  void h5StructuralProblemsNameTheFileAndWhatIsWrong() throws IOException {
    rejects(Fixtures.hostile("no_layer_names.h5"), "expected a Keras weights file with a root attribute layer_names");
    rejects(Fixtures.hostile("missing_group.h5"), "layer_names lists answer_head but the file has no group /answer_head");
    rejects(Fixtures.hostile("no_weight_names.h5"), "group /cls has no weight_names attribute");
    rejects(Fixtures.hostile("dangling_weight_name.h5"), "weight_names of /lxmert lists model/lxmert/not_there:0",
        "there is no dataset /lxmert/model/lxmert/not_there:0");
    rejects(Fixtures.hostile("int_dataset.h5"), "/lxmert/model/lxmert/ids:0: expected a floating-point dataset",
        "found FixedPoint");
  }

  /** The answer_head group renamed in place (every occurrence, so the file stays consistent): its weights are missing. */
  @Test
  void h5WithoutAGroupTheModelNeedsListsTheMissingWeights() throws IOException {
    byte[] b = replaceAll(h5, "answer_head", "answer_hexd");
    Path f = write("tf_model.h5", b);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LxmertForPreTraining.create(config, f, LoadOptions.defaults()));
    assertNamesFile(e, f, "weight(s) missing from the checkpoint", "answer_head/logit_fc_._0/kernel",
        "answer_head/logit_fc_._3/bias");
  }

  @Test
  void h5WithoutWeightNamesIsRejected() throws IOException {
    Path f = write("tf_model.h5", replaceAll(h5, "weight_names", "weight_namez"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LxmertForPreTraining.create(config, f, LoadOptions.defaults()));
    assertNamesFile(e, f, "has no weight_names attribute");
  }

  static byte[] replaceAll(byte[] hay, String from, String to) {
    byte[] a = from.getBytes(StandardCharsets.US_ASCII);
    byte[] r = to.getBytes(StandardCharsets.US_ASCII);
    byte[] b = hay.clone();
    int count = 0;
    for (int i = 0; i + a.length <= b.length; i++) {
      if (Arrays.equals(b, i, i + a.length, a, 0, a.length)) {
        System.arraycopy(r, 0, b, i, r.length);
        count++;
      }
    }
    assertTrue(count > 0, from + " not found");
    return b;
  }

  // ---------------------------------------------------------------------------------------- model.safetensors

  static byte[] withHeaderLength(byte[] file, long len) {
    byte[] b = file.clone();
    ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(len);
    return b;
  }

  @Test
  void safetensorsHeaderLengthsOutsideTheFile() throws IOException {
    int size = safetensors.length;
    rejects(write("model.safetensors", withHeaderLength(safetensors, size)),
        "header length: expected 1 to " + (size - 8), "found " + size);
    rejects(write("model.safetensors", withHeaderLength(safetensors, -1)), "header length", "found 18446744073709551615");
    rejects(write("model.safetensors", withHeaderLength(safetensors, 0)), "header length", "found 0");
    rejects(write("model.safetensors", new byte[5]), "expected at least 8 bytes (the header length), found 5");
    rejects(write("model.safetensors", new byte[0]), "found 0");
  }

  /** A header length just above the 100 MiB cap, in a (sparse) file that really is that long: no allocation. */
  @Test
  void safetensorsHeaderJustAboveTheCapIsRejectedWithoutAllocatingIt() throws IOException {
    Path f = tmp.resolve("huge-header.safetensors");
    long len = SafetensorsWeightSource.MAX_HEADER + 1;
    try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
      raf.setLength(8 + len + 16);
      raf.write(withHeaderLength(new byte[8], len));
    }
    long before = allocatedBytes();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WeightSources.open(f));
    long allocated = allocatedBytes() - before;
    assertNamesFile(e, f, "header length: expected at most 104857600 bytes", "found 104857601");
    assertTrue(allocated < 4 << 20, "allocated " + allocated + " bytes while rejecting");
  }

  static byte[] editHeader(java.util.function.Consumer<ObjectNode> edit) {
    Fixtures.Safetensors st = Fixtures.Safetensors.parse(safetensors);
    edit.accept(st.header());
    return st.toBytes();
  }

  static ObjectNode tensor(ObjectNode header, String name) {
    return (ObjectNode) header.get(name);
  }

  static final String QUERY = "lxmert/encoder/layer_._0/attention/self/query/kernel:0";
  static final String KEY = "lxmert/encoder/layer_._0/attention/self/key/kernel:0";

  @Test
  void safetensorsOverlappingOffsets() throws IOException {
    Path f = write("model.safetensors", editHeader(h -> {
      ArrayNode q = (ArrayNode) tensor(h, QUERY).get("data_offsets");
      long begin = q.get(0).asLong() + 4;
      ArrayNode k = (ArrayNode) tensor(h, KEY).get("data_offsets");
      long n = k.get(1).asLong() - k.get(0).asLong();
      k.removeAll().add(begin).add(begin + n);
    }));
    rejects(f, "overlap", QUERY, KEY);
  }

  @Test
  void safetensorsOffsetsOutOfRange() throws IOException {
    long dataLen = Fixtures.Safetensors.parse(safetensors).data().length;
    Path past = write("model.safetensors", editHeader(h -> ((ArrayNode) tensor(h, QUERY).get("data_offsets"))
        .removeAll().add(dataLen - 4).add(dataLen + 3132 - 4)));
    rejects(past, QUERY, "outside the data section of " + dataLen + " bytes");
    Path negative = write("model.safetensors", editHeader(h -> ((ArrayNode) tensor(h, QUERY).get("data_offsets"))
        .removeAll().add(-8).add(3128)));
    rejects(negative, QUERY, "data_offsets [-8, 3128) outside the data section");
    Path reversed = write("model.safetensors", editHeader(h -> ((ArrayNode) tensor(h, QUERY).get("data_offsets"))
        .removeAll().add(3136).add(0)));
    rejects(reversed, QUERY, "outside the data section");
    Path huge = write("model.safetensors", editHeader(h -> ((ArrayNode) tensor(h, QUERY).get("data_offsets"))
        .removeAll().add(0).add(new java.math.BigInteger("18446744073709551616"))));
    rejects(huge, QUERY, "data_offsets: expected two integers below 2^63", "found [0,18446744073709551616]");
    Path size = write("model.safetensors", editHeader(h -> ((ArrayNode) tensor(h, QUERY).get("shape"))
        .removeAll().add(28).add(29)));
    rejects(size, QUERY, "F32 [28, 29] needs 3248 bytes, data_offsets give 3136");
  }

  @Test
  void safetensorsUnknownDtypeAndBadShapes() throws IOException {
    rejects(write("model.safetensors", editHeader(h -> tensor(h, QUERY).put("dtype", "C64"))), QUERY,
        "unknown dtype \"C64\"");
    rejects(write("model.safetensors", editHeader(h -> tensor(h, QUERY).put("dtype", "float32"))), QUERY,
        "unknown dtype \"float32\"");
    rejects(write("model.safetensors", editHeader(h -> ((ArrayNode) tensor(h, QUERY).get("shape")).add(-1))),
        QUERY, "bad dimension -1");
    rejects(write("model.safetensors", editHeader(h -> ((ArrayNode) tensor(h, QUERY).get("shape")).removeAll()
        .add(1L << 40).add(1L << 40))), QUERY, "size overflows");
    rejects(write("model.safetensors", editHeader(h -> tensor(h, QUERY).remove("shape"))), QUERY,
        "expected a shape array and two data_offsets");
  }

  @Test
  void safetensorsHeaderThatIsNotJsonOrNotAnObject() throws IOException {
    byte[] data = Fixtures.Safetensors.parse(safetensors).data();
    rejects(write("model.safetensors", Fixtures.Safetensors.assemble("{\"a\": [1, 2".getBytes(StandardCharsets.UTF_8),
        data)), "header is not valid JSON");
    rejects(write("model.safetensors", Fixtures.Safetensors.assemble(new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1},
        data)), "header is not valid JSON");
    rejects(write("model.safetensors", Fixtures.Safetensors.assemble("[1, 2, 3]".getBytes(StandardCharsets.UTF_8),
        data)), "header is not a JSON object");
    rejects(write("model.safetensors", editHeader(h -> ((ObjectNode) h.get("__metadata__")).put("format", "flax"))),
        "metadata format: expected \"tf\" or \"pt\", found \"flax\"");
  }

  /** "x:0" next to "x" (TF) stand for the same weight; which one loaded used to depend on header order. */
  @Test
  void safetensorsTwoTensorsForOneName() throws IOException {
    Fixtures.Safetensors st = Fixtures.Safetensors.parse(safetensors);
    ObjectNode q = tensor(st.header(), QUERY);
    int begin = q.get("data_offsets").get(0).asInt();
    int end = q.get("data_offsets").get(1).asInt();
    byte[] data = Arrays.copyOf(st.data(), st.data().length + (end - begin));
    System.arraycopy(st.data(), begin, data, st.data().length, end - begin);
    ObjectNode dup = q.deepCopy();
    ((ArrayNode) dup.get("data_offsets")).removeAll().add(st.data().length).add(data.length);
    st.header().set(QUERY.replace(":0", ""), dup);
    rejects(write("model.safetensors", new Fixtures.Safetensors(st.header(), data).toBytes()),
        "both stand for " + QUERY.replace(":0", ""), "expected one tensor per name");
  }

  @Test
  void safetensorsOtherFloatDtypesConvert() throws IOException {
    try (SafetensorsWeightSource src = SafetensorsWeightSource.fromBytes(FuzzTargets.smallMixedDtypes(), "mixed")) {
      assertArrayEquals(new float[] {1f, -2f, 0.5f, 3.25f}, read(src, "a.weight"));
      assertArrayEquals(new float[] {1f, -2f, 65504f}, read(src, "b.weight"));
      assertArrayEquals(new float[] {1f, -3f}, read(src, "c.bias"));
      assertArrayEquals(new float[] {0.1f}, read(src, "d.weight")); // "d.gamma" normalised to HF's name
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> read(src, "e"));
      assertTrue(e.getMessage().contains("mixed e: expected a floating-point dtype"), e.getMessage());
      assertEquals(0, read(src, "f").length);
    }
  }

  static float[] read(WeightSource src, String name) throws IOException {
    WeightSource.Entry e = src.entries().get(name);
    ByteBuffer b = ByteBuffer.allocate((int) e.elements() * 4).order(ByteOrder.LITTLE_ENDIAN);
    src.read(name, b);
    float[] f = new float[(int) e.elements()];
    b.flip().asFloatBuffer().get(f);
    return f;
  }

  /** 300 seeded bit flips in the header: loads (a flipped digit may still be consistent) or rejected naming the file. */
  @Test
  void bitFlippedSafetensorsHeader() throws IOException {
    int headerEnd = 8 + (int) ByteBuffer.wrap(safetensors, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    Random rnd = new Random(9);
    Path f = tmp.resolve("flipped.safetensors");
    int rejected = 0;
    for (int i = 0; i < 300; i++) {
      byte[] b = safetensors.clone();
      b[rnd.nextInt(headerEnd)] ^= (byte) (1 << rnd.nextInt(8));
      Files.write(f, b);
      try {
        readAll(f);
      } catch (IllegalArgumentException e) {
        assertNamesFile(e, f);
        rejected++;
      }
    }
    assertTrue(rejected > 100, rejected + " of 300 rejected");
  }

  // ------------------------------------------------------------------------------ checkpoint vs config.json

  @Test
  void checkpointMissingAWeightListsIt() throws IOException {
    String gone = "lxmert/encoder/layer_._1/attention/self/query/kernel:0";
    Path f = write("model.safetensors", editHeader(h -> h.remove(gone)));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LxmertForPreTraining.create(config, f, LoadOptions.defaults()));
    assertNamesFile(e, f, "1 weight(s) missing from the checkpoint", "lxmert/encoder/layer_._1/attention/self/query/kernel");
  }

  @Test
  void checkpointWithTheWrongShapeNamesBothShapes() throws IOException {
    LxmertConfig wider = config.with(Map.of("intermediate_size", 65));
    Path f = Fixtures.tinyModel().resolve("model.safetensors");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LxmertForPreTraining.create(wider, f, LoadOptions.defaults()));
    assertNamesFile(e, f, "weight(s) with the wrong shape", "lxmert/encoder/layer_._0/intermediate/dense/kernel",
        "checkpoint [28, 64], model expects [28, 65]");
    LxmertConfig vocab = config.with(Map.of("vocab_size", 301));
    IllegalArgumentException v = assertThrows(IllegalArgumentException.class,
        () -> LxmertForPreTraining.create(vocab, f, LoadOptions.defaults()));
    assertNamesFile(v, f, "lxmert/embeddings/word_embeddings/weight: checkpoint [300, 28], model expects [301, 28]");
  }

  /** More layers in config.json than in the checkpoint: refused before a graph of that size is built. */
  @Test
  void configAskingForMoreLayersThanTheCheckpointHolds() {
    Path f = Fixtures.tinyModel().resolve("tf_model.h5");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LxmertForPreTraining.create(config.with(Map.of("l_layers", 3)), f, LoadOptions.defaults()));
    assertNamesFile(e, f, "config field l_layers: expected at most the 2 language layer(s) the checkpoint holds",
        "found 3");
    IllegalArgumentException huge = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertThrows(
        IllegalArgumentException.class, () -> LxmertForPreTraining.create(
            config.with(Map.of("r_layers", 100_000_000)), f, LoadOptions.defaults())));
    assertNamesFile(huge, f, "config field r_layers", "found 100000000");
    Path pt = Fixtures.tiny().resolve("model-pt/model.safetensors");
    IllegalArgumentException cross = assertThrows(IllegalArgumentException.class,
        () -> LxmertForPreTraining.create(config.with(Map.of("x_layers", 2)), pt, LoadOptions.defaults()));
    assertNamesFile(cross, pt, "config field x_layers: expected at most the 1 cross-modality layer(s)", "found 2");
  }

  @Test
  void nonFloatTensorWhereTheModelNeedsAWeight() throws IOException {
    Path f = write("model.safetensors", editHeader(h -> tensor(h, QUERY).put("dtype", "I32")));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LxmertForPreTraining.create(config, f, LoadOptions.defaults()));
    assertNamesFile(e, f, "expected a floating-point dtype", "found I32");
  }

  // ------------------------------------------------------------------------------------------- model dirs

  @Test
  void modelDirectoryWithoutACheckpoint() throws IOException {
    Path dir = Files.createTempDirectory(tmp, "model");
    Files.copy(Fixtures.tinyModel().resolve("config.json"), dir.resolve("config.json"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LxmertForPreTraining.fromPretrained(dir));
    assertNamesFile(e, dir, "expected model.safetensors, tf_model.h5 or pytorch_model.bin, found none of them");
    Files.write(dir.resolve("pytorch_model.bin"), new byte[16]); // chosen when it is the only checkpoint
    assertNamesFile(assertThrows(IllegalArgumentException.class, () -> LxmertForPreTraining.fromPretrained(dir)),
        dir.resolve("pytorch_model.bin"), "expected a PyTorch checkpoint", "found bytes 00 00 00 00");
    assertNamesFile(assertThrows(IllegalArgumentException.class,
        () -> LxmertForPreTraining.fromPretrained(dir.resolve("nope"))), dir, "expected config.json, found none");
    Files.createDirectory(dir.resolve("model.safetensors")); // a directory where the file should be
    Files.write(dir.resolve("tf_model.h5"), new byte[0]);
    assertNamesFile(assertThrows(IllegalArgumentException.class, () -> LxmertForPreTraining.fromPretrained(dir)),
        dir.resolve("tf_model.h5"), "not a readable HDF5 file");
  }

  /**
   * Failed loads close what they opened (graph, session, weight tensors, reader threads) and leave nothing
   * behind that breaks the next load: after failed loads of each kind, a valid load still matches Python. The
   * failed loads are made here, not left to the tests above (JUnit does not order test methods).
   */
  @Test
  void aValidLoadAfterFailedLoadsStillMatchesTheReference() throws IOException {
    List<Path> broken = List.of(
        write("tf_model.h5", Arrays.copyOf(h5, h5.length / 2)),                                // truncated
        write("model.safetensors", Arrays.copyOf(safetensors, safetensors.length - 4)),        // truncated data
        write("model.safetensors", editHeader(h -> tensor(h, QUERY).put("dtype", "I32"))),     // not a float
        write("model.safetensors", editHeader(h -> h.remove(QUERY))));                         // a weight missing
    for (Path f : broken) {
      for (int i = 0; i < 3; i++) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> LxmertForPreTraining.create(config, f, LoadOptions.defaults()).close(), f.toString());
        assertNamesFile(e, f);
      }
    }
    try (LxmertForPreTraining m = LxmertForPreTraining.fromPretrained(Fixtures.tinyModel())) {
      LxmertReference.Case c = ref.caseNamed("b1_equal");
      Map<String, FloatArray> expected = c.outputs();
      io.github.tflxmert.parity.ParityReport r = c.compare("b1_equal", m.predict(c.inputs(),
          OutputSelection.of(expected.keySet())).asMap(), io.github.tflxmert.parity.ParityOptions.defaults(), null);
      assertTrue(r.passed(), r.table());
    }
  }
}
