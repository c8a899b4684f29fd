package io.github.tflxmert.weights;

import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.graph.ModelScope;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.types.TFloat32;

/**
 * Loads a checkpoint into a graph's weights: maps every graph weight to its checkpoint tensor through
 * {@link WeightNames}, checks presence and shape of all of them before assigning anything, then feeds the
 * values through the weights' {@code Assign} ops in runs of at most {@link #CHUNK_BYTES} ({@link #load}), or, for
 * a graph whose weights are fed ({@link #read}), into tensors the caller keeps. Each tensor is read
 * from the file straight into the memory of the tensor that is fed (one copy; PyTorch kernels go through one
 * reused buffer to be transposed), so neither the Java heap nor native memory ever holds the whole checkpoint
 * twice: at most the weights plus one chunk.
 *
 * <p>Missing weights: an error listing every missing name. Shape mismatch: an error naming the tensor and both
 * shapes. Unexpected checkpoint tensors: a warning listing them (tensors of heads the graph does not build,
 * e.g. a pretraining checkpoint loaded into the base model, are only logged at debug level). Stateless;
 * thread-safe as long as each call has its own session.
 */
public final class WeightLoader {
  private static final Logger LOG = LoggerFactory.getLogger(WeightLoader.class);
  /** Largest total size of the tensors fed in one Session.run. */
  public static final long CHUNK_BYTES = 64L << 20;

