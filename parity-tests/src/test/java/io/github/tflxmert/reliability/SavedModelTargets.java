package io.github.tflxmert.reliability;

import io.github.tflxmert.savedmodel.OpInventory;
import io.github.tflxmert.savedmodel.SavedModelLoader;
import io.github.tflxmert.savedmodel.UnsafeSavedModelException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TString;

/**
 * The two SavedModel fuzz targets of {@link FuzzTargets}:
 * <ul>
 *   <li>{@code opcheck}: each input steers {@link SavedModelGen} to one SavedModel with denied ops (or none) at
 *       known places; the op check ({@link SavedModelLoader#checkOps}) must refuse it exactly when the generator
 *       placed a denied op the model's allow-list does not name, naming each op, its node, its function and a real
 *       call chain ({@link SavedModelGen#verify}); a disagreement is a finding. Every
 *       {@link #DISK_EVERY}th model also goes through the real loader path on disk ({@code saved_model.pb} written,
 *       then {@link SavedModelLoader#load}): it must be refused with the same findings, or be accepted and then
 *       either load in TensorFlow or fail with the loader's {@link IllegalArgumentException}.
 *   <li>{@code savedmodel}: byte mutations of serialized SavedModels (generated ones and a real one exported by
 *       TensorFlow Java, with its variables) written as {@code saved_model.pb} and loaded with
 *       {@link SavedModelLoader#load}: the loader must refuse (naming the directory) or load; mutants that pass
 *       the Java parser and the op check reach TensorFlow's native loader.
 * </ul>
 * Both throw the loader's exception when it refuses (the harness counts it as a rejection, which must name
 * {@link #SOURCE}). Not thread-safe (one directory on disk per target).
 */
final class SavedModelTargets {
  private SavedModelTargets() {}

  /** What every rejection message names: the on-disk directory's name, or the source given to checkOps. */
  static final String SOURCE = "fuzz-savedmodel";

  static final int DISK_EVERY = 50;

  /** Counters for the summary. */
  static final class Stats {
    final AtomicLong models = new AtomicLong();
    final AtomicLong refused = new AtomicLong();
    final AtomicLong accepted = new AtomicLong();
    final AtomicLong onDisk = new AtomicLong();
    final AtomicLong diskRefused = new AtomicLong();
    final AtomicLong tfLoaded = new AtomicLong();
    final AtomicLong tfRejected = new AtomicLong();
    final Map<String, AtomicLong> placements = new TreeMap<>();
    /** 64-bit hashes of the serialized models, to count distinct ones (mutants can repeat an input). */
    final java.util.Set<Long> distinct = java.util.concurrent.ConcurrentHashMap.newKeySet();

    synchronized void placed(String what) {
      placements.computeIfAbsent(what, k -> new AtomicLong()).incrementAndGet();
    }

    synchronized String describe(String target) {
      StringBuilder sb = new StringBuilder();
      if (models.get() > 0) {
        sb.append(String.format(Locale.ROOT, "    %s: %,d models generated (%,d distinct): %,d refused, %,d accepted;"
            + " placed ops (where/verdict): %s%n", target, models.get(), distinct.size(), refused.get(),
            accepted.get(), placements));
      }
      sb.append(String.format(Locale.ROOT, "    %s: %,d through the loader on disk: %,d refused by the check,"
          + " %,d loaded by TensorFlow, %,d rejected by TensorFlow (IllegalArgumentException)", target,
          onDisk.get(), diskRefused.get(), tfLoaded.get(), tfRejected.get()));
      return sb.toString();
    }
  }

  static final Stats OPCHECK_STATS = new Stats();
  static final Stats SAVEDMODEL_STATS = new Stats();

  private static Path opcheckDir;
  private static Path savedModelDir;
  private static byte[] javaExport;

  /** One opcheck execution: generate, check directly, compare with the oracle, sometimes load from disk. */
  static void opcheck(byte[] input) throws IOException {
    SavedModelGen.Model m = SavedModelGen.generate(input);
    MetaGraphDef mg = m.metaGraph();
    SavedModelLoader loader = SavedModelLoader.builder().allowOps(m.allowed()).build();
    UnsafeSavedModelException refused = null;
    try {
      loader.checkOps(mg, Path.of(SOURCE));
    } catch (UnsafeSavedModelException e) {
      refused = e;
    }
    String problem = SavedModelGen.verify(m, OpInventory.of(mg), refused);
    if (problem != null) {
      throw new AssertionError("op check disagrees with the generator: " + problem);
    }
    Stats s = OPCHECK_STATS;
    long n = s.models.incrementAndGet();
    s.distinct.add(hash64(m.savedModel().toByteArray()));
    (refused != null ? s.refused : s.accepted).incrementAndGet();
    for (SavedModelGen.Placed p : m.placed()) {
      s.placed(p.where() + (p.finding() ? m.allowed().contains(p.op()) ? "/allowed" : "/refused" : "/harmless"));
    }
    if (n % DISK_EVERY == 1) {
      Path dir = dir("opcheck");
      Files.write(dir.resolve("saved_model.pb"), m.savedModel().toByteArray());
      UnsafeSavedModelException onDisk;
      try {
        onDisk = load(loader, dir, s);
      } catch (IllegalArgumentException e) {
        // Accepted by the check; TensorFlow then refused the generated graph (its nodes are op-shaped, not
        // runnable). Counted in the stats, not as a rejection of the op check, but it must name the directory.
        if (refused != null || e.getMessage() == null || !e.getMessage().startsWith(dir.toString())) {
          throw new AssertionError("unexpected rejection on disk: " + e, e);
        }
        onDisk = null;
      }
      if ((onDisk == null) != (refused == null) || onDisk != null
          && !describe(onDisk).equals(describe(refused))) {
        throw new AssertionError("the loader on disk and the direct check disagree: "
            + (onDisk == null ? "accepted" : onDisk.getMessage()) + " vs "
            + (refused == null ? "accepted" : refused.getMessage()));
      }
    }
    if (refused != null) {
      throw refused;
    }
  }

