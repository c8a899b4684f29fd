package io.github.tflxmert.reliability;

import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.array.Npy;
import io.github.tflxmert.array.NpyArray;
import io.github.tflxmert.parity.LxmertReference;
import io.github.tflxmert.weights.H5WeightSource;
import io.github.tflxmert.weights.PytorchWeightSource;
import io.github.tflxmert.weights.SafetensorsWeightSource;
import io.github.tflxmert.weights.WeightSource;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parsers under fuzz, each as a function of raw bytes, with its seeds (real fixture files) and a dictionary
 * of tokens worth inserting. A target returns normally when the input was accepted and throws
 * {@link IllegalArgumentException} (or {@link IOException}, where the API documents it) when it was rejected;
 * any other throwable is a finding. Shared by {@link Fuzz}, {@link FuzzSmokeTest} and {@link JazzerFuzzTest}.
 */
final class FuzzTargets {
  private FuzzTargets() {}

  /** One parser under fuzz. */
  interface Target {
    String name();

    /** Real files to start from. */
    List<byte[]> seeds();

    /** Where the structure lives in a seed (mutations prefer this prefix). */
    int focus(byte[] seed);

    List<String> dictionary();

    /** A structure-aware fix-up applied to half the mutants (e.g. recompute a length prefix); identity by default. */
    default byte[] fixup(byte[] original, byte[] mutant, Mutator m) {
      return mutant;
    }

    void run(byte[] input) throws IOException;

    /** Target-specific counters for the summary, or an empty string. */
    default String stats() {
      return "";
    }
  }

  /** Largest tensor a target reads back (a header may declare any shape whose bytes fit the input). */
  private static final long MAX_READ_ELEMENTS = 16L << 20;