  /**
   * The second thread of {@link #read}. Shared, daemon threads that end after a minute idle (a new native
   * thread per load makes the C allocator set up fresh per-thread arenas: resident-memory growth per load).
   */
  private static final ExecutorService READERS = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "lxmert-weight-reader");
    t.setDaemon(true);
    return t;
  });

  private WeightLoader() {}

  /** Where each graph weight comes from. */
  public record Plan(Map<String, String> sourceNames, Map<String, Boolean> transposed, List<String> unexpected,
                     List<String> ignoredHeads, long totalBytes) {}

  private static final Pattern LAYER_NAME =
      Pattern.compile("(?:^|[/.])encoder[/.](layer|x_layers|r_layers)(?:_\\._|\\.)(\\d{1,9})(?:[/.]|$)");

  /**
   * Checks, before any graph is built, that the checkpoint holds at least as many language, cross-modality and
   * vision layers as the config asks for. The graph builder makes a few dozen ops per layer, so a config.json
   * with, say, {@code l_layers: 100000000} would otherwise spend minutes and gigabytes building a graph before
   * {@link #plan} could report the missing weights. Extra layers in the checkpoint are left to {@link #plan}.
   *
   * @throws IllegalArgumentException naming the checkpoint, the config field, how many layers the checkpoint
   *     holds and how many the config asks for
   */
  public static void checkLayerCounts(LxmertConfig config, WeightSource src) {
    Map<String, Integer> held = new LinkedHashMap<>();
    for (String name : src.entries().keySet()) {
      Matcher m = LAYER_NAME.matcher(name);
      if (m.find()) {
        held.merge(m.group(1), Integer.parseInt(m.group(2)) + 1, Math::max);
      }
    }
    layerCount(src, "l_layers", "language", config.lLayers(), held.getOrDefault("layer", 0));
    layerCount(src, "x_layers", "cross-modality", config.xLayers(), held.getOrDefault("x_layers", 0));
    layerCount(src, "r_layers", "vision", config.rLayers(), held.getOrDefault("r_layers", 0));
  }

  private static void layerCount(WeightSource src, String field, String kind, int wanted, int held) {
    if (wanted > held) {
      throw new IllegalArgumentException(src.description() + ": config field " + field + ": expected at most the "
          + held + " " + kind + " layer(s) the checkpoint holds, found " + wanted
          + " (does config.json belong to this checkpoint?)");
    }
  }

  /** Checks the source against the graph's weights without loading anything. */
  public static Plan plan(ModelScope ms, WeightSource src) {
    Map<String, WeightSource.Entry> entries = src.entries();
    boolean pt = src.layout() == WeightSource.Layout.PYTORCH;
    boolean stripBase = pt && entries.keySet().stream().noneMatch(k -> k.startsWith("lxmert"));
    Map<String, String> names = new LinkedHashMap<>();
    Map<String, Boolean> transposed = new LinkedHashMap<>();
    List<String> missing = new ArrayList<>();
    List<String> mismatched = new ArrayList<>();
    long total = 0;
    for (ModelScope.Weight w : ms.weights().values()) {
      String key = w.name();
      boolean t = false;
      if (pt) {
        WeightNames.PtName p = WeightNames.toPytorch(w.name(), stripBase);
        key = p.key();
        t = p.transposed() && w.shape().length == 2;
      }
      WeightSource.Entry e = entries.get(key);
      if (e == null) {
        missing.add(pt ? w.name() + " (PyTorch key " + key + ")" : w.name());
        continue;
      }
      long[] expected = t ? new long[] {w.shape()[1], w.shape()[0]} : w.shape();
      if (!Arrays.equals(expected, e.shape())) {
        mismatched.add(key + ": checkpoint " + Arrays.toString(e.shape()) + ", model expects "
            + Arrays.toString(expected) + (t ? " (PyTorch [out, in] layout)" : ""));
        continue;
      }
      names.put(w.name(), key);
      transposed.put(w.name(), t);
      total += e.elements() * 4;
    }
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException(src.description() + ": " + missing.size() + " weight(s) missing from the "
          + "checkpoint (the model would be partly random, so nothing was loaded):\n  " + String.join("\n  ", missing));
    }
    if (!mismatched.isEmpty()) {
      throw new IllegalArgumentException(src.description() + ": " + mismatched.size() + " weight(s) with the wrong "
          + "shape (does config.json belong to this checkpoint?):\n  " + String.join("\n  ", mismatched));
    }
    Set<String> used = new TreeSet<>(names.values());
    Set<String> builtTops = new TreeSet<>();
    for (String n : ms.weights().keySet()) {
      builtTops.add(n.substring(0, n.indexOf('/')));
    }
    List<String> unexpected = new ArrayList<>();
    List<String> ignoredHeads = new ArrayList<>();
    for (String k : entries.keySet()) {
      if (used.contains(k) || (pt && k.equals("cls.predictions.decoder.weight"))) {
        continue; // the PyTorch decoder is tied to the word embeddings
      }
      String top = pt ? (stripBase ? "lxmert" : k.split("\\.")[0]) : k.split("/")[0];
      if (WeightNames.TOP_LEVEL.contains(top) && !builtTops.contains(top)) {
        ignoredHeads.add(k);
      } else {
        unexpected.add(k);
      }
    }
    return new Plan(names, transposed, unexpected, ignoredHeads, total);
  }

  /**
   * Loads every weight of {@code ms} from {@code src} into {@code session}'s variables (the export and training
   * graphs).
   *
   * @param progress receives the number of bytes loaded so far (may be null)
   */
  public static Plan load(ModelScope ms, WeightSource src, Session session, LongConsumer progress) throws IOException {
    if (ms.fedWeights()) {
      throw new IllegalArgumentException("load() assigns variables; this graph's weights are fed: use read()");
    }
    Plan plan = plan(ms, src);
    logPlan(src, plan);
    ByteBuffer staging = staging(ms.weights().values(), plan); // for PyTorch kernels, transposed on the way in
    List<ModelScope.Weight> chunk = new ArrayList<>();
    long chunkBytes = 0;
    long done = 0;
    for (ModelScope.Weight w : ms.weights().values()) {
      long bytes = numel(w.shape()) * 4;
      if (!chunk.isEmpty() && chunkBytes + bytes > CHUNK_BYTES) {
        assignChunk(session, chunk, src, plan, staging);
        done += chunkBytes;
        if (progress != null) {
          progress.accept(done);
        }
        chunk.clear();
        chunkBytes = 0;
      }
      chunk.add(w);
      chunkBytes += bytes;
    }
    if (!chunk.isEmpty()) {
      assignChunk(session, chunk, src, plan, staging);
      if (progress != null) {
        progress.accept(done + chunkBytes);
      }
    }
    return plan;
  }

  /** Reads the chunk's weights into new tensors (one copy each) and assigns them all in one run. */
  private static void assignChunk(Session session, List<ModelScope.Weight> chunk, WeightSource src, Plan plan,
                                  ByteBuffer staging) throws IOException {
    List<TFloat32> tensors = new ArrayList<>();
    try {
      Session.Runner runner = session.runner();
      for (ModelScope.Weight w : chunk) {
        TFloat32 t = readWeight(w, src, plan, staging);
        tensors.add(t);
        runner.feed(w.loadValue(), t).addTarget(w.load());
      }
      runner.run();
    } finally {
      for (TFloat32 t : tensors) {
        t.close();
      }
    }
  }

  /** A reused buffer for transposing the largest PyTorch kernel among {@code ws}, or null if none is transposed. */
  private static ByteBuffer staging(Iterable<ModelScope.Weight> ws, Plan plan) {
    long largest = 0;
    for (ModelScope.Weight w : ws) {
      if (plan.transposed().get(w.name())) {
        largest = Math.max(largest, numel(w.shape()) * 4);
      }
    }
    return largest == 0 ? null : ByteBuffer.allocateDirect((int) largest).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** A new tensor (the caller closes it) holding weight {@code w} read from the file in one copy. */
  private static TFloat32 readWeight(ModelScope.Weight w, WeightSource src, Plan plan, ByteBuffer staging)
      throws IOException {
    int bytes = (int) (numel(w.shape()) * 4);
    String key = plan.sourceNames().get(w.name());
    TFloat32 t = TFloat32.tensorOf(Shape.of(w.shape()));
    try {
      ByteBuffer dst = TensorMemory.view(t);
      if (plan.transposed().get(w.name())) {
        staging.clear();
        staging.limit(bytes);
        src.read(key, staging);
        checkRead(src, key, staging.position(), bytes);
        staging.flip();
        transpose(staging, dst, (int) w.shape()[1], (int) w.shape()[0]);
      } else {
        src.read(key, dst);
        checkRead(src, key, dst.position(), bytes);
      }
      return t;
    } catch (IOException | RuntimeException | Error e) {
      t.close();
      throw e;
    }
  }

  /**
   * Reads every weight of a {@link ModelScope#withFedWeights fed-weights} graph from {@code src} into new
   * tensors, one copy each straight from the file, in graph order. {@code plan} is {@link #plan}{@code (ms, src)},
   * which has already failed if a weight is missing or has the wrong shape. The caller owns (and closes) the
   * returned tensors; on an exception none remain.
   *
   * @param progress receives the number of bytes read so far (may be null)
   * @return the plan and the tensors by weight, in graph order
   */
  public static Read read(ModelScope ms, WeightSource src, Plan plan, LongConsumer progress) throws IOException {
    return read(ms, src, plan, progress, null);
  }

  /**
   * Where each tensor goes as soon as it is read, from the reading threads (so thread-safe): {@code true} keeps it
   * in the {@link Read} result; {@code false} means the sink took it (and closes it). Mixed bfloat16 uses this to
   * cast each kernel while the others are still being read, so float32 and bfloat16 copies of only the weights in
   * flight coexist.
   */
  @FunctionalInterface
  public interface Sink {
    boolean keep(ModelScope.Weight w, TFloat32 t);
  }

  /** {@link #read(ModelScope, WeightSource, Plan, LongConsumer)}, each tensor first offered to {@code sink}. */
  public static Read read(ModelScope ms, WeightSource src, Plan plan, LongConsumer progress, Sink sink)
      throws IOException {
    if (!ms.fedWeights()) {
      throw new IllegalArgumentException("read() is for a graph with fed weights; use load() for variables");
    }
    logPlan(src, plan);
    // Two threads (this one and a reader) read alternate halves by size: on a cold JVM the copy from the page cache
    // and the first touch of the tensors' memory are CPU-bound, and the graph builder is done by now.
    List<ModelScope.Weight> mine = new ArrayList<>();
    List<ModelScope.Weight> theirs = new ArrayList<>();
    long mineBytes = 0;
    long theirBytes = 0;
    List<ModelScope.Weight> bySize = new ArrayList<>(ms.weights().values());
    bySize.sort((a, b) -> Long.compare(numel(b.shape()), numel(a.shape())));
    for (ModelScope.Weight w : bySize) {
      if (mineBytes <= theirBytes) {
        mine.add(w);
        mineBytes += numel(w.shape()) * 4;
      } else {
        theirs.add(w);
        theirBytes += numel(w.shape()) * 4;
      }
    }
    AtomicLong done = new AtomicLong();
    Map<ModelScope.Weight, TFloat32> theirTensors = new java.util.concurrent.ConcurrentHashMap<>();
    Map<ModelScope.Weight, TFloat32> myTensors = new LinkedHashMap<>();
    Future<?> other = READERS.submit(() -> {
      readInto(theirs, src, plan, theirTensors, done, null, sink);
      return null;
    });
    try {
      try {
        readInto(mine, src, plan, myTensors, done, progress, sink);
      } finally {
        awaitQuietly(other); // the reader must be finished (or failed) before anything is freed or returned
      }
      await(other, "loading weights");
      Map<ModelScope.Weight, TFloat32> tensors = new LinkedHashMap<>();
      for (ModelScope.Weight w : ms.weights().values()) { // graph order
        TFloat32 t = myTensors.containsKey(w) ? myTensors.get(w) : theirTensors.get(w);
        if (t != null) {   // null: the sink took it
          tensors.put(w, t);
        }
      }
      if (progress != null) {
        progress.accept(done.get());
      }
      return new Read(plan, tensors);
    } catch (IOException | RuntimeException | Error e) {
      myTensors.values().forEach(TFloat32::close);
      theirTensors.values().forEach(TFloat32::close);
      throw e;
    }
  }

  /** Reads {@code ws} into new tensors put in {@code out} (the caller frees them, also on failure). */
  private static void readInto(List<ModelScope.Weight> ws, WeightSource src, Plan plan,
                               Map<ModelScope.Weight, TFloat32> out, AtomicLong done, LongConsumer progress,
                               Sink sink) throws IOException {
    ByteBuffer staging = staging(ws, plan); // for PyTorch kernels, which are transposed on the way in
    long reported = 0;
    for (ModelScope.Weight w : ws) {
      TFloat32 t = readWeight(w, src, plan, staging);
      boolean keep;
      try {
        keep = sink == null || sink.keep(w, t);
      } catch (RuntimeException | Error e) {
        t.close();
        throw e;
      }
      if (keep) {
        out.put(w, t);
      }
      long now = done.addAndGet(numel(w.shape()) * 4);
      if (progress != null && now - reported >= CHUNK_BYTES) {
        progress.accept(now);
        reported = now;
      }
    }
  }

  private static void awaitQuietly(Future<?> f) {
    boolean interrupted = false;
    while (true) {
      try {
        f.get();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      } catch (ExecutionException | java.util.concurrent.CancellationException e) {
        break;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /** The result of {@link #read}: the plan and one tensor per weight (owned by the caller). */
  public record Read(Plan plan, Map<ModelScope.Weight, TFloat32> tensors) {}

  /**
   * The task's result, with its exceptions rethrown as they were thrown (checked ones other than IOException
   * wrapped in one); {@code what} names the task in the message when this thread is interrupted while waiting.
   */
  public static <T> T await(Future<T> f, String what) throws IOException {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while " + what, e);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof IOException io) {
        throw io;
      }
      if (c instanceof RuntimeException re) {
        throw re;
      }
      if (c instanceof Error err) {
        throw err;
      }
      throw new IOException(c);
    }
  }

  private static void logPlan(WeightSource src, Plan plan) {
    if (!plan.unexpected().isEmpty()) {
      LOG.warn("{}: {} checkpoint tensor(s) not used by the model: {}", src.description(), plan.unexpected().size(),
          plan.unexpected());
    }
    if (!plan.ignoredHeads().isEmpty()) {
      LOG.debug("{}: ignoring {} tensor(s) of heads this model does not build", src.description(),
          plan.ignoredHeads().size());
    }
  }



  private static void checkRead(WeightSource src, String key, int read, int bytes) {
    if (read != bytes) {
      throw new IllegalArgumentException(src.description() + ": " + key + ": read " + read + " bytes, expected "
          + bytes);
    }
  }

  /** src holds [rows, cols] (PyTorch [out, in]); writes [cols, rows] into dst. */
  private static void transpose(ByteBuffer src, ByteBuffer dst, int rows, int cols) {
    FloatBuffer s = src.duplicate().order(ByteOrder.LITTLE_ENDIAN).position(0).asFloatBuffer();
    dst.clear();
    FloatBuffer d = dst.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        d.put(c * rows + r, s.get(r * cols + c));
      }
    }
  }

  private static long numel(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }
}