  /** One savedmodel execution: the bytes as saved_model.pb, through the real loader. */
  static void savedModel(byte[] input) throws IOException {
    javaExport(); // its variables directory sits next to every fuzzed saved_model.pb
    Path dir = dir("savedmodel");
    Files.write(dir.resolve("saved_model.pb"), input);
    UnsafeSavedModelException e = load(SavedModelLoader.builder().build(), dir, SAVEDMODEL_STATS);
    if (e != null) {
      throw e;
    }
  }

  /**
   * {@link SavedModelLoader#load} on a directory: returns the refusal of the op check, or {@code null} if TensorFlow
   * loaded it; TensorFlow's own rejection (an IllegalArgumentException naming the directory) is counted and
   * rethrown, as is a parse error.
   */
  private static UnsafeSavedModelException load(SavedModelLoader loader, Path dir, Stats s) throws IOException {
    s.onDisk.incrementAndGet();
    try (SavedModelLoader.Loaded l = loader.load(dir)) {
      s.tfLoaded.incrementAndGet();
      return null;
    } catch (UnsafeSavedModelException e) {
      s.diskRefused.incrementAndGet();
      return e;
    } catch (IllegalArgumentException e) {
      if (e.getMessage() != null && e.getMessage().contains("TensorFlow could not load")) {
        s.tfRejected.incrementAndGet();
      }
      throw e;
    }
  }

  private static long hash64(byte[] b) {
    long h = 0xcbf29ce484222325L;                 // FNV-1a
    for (byte x : b) {
      h = (h ^ (x & 0xff)) * 0x100000001b3L;
    }
    return h;
  }

  private static List<String> describe(UnsafeSavedModelException e) {
    return e.findings().stream().map(OpInventory.Finding::describe).toList();
  }

  /** Seeds of the opcheck target: 16 fixed 32-byte inputs (the first decisions of 16 generator runs). */
  static List<byte[]> opcheckSeeds() {
    List<byte[]> s = new ArrayList<>();
    java.util.SplittableRandom r = new java.util.SplittableRandom(20240611L);
    for (int i = 0; i < 16; i++) {
      byte[] b = new byte[32];
      for (int j = 0; j < b.length; j++) {
        b[j] = (byte) r.nextInt(256);
      }
      s.add(b);
    }
    return s;
  }

  /** Seeds of the savedmodel target: serialized generated models and a real TensorFlow Java export. */
  static List<byte[]> savedModelSeeds() {
    List<byte[]> s = new ArrayList<>();
    for (long i = 1; i <= 5; i++) {
      s.add(SavedModelGen.generate(i).savedModel().toByteArray());
    }
    s.add(javaExport());
    s.add(javaExport());
    s.add(javaExport());
    return s;
  }

  /**
   * A small SavedModel exported by TensorFlow Java (a variable, a string input, its length plus the variable as
   * output, a TF1-style saver); its variables directory is copied next to the fuzzed saved_model.pb so that
   * mutants of it get as far as restoring.
   */
  static synchronized byte[] javaExport() {
    if (javaExport == null) {
      try {
        Path tmp = Files.createTempDirectory("fuzz-export");
        Path out = tmp.resolve("model");
        try (Graph g = new Graph()) {
          Ops tf = Ops.create(g);
          Variable<TFloat32> v = tf.withName("v").variable(tf.constant(2f));
          Placeholder<TString> path = tf.withName("path").placeholder(TString.class, Placeholder.shape(Shape.scalar()));
          Operand<TInt32> len = tf.strings.stringLength(path);
          try (Session s = new Session(g)) {
            s.initialize();
            Signature sig = Signature.builder().key("serving_default").input("path", path).output("out", len)
                .output("v", tf.withName("v_read").identity(v)).build();
            SavedModelBundle.exporter(out.toString()).withTags("serve").withFunction(s.function(sig)).export();
          }
        }
        javaExport = Files.readAllBytes(out.resolve("saved_model.pb"));
        Path vars = dir("savedmodel").resolve("variables");
        Files.createDirectories(vars);
        try (Stream<Path> files = Files.list(out.resolve("variables"))) {
          for (Path f : files.toList()) {
            Files.copy(f, vars.resolve(f.getFileName()));
          }
        }
        deleteOnExit(tmp);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return javaExport;
  }

  private static synchronized Path dir(String target) throws IOException {
    if (target.equals("opcheck")) {
      if (opcheckDir == null) {
        opcheckDir = Files.createTempDirectory(SOURCE + "-opcheck");
        deleteOnExit(opcheckDir);
      }
      return opcheckDir;
    }
    if (savedModelDir == null) {
      savedModelDir = Files.createTempDirectory(SOURCE + "-bytes");
      deleteOnExit(savedModelDir);
    }
    return savedModelDir;
  }

  private static void deleteOnExit(Path dir) {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try (Stream<Path> s = Files.walk(dir)) {
        s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException e) {
        // best effort
      }
    }));
  }
}