  static final Target SAFETENSORS = new Target() {
    public String name() {
      return "safetensors";
    }

    public List<byte[]> seeds() {
      List<byte[]> s = new ArrayList<>();
      s.add(Fixtures.read(Fixtures.tinyModel().resolve("model.safetensors")));
      s.add(Fixtures.read(Fixtures.tiny().resolve("model-pt/model.safetensors")));
      s.add(smallMixedDtypes());
      return s;
    }

    public int focus(byte[] seed) {
      return seed.length < 8 ? seed.length
          : (int) Math.min(seed.length, 8 + ByteBuffer.wrap(seed, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong());
    }

    public List<String> dictionary() {
      return List.of("\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "\"format\"", "\"tf\"",
          "\"pt\"", "\"F16\"", "\"BF16\"", "\"F64\"", "\"I32\"", "\"U8\"", "\"BOOL\"", "\"F8_E4M3\"", "\"C64\"",
          "[0, 0]", "[]", "{}", "null", "-1", "[1, 2, 3]", "[9223372036854775807, 2]", "\"a:0\"",
          "\"lxmert/x:0\"", "\"x.gamma\"", "\"x.weight\"", ":", ",");
    }

    @Override
    public byte[] fixup(byte[] original, byte[] mutant, Mutator m) {
      // Keep the length prefix consistent with a mutated header so the JSON parser sees the whole header.
      int oldFocus = focus(original);
      if (mutant.length < 8 || original.length < oldFocus) {
        return mutant;
      }
      int tail = original.length - oldFocus; // data section length
      int headerLen = mutant.length - 8 - tail;
      if (headerLen <= 0) {
        return mutant;
      }
      byte[] out = mutant.clone();
      ByteBuffer.wrap(out, 0, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(headerLen);
      return out;
    }

    public void run(byte[] input) throws IOException {
      try (SafetensorsWeightSource src = SafetensorsWeightSource.fromBytes(input, "fuzz.safetensors")) {
        readAll(src);
      }
    }
  };

  static final Target NPY = new Target() {
    public String name() {
      return "npy";
    }

    public List<byte[]> seeds() {
      Path c = Fixtures.tiny().resolve("cases");
      return List.of(Fixtures.read(c.resolve("b1_equal/inputs/input_ids.npy")),
          Fixtures.read(c.resolve("b1_equal/inputs/visual_pos.npy")),
          Fixtures.read(c.resolve("b2_visual_mask/inputs/visual_attention_mask.npy")),
          Fixtures.read(c.resolve("b1_equal/outputs/cross_relationship_score.npy")));
    }

    public int focus(byte[] seed) {
      return Math.min(seed.length, 128);
    }

    public List<String> dictionary() {
      return List.of("'descr'", "'<f4'", "'>f8'", "'<i8'", "'|b1'", "'|O'", "'<U3'", "'f4'", "'<c8'",
          "'fortran_order': True", "'shape': ()", "(1099511627776,)", "(0,)", "(2, 3)", "(-1,)", "((1),)",
          "'shape'", "False", "True", "}", "{", ",", "L");
    }

    @Override
    public byte[] fixup(byte[] original, byte[] mutant, Mutator m) {
      // Version-1 header length (bytes 8-9) recomputed so that the data starts where the dict ends.
      if (mutant.length < 10 || original.length < 10 || original[6] != 1) {
        return mutant;
      }
      int oldLen = (original[8] & 0xff) | (original[9] & 0xff) << 8;
      int data = original.length - 10 - oldLen;
      int newLen = mutant.length - 10 - data;
      if (newLen < 0 || newLen > 0xffff) {
        return mutant;
      }
      byte[] out = mutant.clone();
      out[8] = (byte) newLen;
      out[9] = (byte) (newLen >>> 8);
      return out;
    }

    public void run(byte[] input) {
      NpyArray a = Npy.parse(input, "fuzz.npy");
      if (a.isFloat()) {
        a.toFloatArray();
      } else {
        a.toIntArray();
      }
    }
  };

  static final Target CONFIG = new Target() {
    public String name() {
      return "config";
    }

    public List<byte[]> seeds() {
      return List.of(Fixtures.read(Fixtures.tinyModel().resolve("config.json")),
          Fixtures.read(Path.of("fixtures", "wide", "model", "config.json")));
    }

    public int focus(byte[] seed) {
      return seed.length;
    }

    public List<String> dictionary() {
      return List.of("\"vocab_size\"", "\"hidden_size\"", "\"num_attention_heads\"", "\"hidden_act\"", "\"gelu\"",
          "\"swish\"", "\"l_layers\"", "\"x_layers\"", "\"r_layers\"", "\"layer_norm_eps\"", "\"type_vocab_size\"",
          "\"visual_feat_dim\"", "\"hidden_dropout_prob\"", "\"task_qa\"", "true", "false", "null", "\"12\"", "[]",
          "{}", "1.0", "-1", "0", "1e-12", "{\"a\": [[[[[[[[]]]]]]]]}", ":", ",");
    }

    public void run(byte[] input) {
      LxmertConfig.fromJsonString(new String(input, StandardCharsets.UTF_8), "fuzz config.json");
    }
  };

  static final Target MANIFEST = new Target() {
    public String name() {
      return "manifest";
    }

    public List<byte[]> seeds() {
      return List.of(Fixtures.read(Fixtures.tiny().resolve("manifest.json")));
    }

    public int focus(byte[] seed) {
      return seed.length;
    }

    public List<String> dictionary() {
      return List.of("\"format\"", "\"tf-lxmert-reference/1\"", "\"cases\"", "\"inputs\"", "\"outputs\"", "\"file\"",
          "\"shape\"", "\"config\"", "\"name\"", "\"../manifest.json\"", "\"/dev/zero\"", "\"cases\"", "\"\"",
          "\"model/config.json\"", "\"cases/b1_equal/inputs/visual_feats.npy\"", "[1, 10, 128]", "[]", "{}", "null",
          "\"saved_model\"", "\"versions\"", ":", ",");
    }

    public void run(byte[] input) throws IOException {
      try (LxmertReference ref = LxmertReference.open(Fixtures.tiny(), input)) {
        ref.name();
        ref.versions();
        ref.hasSavedModel();
        LxmertReference.Case c = ref.cases().get(0);
        c.name();
        c.description();
        c.inputs();
        List<String> outs = c.outputNames();
        if (!outs.isEmpty()) {
          c.output(outs.get(0));
        }
      }
    }
  };

  static final Target H5 = new Target() {
    public String name() {
      return "h5";
    }

    public List<byte[]> seeds() {
      return List.of(Fixtures.read(Fixtures.hostile("dtypes.h5")), Fixtures.read(Fixtures.hostile("dtypes.h5")),
          Fixtures.read(Fixtures.hostile("dtypes.h5")), Fixtures.read(Fixtures.tinyModel().resolve("tf_model.h5")));
    }

    public int focus(byte[] seed) {
      return Math.min(seed.length, 8192);
    }

    public List<String> dictionary() {
      return List.of("layer_names", "weight_names", "lxmert", "TREE", "HEAP", "SNOD", "OHDR");
    }

    public void run(byte[] input) {
      try (H5WeightSource src = H5WeightSource.fromBytes(input, "fuzz.h5")) {
        readAll(src);
      } catch (IOException e) {
        throw new AssertionError("H5WeightSource.fromBytes threw an IOException", e); // not declared
      }
    }
  };

  /**
   * PyTorch checkpoints ({@link PytorchWeightSource}): zip and legacy seeds written by real torch.save. Mutations
   * prefer the pickle (a zip's first entry, a legacy file's first KiB). A zip's data.pkl is CRC-checked, so most
   * of its mutants would meet only that check: the fix-up instead mutates the seed's data.pkl and rebuilds a valid
   * archive around it (the other records kept), so the unpickler and the view checks see them.
   */
  static final Target PYTORCH = new Target() {
    /** Each zip seed's records, by the seed array's identity (Fuzz passes the seed itself as the original). */
    private final Map<byte[], Map<String, byte[]>> records = java.util.Collections.synchronizedMap(new IdentityHashMap<>());

    public String name() {
      return "pytorch";
    }

    public List<byte[]> seeds() {
      List<byte[]> s = new ArrayList<>();
      for (String f : List.of("views.bin", "views-legacy.bin", "dtypes.bin", "dtypes-legacy.bin")) {
        Path p = Path.of("fixtures", "torch", f);
        byte[] b = Fixtures.read(p);
        if (isZip(b)) {
          records.put(b, TorchFiles.records(p));
        }
        s.add(b);
      }
      return s;
    }

    private boolean isZip(byte[] b) {
      return b.length >= 4 && b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4;
    }

    public int focus(byte[] seed) {
      if (!isZip(seed)) {
        return Math.min(seed.length, 1024);
      }
      for (int i = 4; i + 4 <= seed.length; i++) { // data.pkl ends where the second local header starts
        if (seed[i] == 'P' && seed[i + 1] == 'K' && seed[i + 2] == 3 && seed[i + 3] == 4) {
          return i;
        }
      }
      return seed.length;
    }

    public List<String> dictionary() {
      return List.of("cos\nsystem\n", "cbuiltins\neval\n", "ccollections\nOrderedDict\n", "ctorch\nFloatStorage\n",
          "ctorch\nHalfStorage\n", "ctorch\nBFloat16Storage\n", "ctorch\nLongStorage\n",
          "ctorch._utils\n_rebuild_tensor_v2\n", "ctorch._utils\n_rebuild_tensor_v3\n",
          "ctorch._utils\n_rebuild_parameter\n", "ctorch.storage\nUntypedStorage\n", "ctorch\nfloat16\n",
          "X\u0007\u0000\u0000\u0000storage", "X\u0001\u0000\u0000\u00000", "(", "t", ")", "]", "}", "R", "b", "Q", "s",
          "u", "a", "e", "N", ".", "K\u0000", "K\u007f", "M\u0000\u0001", "J\u007f\u007f\u007f\u007f", "h\u0000",
          "q\u0000", "r\u0000\u0000\u0000\u0000", "data/0", "PK\u0005\u0006", "PK\u0001\u0002", "PK\u0003\u0004",
          "little", "big");
    }

    @Override
    public byte[] fixup(byte[] original, byte[] mutant, Mutator m) {
      Map<String, byte[]> r = records.get(original);
      if (r == null) {
        return mutant;
      }
      byte[] pkl = r.get("data.pkl");
      Map<String, byte[]> rebuilt = new LinkedHashMap<>(r);
      rebuilt.put("data.pkl", m.mutate(pkl, List.of(pkl), pkl.length, dictionary()));
      return TorchFiles.zipRecords("archive", rebuilt);
    }

    public void run(byte[] input) throws IOException {
      try (PytorchWeightSource src = PytorchWeightSource.fromBytes(input, "fuzz.bin")) {
        readAll(src);
      }
    }
  };

  /**
   * The tokenizer on arbitrary UTF-8 (malformed bytes become U+FFFD, as a Java string would hold them): encode a
   * text, encode it as a pair split in the middle, decode the ids back. It has no rejection path: any throwable
   * is a finding.
   */
  static final Target TOKENIZER = new Target() {
    private volatile io.github.tflxmert.tokenizer.LxmertTokenizer tok;

    public String name() {
      return "tokenizer";
    }

    public List<byte[]> seeds() {
      List<byte[]> s = new ArrayList<>();
      for (String t : List.of("UNwant\u00e9d,running [MASK] [mask]", "I was born in 92000, and this is fals\u00e9.",
          "\u4f60\u597d\u4e16\u754c \ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67 caf\u00e9 \u0130stanbul \u03a3\u039f\u03a3",
          "a".repeat(120) + " x\u0301\u0327 \t\n\r\u00a0\u2028[CLS][SEP]", "\u0000\ufffd\u200b\u00ad\ud800")) {
        s.add(t.getBytes(StandardCharsets.UTF_8));
      }
      return s;
    }

    public int focus(byte[] seed) {
      return seed.length;
    }

    public List<String> dictionary() {
      return List.of("[MASK]", "[CLS]", "[SEP]", "[PAD]", "[UNK]", "##", " ", "\u0301", "\u4e00", "\ud83d\ude00",
          "\u200d", "\u00ad", "\u0130", "\u1734", "\ufffd", "\t", "\u3000", "'", "...");
    }

    public void run(byte[] input) throws IOException {
      if (tok == null) {
        tok = io.github.tflxmert.tokenizer.LxmertTokenizer.fromVocab(
            Path.of("fixtures", "tokenizer", "bert-base-uncased-vocab.txt"),
            io.github.tflxmert.tokenizer.TokenizerOptions.defaults());
      }
      String text = new String(input, StandardCharsets.UTF_8);
      var e = tok.encode(text);
      if (e.inputIds().length != e.tokens().size() || e.inputIds()[0] != tok.clsTokenId()) {
        throw new IllegalStateException("inconsistent encoding of " + text);
      }
      int mid = text.offsetByCodePoints(0, text.codePointCount(0, text.length()) / 2);
      tok.encode(text.substring(0, mid), text.substring(mid));
      tok.decode(e.inputIds());
    }
  };

  /**
   * The SavedModel op check on generated models with a known verdict ({@link SavedModelTargets#opcheck}); the
   * input bytes steer the generator. Half the mutants get eight fresh random bytes appended, so that nearly every
   * execution is a different model.
   */
  static final Target OPCHECK = new Target() {
    public String name() {
      return "opcheck";
    }

    public List<byte[]> seeds() {
      return SavedModelTargets.opcheckSeeds();
    }

    public int focus(byte[] seed) {
      return seed.length;
    }

    public List<String> dictionary() {
      return List.of("\0", "\1", "\2", "\3", "\7", "\u00ff");
    }

    @Override
    public byte[] fixup(byte[] original, byte[] mutant, Mutator m) {
      byte[] out = java.util.Arrays.copyOf(mutant, mutant.length + 8);
      for (int i = mutant.length; i < out.length; i++) {
        out[i] = (byte) m.nextInt(256);
      }
      return out;
    }

    public void run(byte[] input) throws IOException {
      SavedModelTargets.opcheck(input);
    }

    @Override
    public String stats() {
      return SavedModelTargets.OPCHECK_STATS.describe(name());
    }
  };

  /** Mutated saved_model.pb files through the real loader ({@link SavedModelTargets#savedModel}). */
  static final Target SAVEDMODEL = new Target() {
    public String name() {
      return "savedmodel";
    }

    public List<byte[]> seeds() {
      return SavedModelTargets.savedModelSeeds();
    }

    public int focus(byte[] seed) {
      return seed.length;
    }

    public List<String> dictionary() {
      return List.of("ReadFile", "WriteFile", "PyFunc", "RestoreV2", "SaveV2", "StatefulPartitionedCall", "serve",
          "serving_default", "file:///tmp/x", "local://", "save/restore_all", "DebugIdentityV3", "f", "body");
    }

    public void run(byte[] input) throws IOException {
      SavedModelTargets.savedModel(input);
    }

    @Override
    public String stats() {
      return SavedModelTargets.SAVEDMODEL_STATS.describe(name());
    }
  };

  static final List<Target> ALL = List.of(SAFETENSORS, NPY, CONFIG, MANIFEST, H5, TOKENIZER, OPCHECK, SAVEDMODEL,
      PYTORCH);

  static Target named(String name) {
    return ALL.stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow(() ->
        new IllegalArgumentException("no fuzz target " + name + "; targets are "
            + ALL.stream().map(Target::name).toList()));
  }

  private static void readAll(WeightSource src) throws IOException {
    src.layout();
    for (Map.Entry<String, WeightSource.Entry> e : src.entries().entrySet()) {
      long n = e.getValue().elements();
      if (n < 0 || n > MAX_READ_ELEMENTS) {
        continue; // a shape the harness will not allocate for; the loader checks shapes against the model first
      }
      ByteBuffer target = ByteBuffer.allocate((int) n * 4).order(ByteOrder.LITTLE_ENDIAN);
      src.read(e.getKey(), target);
    }
  }

  /** A small, valid safetensors file with one tensor of each float dtype and an int tensor (rejected on read). */
  static byte[] smallMixedDtypes() {
    String header = "{\"__metadata__\":{\"format\":\"pt\"},"
        + "\"a.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
        + "\"b.weight\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[16,22]},"
        + "\"c.bias\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[22,26]},"
        + "\"d.gamma\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[26,34]},"
        + "\"e\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[34,38]},"
        + "\"f\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[38,38]}}";
    ByteBuffer d = ByteBuffer.allocate(38).order(ByteOrder.LITTLE_ENDIAN);
    d.putFloat(1f).putFloat(-2f).putFloat(0.5f).putFloat(3.25f);
    d.putShort((short) 0x3c00).putShort((short) 0xc000).putShort((short) 0x7bff); // 1, -2, 65504
    d.putShort((short) 0x3f80).putShort((short) 0xc040);                           // 1, -3
    d.putDouble(0.1);
    d.putInt(7);
    return Fixtures.Safetensors.assemble(header.getBytes(StandardCharsets.UTF_8), d.array());
  }
}
