package io.github.tflxmert.reliability;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.weights.PytorchWeightSource;
import io.github.tflxmert.weights.SafetensorsWeightSource;
import io.github.tflxmert.weights.WeightSource;
import io.github.tflxmert.weights.WeightSources;
import io.github.tflxmert.reliability.TorchFiles.Pickle;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * PyTorch checkpoints ({@code pytorch_model.bin}) beyond the tiny model: the dtype and view fixtures read as
 * {@code torch.load} gives them (their {@code *-expected.safetensors}, written by the same script from
 * {@code torch.load}'s result), and hostile files refused with an {@link IllegalArgumentException} naming the file
 * and what is wrong, never running anything and never allocating by an unchecked size: the committed ones
 * ({@code fixtures/torch/hostile}, made by {@code python/make_torch_fixtures.py} with torch's own archive writer
 * around hand-made pickles), truncations of every valid fixture, and pickles made here ({@link TorchFiles}).
 */
class HostilePytorchFilesTest {
  static final Path TORCH = Path.of("fixtures", "torch");

  @TempDir
  static Path tmp;

  static Map<String, float[]> readAll(WeightSource src) throws IOException {
    return HostileWeightFilesTest.readAll(src);
  }

  static IllegalArgumentException rejects(Path file, String... fragments) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> {
      try (WeightSource src = WeightSources.open(file)) {
        readAll(src);
      }
    });
    HostileWeightFilesTest.assertNamesFile(e, file, fragments);
    return e;
  }

  static IllegalArgumentException rejectsBytes(byte[] bytes, String... fragments) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> {
      try (PytorchWeightSource src = PytorchWeightSource.fromBytes(bytes, "made.bin")) {
        readAll(src);
      }
    });
    assertTrue(e.getMessage().startsWith("made.bin: "), e.getMessage());
    for (String f : fragments) {
      assertTrue(e.getMessage().contains(f), "message lacks \"" + f + "\": " + e.getMessage());
    }
    return e;
  }

  // ------------------------------------------------------------------------------------------- valid files

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"dtypes", "dtypes-legacy", "views", "views-legacy"})
  void readsWhatTorchLoadGives(String name) throws IOException {
    try (WeightSource pt = WeightSources.open(TORCH.resolve(name + ".bin"));
         SafetensorsWeightSource expected = SafetensorsWeightSource.open(TORCH.resolve(name + "-expected.safetensors"))) {
      assertTrue(pt instanceof PytorchWeightSource);
      assertEquals(new ArrayList<>(expected.entries().keySet()).stream().sorted().toList(),
          pt.entries().keySet().stream().sorted().toList());
      // views of one storage (offsets, strides, a transpose, an expand) are not tied tensors: none is the same view
      assertEquals(Map.of(), pt.sharedWith());
      for (WeightSource.Entry e : expected.entries().values()) {
        WeightSource.Entry p = pt.entries().get(e.name());
        assertArrayEquals(e.shape(), p.shape(), e.name());
        ByteBuffer b = ByteBuffer.allocate((int) p.elements() * 4).order(ByteOrder.LITTLE_ENDIAN);
        if (e.dtype().equals("F32")) { // torch.load's value as float32 (float16/bfloat16/float64 converted)
          pt.read(e.name(), b);
          ByteBuffer want = ByteBuffer.allocate(b.capacity()).order(ByteOrder.LITTLE_ENDIAN);
          expected.read(e.name(), want);
          assertArrayEquals(want.array(), b.array(), e.name() + " (" + p.dtype() + ")");
        } else { // integer tensors are listed with their dtype and refused on read
          assertEquals(Map.of("I64", "int64", "U16", "uint16").get(e.dtype()), p.dtype(), e.name());
          IllegalArgumentException x = assertThrows(IllegalArgumentException.class, () -> pt.read(e.name(), b));
          assertTrue(x.getMessage().contains("expected a floating-point dtype") && x.getMessage().contains(p.dtype()),
              x.getMessage());
        }
      }
    }
  }

  @Test
  void theViewFixtureExercisesOffsetsStridesAndSharing() {
    // Guards the fixture itself: views.bin's tensors share storages (fewer data entries than tensors).
    Map<String, byte[]> records = TorchFiles.records(TORCH.resolve("views.bin"));
    long storages = records.keySet().stream().filter(k -> k.startsWith("data/")).count();
    assertEquals(4, storages, records.keySet().toString()); // base, half, bf16, ones
  }

  // ------------------------------------------------------------------------------------ committed hostile files

  static Stream<Arguments> committed() {
    return Stream.of(
        Arguments.of("os_system.bin", new String[] {"os_system/data.pkl", "refused global os.system",
            "as torch.load(weights_only=True) would"}),
        Arguments.of("posix_system.bin", new String[] {"refused global posix.system"}),
        Arguments.of("builtins_eval.bin", new String[] {"refused global builtins.eval"}),
        Arguments.of("whole_module.bin", new String[] {"refused global torch.nn.modules.linear.Linear"}),
        Arguments.of("reduce_storage_type.bin", new String[] {"REDUCE calls torch.FloatStorage, which is not a function"}),
        Arguments.of("storage_size_lies.bin", new String[] {"storage 0 of 1000 float32 elements",
            "expected entry storage_size_lies/data/0 to hold 4000 bytes, found 24"}),
        Arguments.of("view_beyond_storage.bin", new String[] {"tensor w", "reaches element 9",
            "beyond storage 0 of 6 elements"}),
        Arguments.of("missing_storage.bin", new String[] {"storage 7: no entry missing_storage/data/7"}),
        Arguments.of("compressed.bin", new String[] {"compressed (method 8); expected a stored entry"}),
        Arguments.of("truncated.bin", new String[] {"no end-of-central-directory record", "truncated?"}),
        Arguments.of("protocol4.bin", new String[] {"opcode 0x95 (FRAME) is not one a state dict needs"}),
        Arguments.of("legacy_wrong_magic.bin", new String[] {"pickle 1: expected PyTorch's magic number",
            "found 0x1950a86a20f9469cfc6d"}),
        Arguments.of("legacy_count_lies.bin", new String[] {"element count 7, but the state dict declares 6 float32"}),
        Arguments.of("legacy_truncated.bin", new String[] {"run past the end of the file", "truncated?"}));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("committed")
  void committedHostileFileIsRefused(String name, String[] fragments) {
    rejects(TORCH.resolve("hostile").resolve(name), fragments);
  }

  // ------------------------------------------------------------------------------------------- truncations

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"views.bin", "views-legacy.bin", "dtypes.bin", "dtypes-legacy.bin",
      "tiny-zip/pytorch_model.bin", "tiny-legacy/pytorch_model.bin"})
  void everyTruncationIsRefused(String name) {
    byte[] full = Fixtures.read(TORCH.resolve(name));
    for (int i = 0; i <= 40; i++) {
      int len = i == 40 ? full.length - 1 : (int) ((long) full.length * i / 40);
      byte[] cut = java.util.Arrays.copyOf(full, len);
      long before = HostileWeightFilesTest.allocatedBytes();
      rejectsBytes(cut);
      long allocated = HostileWeightFilesTest.allocatedBytes() - before;
      assertTrue(allocated < 8L * full.length + (4 << 20), name + " cut to " + len + ": allocated " + allocated);
    }
  }

  // ------------------------------------------------------------------------------------ pickles made here

  static final byte[] SIX = TorchFiles.floats(6);

  static byte[] zipWith(byte[] pickle) {
    return TorchFiles.zip("archive", pickle, Map.of("0", SIX));
  }

  static Pickle dictOf(Function<Pickle, Pickle> value) {
    return value.apply(new Pickle().beginDict().str("w"));
  }

  static byte[] oneTensor(long numel, long offset, long[] size, long[] stride) {
    return zipWith(dictOf(p -> p.tensor("FloatStorage", "0", numel, offset, size, stride)).endDict().bytes());
  }

  @Test
  void aValidHandMadeFileLoads() throws IOException {
    try (PytorchWeightSource src = PytorchWeightSource.fromBytes(oneTensor(6, 1, new long[] {2, 2},
        new long[] {1, 2}), "made.bin")) {
      assertArrayEquals(new float[] {1, 3, 2, 4}, readAll(src).get("w")); // the transpose of [[1, 2], [3, 4]]
    }
  }

  static Stream<Arguments> madeHere() {
    Pickle deep = new Pickle().op(')');
    for (int i = 0; i < 100; i++) {
      deep.op(0x85);
    }
    return Stream.of(
        Arguments.of("not a checkpoint", "hello world".getBytes(), new String[] {"expected a PyTorch checkpoint",
            "found bytes 68 65 6c 6c"}),
        Arguments.of("empty file", new byte[0], new String[] {"found an empty file"}),
        Arguments.of("a tar archive", tar(), new String[] {"a tar archive"}),
        Arguments.of("tuples nested 100 deep", zipWith(deep.op('.').bytes()), new String[] {"nested deeper than 64"}),
        Arguments.of("a string longer than the pickle", zipWith(new Pickle().op('X', 0xf0, 0xff, 0xff, 0xff).bytes()),
            new String[] {"BINUNICODE: expected at most the", "found a length of 4294967280"}),
        Arguments.of("an unknown memo index", zipWith(new Pickle().op('h', 5, '.').bytes()),
            new String[] {"BINGET 5: nothing was stored under that memo index"}),
        Arguments.of("REDUCE on an empty stack", zipWith(new Pickle().op('R', '.').bytes()),
            new String[] {"REDUCE needs a value on the stack, found none"}),
        Arguments.of("no STOP", zipWith(new Pickle().op('}').bytes()), new String[] {"ends before its STOP opcode"}),
        Arguments.of("a list as a dict key", zipWith(new Pickle().op('}', ']', 'K', 1, 's', '.').bytes()),
            new String[] {"a dict key must be hashable, found a list of 0"}),
        Arguments.of("APPEND to a dict", zipWith(new Pickle().op('}', 'K', 1, 'a', '.').bytes()),
            new String[] {"APPEND on a dict: expected a list"}),
        Arguments.of("BUILD on a list", zipWith(new Pickle().op(']', '}', 'b', '.').bytes()),
            new String[] {"BUILD on a list of 0"}),
        Arguments.of("a list, not a state dict", zipWith(new Pickle().op(']', '.').bytes()),
            new String[] {"expected a state dict (a dict of tensors), found a list of 0"}),
        Arguments.of("an int in the state dict", zipWith(dictOf(p -> p.integer(3)).endDict().bytes()),
            new String[] {"w: expected a tensor, found an int"}),
        Arguments.of("x.gamma next to x.weight", zipWith(new Pickle().beginDict()
            .str("x.gamma").raw(tensorBytes(6, 0, new long[] {6}, new long[] {1}))
            .str("x.weight").raw(tensorBytes(6, 0, new long[] {6}, new long[] {1})).endDict().bytes()),
            new String[] {"tensors x.gamma and x.weight both stand for x.weight"}),
        Arguments.of("one storage key, two sizes", zipWith(new Pickle().beginDict()
            .str("a").raw(tensorBytes(6, 0, new long[] {6}, new long[] {1}))
            .str("b").raw(tensorBytes(5, 0, new long[] {5}, new long[] {1})).endDict().bytes()),
            new String[] {"storage 0 declared as 5 float32 elements, and earlier as 6"}),
        Arguments.of("a negative storage offset", zipWith(dictOf(p -> p.global("torch._utils", "_rebuild_tensor_v2")
            .op('(', '(').str("storage").global("torch", "FloatStorage").str("0").str("cpu").integer(6).op('t', 'Q')
            .integer(-1).tuple(6).tuple(1).op(0x89, '}', 't', 'R')).endDict().bytes()),
            new String[] {"argument 2 (storage_offset): expected a non-negative int below 2^63, found -1"}),
        Arguments.of("size and stride of different ranks", oneTensor(6, 0, new long[] {2, 3}, new long[] {3}),
            new String[] {"size has 2 dimensions but stride has 1"}),
        Arguments.of("a size whose product overflows", oneTensor(6, 0,
            new long[] {1L << 31, 1L << 31, 1L << 31}, new long[] {0, 0, 0}), new String[] {"size overflows 64 bits"}),
        Arguments.of("a view one element past its storage", oneTensor(6, 1, new long[] {6}, new long[] {1}),
            new String[] {"reaches element 6, beyond storage 0 of 6 elements"}),
        Arguments.of("a storage larger than its entry", oneTensor(7, 0, new long[] {6}, new long[] {1}),
            new String[] {"expected entry archive/data/0 to hold 28 bytes, found 24"}),
        Arguments.of("an unknown opcode", zipWith(new Pickle().op(0xff).bytes()),
            new String[] {"opcode 0xff (not a pickle opcode)"}),
        Arguments.of("NEWOBJ", zipWith(new Pickle().global("collections", "OrderedDict").op(')', 0x81, '.').bytes()),
            new String[] {"opcode 0x81 (NEWOBJ) is not one a state dict needs"}),
        Arguments.of("tensor metadata", zipWith(dictOf(p -> p.global("torch._utils", "_rebuild_tensor_v2")
            .op('(', '(').str("storage").global("torch", "FloatStorage").str("0").str("cpu").integer(6).op('t', 'Q')
            .integer(0).tuple(6).tuple(1).op(0x89, '}', '}').str("neg").op(0x88, 's', 't', 'R')).endDict().bytes()),
            new String[] {"tensor metadata a dict (e.g. a negative or conjugate view) is not supported"}),
        Arguments.of("data.pkl CRC damaged", damagedCrc(), new String[] {"archive/data.pkl: CRC-32"}),
        Arguments.of("no data.pkl", TorchFiles.zipRecords("archive", Map.of("data/0", SIX)),
            new String[] {"no entry archive/data.pkl"}),
        Arguments.of("legacy: a key not in the state dict", TorchFiles.legacy(legacyState(), Map.of("1", SIX),
            Map.of("1", 6L)), new String[] {"pickle 5: storage key 1 is not a storage of the state dict"}),
        Arguments.of("legacy: a storage with no data", TorchFiles.legacy(legacyState(), Map.of(), Map.of()),
            new String[] {"storage 0 is used by the state dict but not listed in pickle 5"}),
        Arguments.of("legacy: a 5-item persistent id", TorchFiles.legacy(dictOf(p -> p.tensor("FloatStorage", "0", 6,
            0, new long[] {6}, new long[] {1})).endDict().bytes(), Map.of("0", SIX), Map.of("0", 6L)),
            new String[] {"persistent id of 5 items: expected 6"}));
  }

  private static byte[] tensorBytes(long numel, long offset, long[] size, long[] stride) {
    return tensorBytes("FloatStorage", "0", numel, offset, size, stride);
  }

  private static byte[] tensorBytes(String type, String key, long numel, long offset, long[] size, long[] stride) {
    byte[] p = new Pickle().tensor(type, key, numel, offset, size, stride).bytes();
    return java.util.Arrays.copyOfRange(p, 2, p.length); // without the PROTO header
  }

  private static byte[] legacyState() {
    return dictOf(p -> p.tensor("FloatStorage", "0", 6, 0, new long[] {6}, new long[] {1}, true)).endDict().bytes();
  }

  private static byte[] damagedCrc() {
    byte[] z = oneTensor(6, 0, new long[] {6}, new long[] {1});
    int at = 30 + "archive/data.pkl".length() + 40; // inside data.pkl's data (the first entry)
    z[at] ^= 1;
    return z;
  }

  private static byte[] tar() {
    byte[] b = new byte[1024];
    System.arraycopy("ustar".getBytes(), 0, b, 257, 5);
    return b;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("madeHere")
  void madeHereIsRefused(String what, byte[] bytes, String[] fragments) {
    long before = HostileWeightFilesTest.allocatedBytes();
    rejectsBytes(bytes, fragments);
    long allocated = HostileWeightFilesTest.allocatedBytes() - before;
    assertTrue(allocated < (8 << 20), what + ": allocated " + allocated + " bytes");
  }

  /** {@code byteorder} "big" (torch.save on a big-endian machine): storages are byte-swapped, as torch.load does. */
  @Test
  void aBigEndianArchiveIsByteSwapped() throws IOException {
    ByteBuffer f32 = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putFloat(1.5f).putFloat(-2f);
    ByteBuffer f16 = ByteBuffer.allocate(4).order(ByteOrder.BIG_ENDIAN).putShort((short) 0x3c00).putShort((short) 0xc100);
    byte[] pkl = new Pickle().beginDict()
        .str("a").raw(tensorBytes("FloatStorage", "0", 2, 0, new long[] {2}, new long[] {1}))
        .str("b").raw(tensorBytes("HalfStorage", "1", 2, 0, new long[] {2, 1}, new long[] {1, 1})).endDict().bytes();
    Map<String, byte[]> records = new LinkedHashMap<>();
    records.put("data.pkl", pkl);
    records.put("byteorder", "big".getBytes());
    records.put("data/0", f32.array());
    records.put("data/1", f16.array());
    try (PytorchWeightSource src = PytorchWeightSource.fromBytes(TorchFiles.zipRecords("archive", records), "be.bin")) {
      Map<String, float[]> all = readAll(src);
      assertArrayEquals(new float[] {1.5f, -2f}, all.get("a"));
      assertArrayEquals(new float[] {1f, -2.5f}, all.get("b"));
    }
    records.put("byteorder", "middle".getBytes());
    rejectsBytes(TorchFiles.zipRecords("archive", records), "archive/byteorder: expected \"little\" or \"big\", "
        + "found \"middle\"");
  }

  @Test
  void aZeroStrideViewOfAnyShapeIsListedButReadOnlyIntoRoom() throws IOException {
    // torch.save keeps expand()'s zero strides: 2^40 elements over one float. Listed; reading needs the room.
    try (PytorchWeightSource src = PytorchWeightSource.fromBytes(oneTensor(6, 5, new long[] {1L << 40},
        new long[] {0}), "made.bin")) {
      assertEquals(1L << 40, src.entries().get("w").elements());
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> src.read("w", ByteBuffer.allocate(16)));
      assertTrue(e.getMessage().contains("made.bin: tensor w: expected room for 1099511627776 floats"), e.getMessage());
    }
  }

  @Test
  void pytorchModelBinIsOpenedByContentOrName() throws IOException {
    byte[] zip = oneTensor(6, 0, new long[] {6}, new long[] {1});
    for (String name : List.of("weights.pt", "weights.pth", "pytorch_model.bin", "no-extension")) {
      try (WeightSource src = WeightSources.open(TorchFiles.write(tmp, name, zip))) {
        assertTrue(src instanceof PytorchWeightSource, name);
      }
    }
    byte[] legacy = TorchFiles.legacy(legacyState(), Map.of("0", SIX), Map.of("0", 6L));
    try (WeightSource src = WeightSources.open(TorchFiles.write(tmp, "legacy-without-extension", legacy))) {
      assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, readAll(src).get("w"));
    }
  }
}
