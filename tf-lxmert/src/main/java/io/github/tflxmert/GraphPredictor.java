package io.github.tflxmert;

import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.graph.BuildContext;
import io.github.tflxmert.graph.KernelFusion;
import io.github.tflxmert.graph.LxmertGraph;
import io.github.tflxmert.graph.ModelScope;
import io.github.tflxmert.weights.WeightLoader;
import io.github.tflxmert.weights.WeightSource;
import io.github.tflxmert.weights.WeightSources;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * LXMERT built from TensorFlow ops ({@link LxmertGraph}) with weights loaded from an HF checkpoint, run in
 * one TensorFlow {@link Session}. Base of {@link LxmertModel}, {@link LxmertForPreTraining} and
 * {@link LxmertForQuestionAnswering}. The weights are
 * tensors read once from the file and fed on every run (TensorFlow shares fed buffers, so they exist once in
 * memory and loading needs no assign runs); {@link io.github.tflxmert.export.SavedModelExporter} builds its own
 * graph with variables for export.
 *
 * <p>Thread-safe: any number of threads may call {@link #predict} at once (they share the session, which
 * TensorFlow allows). {@link #close()} waits for calls in flight, then frees the graph, session and weights; later
 * calls throw {@link IllegalStateException}. The caller that opened the model closes it.
 */
public abstract class GraphPredictor implements LxmertPredictor {
  private final LxmertConfig config;
  private final Graph graph;
  private final LxmertGraph model;
  private final Session session;
  private final Set<String> available;
  private final WeightLoader.Plan plan;
  /** The float32 weight tensors fed on every run, by weight (owned; closed by {@link #close()}). */
  private final Map<ModelScope.Weight, TFloat32> weights;
  /**
   * Mixed bfloat16 only (else empty): the bfloat16 weights fed on every run in place of their casts (owned; closed
   * by {@link #close()}).
   */
  private final Map<Operand<TBfloat16>, TBfloat16> weights16;
  private final Precision precision;
  private final Path checkpoint;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private volatile boolean closed;
  /** The fallback from packed bfloat16 kernels is logged once per process. */
  private static final AtomicBoolean PACKING_WARNED = new AtomicBoolean();
  /**
   * Builds graphs while the opening thread reads the checkpoint. Shared, daemon threads that end after a minute
   * idle: a new native thread per load would make the C allocator set up fresh per-thread arenas, which showed as
   * resident-memory growth over repeated open/close cycles.
   */
  private static final ExecutorService BUILDERS = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "lxmert-graph-builder");
    t.setDaemon(true);
    return t;
  });

  GraphPredictor(LxmertConfig config, Path checkpoint, LoadOptions options, LxmertGraph.Kind kind) throws IOException {
    this.config = config;
    this.checkpoint = checkpoint;
    this.graph = new Graph();
    WeightLoader.Read read = null;
    Bfloat16Sink sink = null;
    ConfigProto sessionConfig = sessionConfig(options);
    this.precision = resolvePrecision(options.precision());
    // The graph (then its session) is built on a second thread while this one opens the checkpoint (each takes a
    // few hundred ms on a cold JVM; reading tensors meanwhile measured no faster: the 2 cores were then busy). The
    // builder stops at its next scope or weight if the checkpoint turns out not to match the config (a config.json
    // asking for 10^8 layers must not get to build them).
    AtomicBoolean started = new AtomicBoolean();
    CountDownLatch ended = new CountDownLatch(1);
    Future<Built> building = BUILDERS.submit(() -> {
      started.set(true);
      try {
        // XLA fuses by itself and has no kernel for TensorFlow's fused ops, so they are left out under XLA.
        KernelFusion fusion = options.xla() ? KernelFusion.OFF
            : KernelFusion.resolve(options.kernelFusion(), options.kernelFusionRequired(), sessionConfig);
        BuildContext ctx = BuildContext.inference(fusion).withDefects(options.defects())
            .withMixedBfloat16(precision == Precision.BFLOAT16);
        if (ctx.mixedBfloat16() && options.weightPacking() && fusion != KernelFusion.OFF) {
          String missing = KernelFusion.packedUnsupported(sessionConfig);
          if (missing == null) {
            ctx = ctx.withPackedWeights(true);
          } else if (PACKING_WARNED.compareAndSet(false, true)) {
            LOG.warn("bfloat16 kernels not packed (MatMul + BiasAdd instead, slower, same results to rounding): {}",
                missing);
          }
        }
        LxmertGraph m = new LxmertGraph(ModelScope.withFedWeights(graph), config, kind, "", TInt32.class, ctx);
        return new Built(m, new Session(graph, sessionConfig));
      } finally {
        ended.countDown();
      }
    });
    try (WeightSource src = WeightSources.open(checkpoint)) {
      WeightLoader.checkLayerCounts(config, src); // the config's layer counts against the checkpoint's
      Built built = WeightLoader.await(building, "building the graph");
      this.model = built.model();
      this.session = built.session();
      // Weights are fed on every run (TensorFlow shares the fed buffers): read once from the file into tensors,
      // no variables, no assign runs, no second copy.
      WeightLoader.Plan p = WeightLoader.plan(model.scope(), src); // fails before anything is read
      sink = new Bfloat16Sink(model.scope());
      read = WeightLoader.read(model.scope(), src, p, options.progressFor(p.totalBytes()), sink.orNull());
      this.plan = read.plan();
    } catch (RuntimeException | IOException | Error e) {
      if (read != null) {
        read.tensors().values().forEach(TFloat32::close);
      }
      if (sink != null) {
        sink.closeAll();
      }
      // The builder must have stopped before the graph is freed (it would otherwise add ops to freed memory).
      building.cancel(true);
      if (!started.get() || awaitQuietly(ended)) {
        if (building.isDone() && !building.isCancelled()) {
          try {
            building.get().session().close();
          } catch (ExecutionException | InterruptedException | RuntimeException ignored) {
            // the builder failed: there is no session
          }
        }
        graph.close();
      }
      throw e;
    }
    this.weights16 = sink.converted();
    this.weights = read.tensors();
    this.available = Collections.unmodifiableSet(new LinkedHashSet<>(model.outputs().keySet()));
  }

  private static final Logger LOG = LoggerFactory.getLogger(GraphPredictor.class);

  /** {@code wanted} on this CPU; AUTO says at INFO what it picked and why. */
  private static Precision resolvePrecision(Precision wanted) {
    if (wanted == Precision.FLOAT32) {
      return wanted;
    }
    Bfloat16Support hw = Bfloat16Support.detect();
    Precision p = wanted.resolve(hw);
    if (wanted == Precision.AUTO) {
      LOG.info("precision auto: {} ({})", p.shortName(), hw.autoReason());
    }
    return p;
  }

  /**
   * Mixed bfloat16: each weight the graph reads in bfloat16 is cast by TensorFlow's Cast (the rounding the graph's
   * own cast would do) as soon as it is read, on the reading thread; its float32 tensor is then closed unless the
   * graph also reads it in float32, so float32 and bfloat16 copies of only the weights in flight coexist. The
   * bfloat16 tensors are fed in place of their casts. Nothing to do for a float32 graph. Thread-safe (the reading
   * threads call {@link #keep} at once; a Session may be run from several threads).
   */
  private static final class Bfloat16Sink implements WeightLoader.Sink {
    private final ModelScope ms;
    private final Map<Operand<TBfloat16>, TBfloat16> out = new java.util.concurrent.ConcurrentHashMap<>();
    private Graph g;
    private Session s;
    private Placeholder<TFloat32> in;
    private Operand<TBfloat16> cast;

    Bfloat16Sink(ModelScope ms) {
      this.ms = ms;
      if (!ms.bfloat16Weights().isEmpty()) {
        g = new Graph();
        Ops tf = Ops.create(g);
        in = tf.placeholder(TFloat32.class);
        cast = tf.dtypes.cast(in, TBfloat16.class);
        s = new Session(g);
      }
    }

    /** This sink, or null when the graph has no bfloat16 weights (the loader then keeps every tensor). */
    WeightLoader.Sink orNull() {
      return s == null ? null : this;
    }

    @Override
    public boolean keep(ModelScope.Weight w, TFloat32 t) {
      Operand<TBfloat16> target = ms.bfloat16Weights().get(w.name());
      if (target == null) {
        return true;
      }
      // The Result holds only this tensor, which is kept: it is closed with the model, not with the Result.
      Result r = s.runner().feed(in, t).fetch(cast).run();
      out.put(target, (TBfloat16) r.get(0));
      if (ms.readsFloat32(w.name())) {
        return true;
      }
      t.close();
      return false;
    }

    /** The bfloat16 tensors by the cast they replace, in the graph's order; closes the conversion session. */
    Map<Operand<TBfloat16>, TBfloat16> converted() {
      closeSession();
      Map<Operand<TBfloat16>, TBfloat16> ordered = new LinkedHashMap<>();
      for (Operand<TBfloat16> c : ms.bfloat16Weights().values()) {
        if (out.containsKey(c)) {
          ordered.put(c, out.get(c));
        }
      }
      return ordered;
    }

    /** On a failed load: frees every bfloat16 tensor made so far and the session. */
    void closeAll() {
      out.values().forEach(TBfloat16::close);
      out.clear();
      closeSession();
    }

    private void closeSession() {
      if (s != null) {
        s.close();
        g.close();
        s = null;
      }
    }
  }

  /** What the builder thread makes: the graph and its session. */
  private record Built(LxmertGraph model, Session session) {}

  private static ConfigProto sessionConfig(LoadOptions options) {
    ConfigProto.Builder cfg = ConfigProto.newBuilder();
    if (options.intraOpThreads() > 0) {
      cfg.setIntraOpParallelismThreads(options.intraOpThreads());
    }
    if (options.interOpThreads() > 0) {
      cfg.setInterOpParallelismThreads(options.interOpThreads());
    }
    org.tensorflow.proto.GraphOptions.Builder graphOptions = org.tensorflow.proto.GraphOptions.newBuilder();
    if (options.xla()) {
      graphOptions.setOptimizerOptions(org.tensorflow.proto.OptimizerOptions.newBuilder()
          .setGlobalJitLevel(org.tensorflow.proto.OptimizerOptions.GlobalJitLevel.ON_1));
    }
    if (options.onednnBfloat16Rewrite()) {
      graphOptions.setRewriteOptions(org.tensorflow.proto.RewriterConfig.newBuilder()
          .setAutoMixedPrecisionOnednnBfloat16(org.tensorflow.proto.RewriterConfig.Toggle.ON));
    } else if (!options.graphOptimizer()) {
      graphOptions.setRewriteOptions(org.tensorflow.proto.RewriterConfig.newBuilder().setDisableMetaOptimizer(true));
    }
    return cfg.setGraphOptions(graphOptions).build();
  }

  /** Waits for the (interrupted) builder to end; false if it did not within a minute. */
  private static boolean awaitQuietly(CountDownLatch ended) {
    try {
      return ended.await(1, TimeUnit.MINUTES);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  static Path checkpointFor(Path modelDir, LoadOptions options) {
    return options.weightFile() != null ? options.weightFile() : WeightSources.checkpointIn(modelDir);
  }

  static LxmertConfig configIn(Path modelDir) throws IOException {
    Path c = modelDir.resolve("config.json");
    if (!java.nio.file.Files.exists(c, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      throw new IllegalArgumentException(modelDir + ": expected config.json, found none");
    }
    return LxmertConfig.fromJsonFile(c); // names a directory, a link loop or a dangling link in its place
  }

  @Override
  public LxmertConfig config() {
    return config;
  }

  @Override
  public Set<String> availableOutputs() {
    return available;
  }

  /** The checkpoint the weights came from. */
  public Path checkpoint() {
    return checkpoint;
  }

  /** How the checkpoint's tensors were matched (unexpected tensors, ignored heads, bytes). */
  public WeightLoader.Plan loadPlan() {
    return plan;
  }

  /** What the graph computes in: {@link Precision#FLOAT32} or {@link Precision#BFLOAT16} (AUTO resolved). */
  public Precision precision() {
    return precision;
  }

  /**
   * Whether the bfloat16 kernels run packed once by oneDNN ({@link LoadOptions#weightPacking()} after any
   * fallback); false in float32.
   */
  public boolean weightsPacked() {
    return model.context().packedWeights();
  }

  /** The kernels the graph was built with ({@link LoadOptions#kernelFusion()} after any fallback). */
  public KernelFusion kernelFusion() {
    return model.context().fusion();
  }

  /**
   * A copy of every weight's values, by HF TF weight name (e.g. {@code answer_head/logit_fc_._3/kernel}), in graph
   * order; TF layout (kernels [in, out]).
   *
   * @throws IllegalStateException if the model was closed
   */
  public Map<String, FloatArray> weightValues() {
    lock.readLock().lock();
    try {
      if (closed) {
        throw new IllegalStateException("this model was closed");
      }
      Map<String, FloatArray> out = new LinkedHashMap<>();
      weights.forEach((w, t) -> out.put(w.name(), Tensors.copy(t)));
      return out;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Adds the weight feeds: the weights are placeholders fed on every run, not variables. */
  private Session.Runner feedWeights(Session.Runner runner) {
    for (Map.Entry<ModelScope.Weight, TFloat32> e : weights.entrySet()) {
      runner.feed(e.getKey().loadValue(), e.getValue());
    }
    for (Map.Entry<Operand<TBfloat16>, TBfloat16> e : weights16.entrySet()) {
      runner.feed(e.getKey(), e.getValue());
    }
    return runner;
  }

  @Override
  public LxmertOutputs predict(LxmertInputs inputs, OutputSelection wanted) {
    return predict(inputs, wanted, null);
  }

  /**
   * One {@link #predict} traced by TensorFlow ({@code RunOptions} FULL_TRACE): the time each op type took over
   * the run, summed over its ops, by op type (as run, e.g. {@code _MklNativeFusedMatMul}, {@code Cast}), most
   * time first. Ops run in parallel on the inter-op threads, so the sum exceeds the call's wall time. For
   * profiling: tracing slows the run down.
   */
  public List<OpTime> profile(LxmertInputs inputs, OutputSelection wanted) {
    Map<String, long[]> byType = new java.util.HashMap<>();
    predict(inputs, wanted, md -> {
      for (org.tensorflow.proto.DeviceStepStats d : md.getStepStats().getDevStatsList()) {
        for (org.tensorflow.proto.NodeExecStats n : d.getNodeStatsList()) {
          String label = n.getTimelineLabel();
          int eq = label.indexOf(" = ");
          int paren = label.indexOf('(', eq + 3);
          String type = eq < 0 || paren < 0 ? n.getNodeName() : label.substring(eq + 3, paren);
          long[] a = byType.computeIfAbsent(type, k -> new long[2]);
          a[0] += n.getOpEndRelMicros() - n.getOpStartRelMicros();
          a[1]++;
        }
      }
    });
    List<OpTime> out = new ArrayList<>();
    byType.forEach((k, v) -> out.add(new OpTime(k, v[0], (int) v[1])));
    out.sort((a, b) -> Long.compare(b.micros(), a.micros()));
    return out;
  }

  /** One op type's time in a {@link #profile}d run: microseconds summed over {@code count} ops. */
  public record OpTime(String type, long micros, int count) {}

  private LxmertOutputs predict(LxmertInputs inputs, OutputSelection wanted,
                                java.util.function.Consumer<org.tensorflow.proto.RunMetadata> trace) {
    inputs.validate(config);
    List<String> names = new ArrayList<>();
    for (String n : wanted.names()) {
      if (!available.contains(n)) {
        throw new IllegalArgumentException("output " + n + " is not available from this model; available: " + available);
      }
      names.add(n);
    }
    lock.readLock().lock();
    try {
      if (closed) {
        throw new IllegalStateException("this model was closed");
      }
      List<Tensor> feeds = new ArrayList<>();
      try {
        Session.Runner r = Tensors.feedInputs(feedWeights(session.runner()), model, inputs, feeds);
        // Several names can be one tensor (language_output is the last language hidden state): fetch it once.
        Map<Operand<TFloat32>, Integer> fetchIndex = new LinkedHashMap<>();
        for (String n : names) {
          fetchIndex.computeIfAbsent(model.outputs().get(n), op -> {
            r.fetch(op);
            return fetchIndex.size();
          });
        }
        Map<String, FloatArray> out = new LinkedHashMap<>();
        if (trace != null) {
          r.setOptions(org.tensorflow.proto.RunOptions.newBuilder()
              .setTraceLevel(org.tensorflow.proto.RunOptions.TraceLevel.FULL_TRACE).build());
        }
        try (Result res = trace == null ? r.run() : r.runAndFetchMetadata()) {
          if (trace != null) {
            res.getMetadata().ifPresent(trace);
          }
          Map<Integer, FloatArray> copied = new LinkedHashMap<>();
          for (String n : names) {
            int i = fetchIndex.get(model.outputs().get(n));
            out.put(n, copied.computeIfAbsent(i, k -> Tensors.copy((TFloat32) res.get(k))));
          }
        }
        return new LxmertOutputs(out);
      } finally {
        for (Tensor t : feeds) {
          t.close();
        }
      }
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public void close() {
    lock.writeLock().lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      session.close();
      graph.close();
      for (TFloat32 t : weights.values()) {
        t.close();
      }
      for (TBfloat16 t : weights16.values()) {
        t.close();
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  public boolean isClosed() {
    return closed;
  }
}
