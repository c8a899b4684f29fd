package io.github.tflxmert.training;

import io.github.tflxmert.Tensors;

import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.IntArray;
import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.graph.LxmertGraph;
import io.github.tflxmert.graph.ModelScope;
import io.github.tflxmert.weights.WeightLoader;
import io.github.tflxmert.weights.WeightSource;
import io.github.tflxmert.weights.WeightSources;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * Trains LXMERT from Java: the pretraining graph ({@link LxmertGraph}, built with the training flag from
 * {@link TrainingOptions#dropout()}), the loss terms of {@link PretrainingLosses}, gradients of the total
 * with respect to the trained weights ({@link Graph#addGradients}), and Adam through TF's raw
 * {@code ApplyAdam} op (the framework's Adam rejects variable names with '/'), with decoupled weight decay,
 * global-norm clipping and a linear warm-up/decay schedule (see {@link TrainingOptions}).
 *
 * <p>Learning rate and Adam's beta powers are computed in Java from the step counter and fed; the counter is
 * the variable {@code train/global_step}, so {@link #save}/{@link #restore} (TF V2 checkpoints of every
 * variable: weights, Adam slots, step) resume exactly. {@link #exportPretrained} writes a model directory that
 * {@code LxmertForPreTraining.fromPretrained} loads.
 *
 * <p>Not thread-safe: one thread trains. The caller closes the trainer, which frees graph and session.
 */
public final class LxmertTrainer implements AutoCloseable {
  /** One optimizer step's report. */
  public record StepResult(long step, float loss, float learningRate, float gradNorm) {}

  /** One batch for {@link #fit}. */
  public record Batch(LxmertInputs inputs, PretrainingLabels labels) {}

  private final LxmertConfig config;
  private final TrainingOptions options;
  private final Graph graph;
  private final LxmertGraph model;
  private final PretrainingLosses losses;
  private final Session session;
  private final List<ModelScope.Weight> trained = new ArrayList<>();
  private final Placeholder<TFloat32> lr;
  private final Placeholder<TFloat32> beta1Power;
  private final Placeholder<TFloat32> beta2Power;
  private final Operand<TFloat32> gradNorm;
  private final Variable<TInt64> globalStep;
  private final Op train;
  private long step;

  private LxmertTrainer(LxmertConfig config, Path checkpoint, TrainingOptions options) throws IOException {
    this.config = config;
    this.options = options;
    this.graph = new Graph();
    Session s = null;
    try {
      ModelScope ms = new ModelScope(graph);
      model = new LxmertGraph(ms, config, LxmertGraph.Kind.PRETRAINING, "", TInt32.class,
          options.dropout() ? new LxmertGraph.Dropout(options.seed()) : null);
      losses = new PretrainingLosses(model, options.losses());
      // Weights the enabled loss terms do not reach (e.g. the last X-layer's vision branch under a text-only
      // loss) get no gradient, as in Python; addGradients would reject them.
      java.util.Set<String> reached = reachableOps(losses.total());
      for (ModelScope.Weight w : ms.weights().values()) {
        if ((options.trainable() == TrainingOptions.Trainable.ALL || w.name().startsWith("answer_head/"))
            && reached.contains(w.variable().op().name())) {
          trained.add(w);
        }
      }
      if (trained.isEmpty()) {
        throw new IllegalArgumentException("no trainable weight is reached by the loss terms "
            + losses.terms().keySet());
      }
      Ops tf = ms.scope("train");
      lr = tf.withName("learning_rate").placeholder(TFloat32.class, Placeholder.shape(Shape.scalar()));
      beta1Power = tf.withName("beta1_power").placeholder(TFloat32.class, Placeholder.shape(Shape.scalar()));
      beta2Power = tf.withName("beta2_power").placeholder(TFloat32.class, Placeholder.shape(Shape.scalar()));
      globalStep = tf.withName("global_step").variable(tf.constant(0L));

      Output<?>[] xs = new Output<?>[trained.size()];
      for (int i = 0; i < xs.length; i++) {
        xs[i] = trained.get(i).variable().asOutput();
      }
      Output<?>[] dy = graph.addGradients(losses.total().asOutput(), xs);
      // Every update waits for every gradient: the forward/backward pass reads the ref variables that
      // ApplyAdam changes in place.
      List<Operand<TFloat32>> grads = new ArrayList<>();
      List<Op> gradOps = new ArrayList<>();
      for (int i = 0; i < dy.length; i++) {
        if (dy[i] == null) {
          throw new IllegalStateException("no gradient for " + trained.get(i).name());
        }
        @SuppressWarnings("unchecked")
        Operand<TFloat32> g = tf.identity((Operand<TFloat32>) (Operand<?>) dy[i]);
        grads.add(g);
        gradOps.add((Op) g);
      }
      Operand<TFloat32> sq = tf.constant(0f);
      for (Operand<TFloat32> g : grads) {
        sq = tf.math.add(sq, tf.reduceSum(tf.math.mul(g, g), allAxes(tf, g)));
      }
      gradNorm = tf.withName("grad_norm").math.sqrt(sq);
      if (options.clipNorm() > 0) {
        Operand<TFloat32> clip = tf.constant(options.clipNorm());
        Operand<TFloat32> scale = tf.math.div(clip, tf.math.maximum(gradNorm, clip));
        grads.replaceAll(g -> tf.math.mul(g, scale));
      }
      Ops after = tf.withControlDependencies(gradOps);
      List<Op> updates = new ArrayList<>();
      for (int i = 0; i < trained.size(); i++) {
        ModelScope.Weight w = trained.get(i);
        Ops slot = after.withSubScope("slot_" + i);
        Variable<TFloat32> m = slot.withName("m").variable(tf.zeros(tf.constant(w.shape()), TFloat32.class));
        Variable<TFloat32> v = slot.withName("v").variable(tf.zeros(tf.constant(w.shape()), TFloat32.class));
        Ops upd = slot;
        if (options.weightDecay() > 0 && decays(w.name())) {
          Op decay = slot.withName("decay").assignSub(w.variable(),
              tf.math.mul(tf.math.mul(lr, tf.constant(options.weightDecay())), w.value()));
          upd = slot.withControlDependencies(List.of(decay));
        }
        updates.add(upd.withName("adam").train.applyAdam(w.variable(), m, v, beta1Power, beta2Power, lr,
            tf.constant(options.beta1()), tf.constant(options.beta2()), tf.constant(options.epsilon()),
            grads.get(i)));
      }
      Op bump = tf.withControlDependencies(updates).assignAdd(globalStep, tf.constant(1L));
      train = tf.withControlDependencies(List.of(bump)).withName("step").noOp();

      ConfigProto.Builder cp = ConfigProto.newBuilder();
      if (options.threads() > 0) {
        cp.setIntraOpParallelismThreads(options.threads()).setInterOpParallelismThreads(1);
      }
      s = new Session(graph, cp.build());
      s.initialize();
      try (WeightSource src = WeightSources.open(checkpoint)) {
        WeightLoader.load(ms, src, s, null);
      }
      session = s;
    } catch (RuntimeException | IOException | Error e) {
      if (s != null) {
        s.close();
      }
      graph.close();
      throw e;
    }
  }

  /** A trainer over the weights of {@code checkpoint} (tf_model.h5 or model.safetensors, TF or PT names). */
  public static LxmertTrainer create(LxmertConfig config, Path checkpoint, TrainingOptions options)
      throws IOException {
    return new LxmertTrainer(config, checkpoint, options);
  }

  /** A trainer over an HF model directory (config.json plus a checkpoint). */
  public static LxmertTrainer fromPretrained(Path modelDir, TrainingOptions options) throws IOException {
    return create(LxmertConfig.fromJsonFile(modelDir.resolve("config.json")), WeightSources.checkpointIn(modelDir),
        options);
  }

  /** Names of every op the value of {@code out} depends on (data inputs, transitively). */
  private static java.util.Set<String> reachableOps(Operand<?> out) {
    java.util.Set<String> seen = new java.util.HashSet<>();
    java.util.ArrayDeque<org.tensorflow.GraphOperation> todo = new java.util.ArrayDeque<>();
    todo.add((org.tensorflow.GraphOperation) out.op());
    while (!todo.isEmpty()) {
      org.tensorflow.GraphOperation op = todo.pop();
      if (!seen.add(op.name())) {
        continue;
      }
      for (int i = 0; i < op.numInputs(); i++) {
        todo.add((org.tensorflow.GraphOperation) op.input(i).op());
      }
    }
    return seen;
  }

  /**
   * Writes freshly initialised weights for {@code config} to {@code file} (TF-format safetensors), as HF
   * initialises them: kernels and embeddings truncated normal (stddev initializer_range, cut at 2 stddev),
   * biases and LayerNorm betas 0, gammas 1. For training from scratch: pass the file to {@link #create}.
   */
  public static void writeRandomWeights(LxmertConfig config, long seed, Path file) throws IOException {
    Map<String, FloatArray> w = new LinkedHashMap<>();
    java.util.Random rnd = new java.util.Random(seed);
    try (Graph g = new Graph()) {
      LxmertGraph m = new LxmertGraph(g, config, LxmertGraph.Kind.PRETRAINING);
      for (ModelScope.Weight weight : m.scope().weights().values()) {
        long n = 1;
        for (long d : weight.shape()) {
          n *= d;
        }
        float[] data = new float[Math.toIntExact(n)];
        String leaf = weight.name().substring(weight.name().lastIndexOf('/') + 1);
        if (leaf.equals("gamma")) {
          java.util.Arrays.fill(data, 1f);
        } else if (leaf.equals("kernel") || leaf.equals("weight") || leaf.equals("embeddings")) {
          for (int i = 0; i < data.length; i++) {
            double x;
            do {
              x = rnd.nextGaussian();
            } while (Math.abs(x) > 2);
            data[i] = (float) (x * config.initializerRange());
          }
        }
        w.put(weight.name(), new FloatArray(weight.shape().clone(), data));
      }
    }
    Files.createDirectories(file.toAbsolutePath().getParent());
    writeSafetensors(file, w);
  }

  /** Weight decay skips biases and LayerNorm parameters, as BERT-style AdamW does. */
  private static boolean decays(String name) {
    String leaf = name.substring(name.lastIndexOf('/') + 1);
    return leaf.equals("kernel") || leaf.equals("weight") || leaf.equals("embeddings");
  }

  private static Operand<TInt32> allAxes(Ops tf, Operand<TFloat32> x) {
    return tf.range(tf.constant(0), tf.rank(x), tf.constant(1));
  }

  /** Every enabled loss term and {@code total}, without updating anything (dropout as configured). */
  public Map<String, Float> losses(LxmertInputs inputs, PretrainingLabels labels) {
    List<Tensor> feeds = new ArrayList<>();
    try {
      Session.Runner r = feed(session.runner(), inputs, labels, feeds);
      List<String> names = new ArrayList<>(losses.terms().keySet());
      names.forEach(n -> r.fetch(losses.terms().get(n)));
      r.fetch(losses.total());
      Map<String, Float> out = new LinkedHashMap<>();
      try (Result res = r.run()) {
        for (int i = 0; i < names.size(); i++) {
          out.put(names.get(i), ((TFloat32) res.get(i)).getFloat());
        }
        out.put("total", ((TFloat32) res.get(names.size())).getFloat());
      }
      return out;
    } finally {
      feeds.forEach(Tensor::close);
    }
  }

  /** One optimizer step on one batch; returns the loss before the update. */
  public StepResult step(LxmertInputs inputs, PretrainingLabels labels) {
    long t = step + 1;
    float rate = options.learningRateAt(t);
    List<Tensor> feeds = new ArrayList<>();
    try {
      Session.Runner r = feed(session.runner(), inputs, labels, feeds);
      r.feed(lr, track(feeds, TFloat32.scalarOf(rate)));
      r.feed(beta1Power, track(feeds, TFloat32.scalarOf((float) Math.pow(options.beta1(), t))));
      r.feed(beta2Power, track(feeds, TFloat32.scalarOf((float) Math.pow(options.beta2(), t))));
      r.fetch(losses.total()).fetch(gradNorm).addTarget(train);
      try (Result res = r.run()) {
        step = t;
        return new StepResult(t, ((TFloat32) res.get(0)).getFloat(), rate, ((TFloat32) res.get(1)).getFloat());
      }
    } finally {
      feeds.forEach(Tensor::close);
    }
  }

  /**
   * Trains for {@code epochs} passes over {@code batches}, reporting a progress line
   * ({@code step, loss, lr, examples/s}) every {@code logEvery} steps to {@code log} (null: no report).
   *
   * @return the last step's result
   */
  public StepResult fit(List<Batch> batches, int epochs, int logEvery, Consumer<String> log) {
    StepResult last = null;
    long t0 = System.nanoTime();
    long examples = 0;
    double lossSum = 0;
    int lossCount = 0;
    for (int e = 0; e < epochs; e++) {
      for (Batch b : batches) {
        last = step(b.inputs(), b.labels());
        examples += b.inputs().batchSize();
        lossSum += last.loss();
        lossCount++;
        if (log != null && logEvery > 0 && last.step() % logEvery == 0) {
          double secs = (System.nanoTime() - t0) / 1e9;
          log.accept(String.format("step %d  epoch %d  loss %.4f  lr %.3g  grad-norm %.3f  %.1f examples/s",
              last.step(), e + 1, lossSum / lossCount, last.learningRate(), last.gradNorm(), examples / secs));
          lossSum = 0;
          lossCount = 0;
        }
      }
    }
    return last;
  }

  /** Steps taken so far (restored by {@link #restore}). */
  public long stepCount() {
    return step;
  }

  /** Current values of every model weight, by HF name (without model prefix and {@code :0}). */
  public Map<String, FloatArray> weights() {
    Map<String, FloatArray> out = new LinkedHashMap<>();
    List<ModelScope.Weight> all = new ArrayList<>(model.scope().weights().values());
    Session.Runner r = session.runner();
    all.forEach(w -> r.fetch(w.value()));
    try (Result res = r.run()) {
      for (int i = 0; i < all.size(); i++) {
        out.put(all.get(i).name(), Tensors.copy((TFloat32) res.get(i)));
      }
    }
    return out;
  }

  /** Writes a TF V2 checkpoint of every variable (weights, Adam slots, step) at {@code prefix}. */
  public void save(Path prefix) throws IOException {
    Files.createDirectories(prefix.toAbsolutePath().getParent());
    session.save(prefix.toString());
  }

  /** Restores a checkpoint written by {@link #save} with the same config and options, and its step count. */
  public void restore(Path prefix) {
    session.restore(prefix.toString());
    try (Result res = session.runner().fetch(globalStep).run()) {
      step = ((TInt64) res.get(0)).getLong();
    }
  }

  /**
   * Writes an HF model directory: {@code model.safetensors} (TF names with {@code :0}, metadata format tf),
   * {@code config.json}, and a copy of {@code vocab} when given.
   */
  public void exportPretrained(Path dir, Path vocab) throws IOException {
    Files.createDirectories(dir);
    Map<String, FloatArray> w = weights();
    writeSafetensors(dir.resolve("model.safetensors"), w);
    config.writeJson(dir.resolve("config.json"));
    if (vocab != null) {
      Files.copy(vocab, dir.resolve("vocab.txt"), StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /** A float32 safetensors file with HF's TF names ({@code name:0}) and metadata {@code format: tf}. */
  static void writeSafetensors(Path file, Map<String, FloatArray> tensors) throws IOException {
    StringBuilder h = new StringBuilder("{\"__metadata__\":{\"format\":\"tf\"}");
    long offset = 0;
    for (Map.Entry<String, FloatArray> e : tensors.entrySet()) {
      long bytes = 4L * e.getValue().data().length;
      h.append(",\"").append(e.getKey()).append(":0\":{\"dtype\":\"F32\",\"shape\":[");
      long[] shape = e.getValue().shape();
      for (int i = 0; i < shape.length; i++) {
        h.append(i > 0 ? "," : "").append(shape[i]);
      }
      h.append("],\"data_offsets\":[").append(offset).append(',').append(offset + bytes).append("]}");
      offset += bytes;
    }
    h.append('}');
    while ((h.length() + 8) % 8 != 0) {
      h.append(' ');
    }
    byte[] header = h.toString().getBytes(StandardCharsets.UTF_8);
    try (OutputStream out = Files.newOutputStream(file)) {
      ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length);
      out.write(len.array());
      out.write(header);
      for (FloatArray a : tensors.values()) {
        ByteBuffer b = ByteBuffer.allocate(4 * a.data().length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(a.data());
        out.write(b.array());
      }
    }
  }

  private Session.Runner feed(Session.Runner r, LxmertInputs inputs, PretrainingLabels labels, List<Tensor> feeds) {
    inputs.validate(config);
    Tensors.feedInputs(r, model, inputs, feeds);
    for (Map.Entry<String, Placeholder<?>> e : losses.labels().entrySet()) {
      Object v = labels.get(e.getKey());
      if (v == null) {
        throw new IllegalArgumentException("label " + e.getKey() + " is missing; the enabled loss terms "
            + losses.terms().keySet() + " need " + losses.labels().keySet());
      }
      boolean wantsInt = e.getValue().type() == TInt32.class;
      if (wantsInt != (v instanceof IntArray)) {
        throw new IllegalArgumentException("label " + e.getKey() + ": expected " + (wantsInt ? "int" : "float")
            + " values, found " + v.getClass().getSimpleName());
      }
      r.feed(e.getValue(), track(feeds, v instanceof IntArray ia ? Tensors.ints(ia) : Tensors.floats((FloatArray) v)));
    }
    return r;
  }

  private static <T extends Tensor> T track(List<Tensor> l, T t) {
    l.add(t);
    return t;
  }


  public LxmertConfig config() {
    return config;
  }

  public TrainingOptions options() {
    return options;
  }

  /** Names of the trained weights. */
  public List<String> trainedWeights() {
    return trained.stream().map(ModelScope.Weight::name).toList();
  }

  @Override
  public void close() {
    session.close();
    graph.close();
  }
}
