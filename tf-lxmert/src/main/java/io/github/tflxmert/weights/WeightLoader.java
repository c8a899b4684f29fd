package io.github.tflxmert.weights;

import io.github.tflxmert.LxmertConfig;
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
import java.util.function.LongConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;

/**
 * Loads a checkpoint into a graph's weights: maps every graph weight to its checkpoint tensor through
 * {@link WeightNames}, checks presence and shape of all of them before assigning anything, then feeds the
 * values through the weights' {@code Assign} ops in runs of at most {@link #CHUNK_BYTES}. Tensors are streamed
 * one at a time through a reused direct buffer, so neither the Java heap nor native memory ever holds the
 * whole checkpoint twice.
 *
 * <p>Missing weights: an error listing every missing name. Shape mismatch: an error naming the tensor and both
 * shapes. Unexpected checkpoint tensors: a warning listing them (tensors of heads the graph does not build,
 * e.g. a pretraining checkpoint loaded into the base model, are only logged at debug level). Stateless;
 * thread-safe as long as each call has its own session.
 */
public final class WeightLoader {
  private static final Logger LOG = LoggerFactory.getLogger(WeightLoader.class);
  /** Largest total size of the tensors fed in one Session.run. */
  public static final long CHUNK_BYTES = 256L << 20;

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
   * Loads every weight of {@code ms} from {@code src} into {@code session}.
   *
   * @param progress receives the number of bytes loaded so far (may be null)
   */
  public static Plan load(ModelScope ms, WeightSource src, Session session, LongConsumer progress) throws IOException {
    Plan plan = plan(ms, src);
    if (!plan.unexpected().isEmpty()) {
      LOG.warn("{}: {} checkpoint tensor(s) not used by the model: {}", src.description(), plan.unexpected().size(),
          plan.unexpected());
    }
    if (!plan.ignoredHeads().isEmpty()) {
      LOG.debug("{}: ignoring {} tensor(s) of heads this model does not build", src.description(),
          plan.ignoredHeads().size());
    }
    long largest = 0;
    for (ModelScope.Weight w : ms.weights().values()) {
      largest = Math.max(largest, numel(w.shape()) * 4);
    }
    ByteBuffer staging = ByteBuffer.allocateDirect((int) largest).order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer transposeBuf = null;
    List<ModelScope.Weight> chunk = new ArrayList<>();
    long chunkBytes = 0;
    long done = 0;
    for (ModelScope.Weight w : ms.weights().values()) {
      long bytes = numel(w.shape()) * 4;
      if (!chunk.isEmpty() && chunkBytes + bytes > CHUNK_BYTES) {
        runChunk(session, chunk, src, plan, staging, transposeBuf);
        done += chunkBytes;
        if (progress != null) {
          progress.accept(done);
        }
        chunk.clear();
        chunkBytes = 0;
      }
      if (plan.transposed().get(w.name()) && transposeBuf == null) {
        transposeBuf = ByteBuffer.allocateDirect((int) largest).order(ByteOrder.LITTLE_ENDIAN);
      }
      chunk.add(w);
      chunkBytes += bytes;
    }
    if (!chunk.isEmpty()) {
      runChunk(session, chunk, src, plan, staging, transposeBuf);
      done += chunkBytes;
      if (progress != null) {
        progress.accept(done);
      }
    }
    return plan;
  }

  private static void runChunk(Session session, List<ModelScope.Weight> chunk, WeightSource src, Plan plan,
                               ByteBuffer staging, ByteBuffer transposeBuf) throws IOException {
    List<TFloat32> tensors = new ArrayList<>();
    try {
      Session.Runner runner = session.runner();
      for (ModelScope.Weight w : chunk) {
        int bytes = (int) (numel(w.shape()) * 4);
        staging.clear();
        staging.limit(bytes);
        src.read(plan.sourceNames().get(w.name()), staging);
        if (staging.position() != bytes) {
          throw new IllegalArgumentException(src.description() + ": " + plan.sourceNames().get(w.name())
              + ": read " + staging.position() + " bytes, expected " + bytes);
        }
        staging.flip();
        ByteBuffer values = staging;
        if (plan.transposed().get(w.name())) {
          transpose(staging, transposeBuf, (int) w.shape()[1], (int) w.shape()[0]);
          values = transposeBuf;
        }
        ByteBuffer v = values;
        TFloat32 t = TFloat32.tensorOf(Shape.of(w.shape()),
            dst -> DataBuffers.of(v.duplicate().position(0).limit(bytes)).copyTo(dst.asRawTensor().data(), bytes));
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
