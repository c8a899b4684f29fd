package io.github.tflxmert.training;

import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.Tensors;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.IntArray;
import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.graph.BuildContext;
import io.github.tflxmert.graph.LxmertGraph;
import io.github.tflxmert.graph.ModelScope;
import io.github.tflxmert.weights.SafetensorsWriter;
import io.github.tflxmert.weights.WeightLoader;
import io.github.tflxmert.weights.WeightSource;
import io.github.tflxmert.weights.WeightSources;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * Trains LXMERT from Java: the pretraining graph ({@link LxmertGraph} with Keras' ops, dropout as
 * {@link TrainingOptions#dropout()} says), the loss terms of {@link PretrainingLosses}, gradients of the total
 * with respect to the trained weights ({@link Graph#addGradients}), optional global-norm clipping, and
 * {@link Adam} (AdamW with a weight decay) on a linear warm-up/decay schedule (see {@link TrainingOptions}).
 * {@link #gradients} returns the gradients of one batch without updating anything, by HF weight name, so they can
 * be held against {@code tf.GradientTape}.
 *
 * <p>{@link #save}/{@link #restore} write and read TF V2 checkpoints of every variable (weights, Adam slots, the
 * iteration), so training resumes exactly. {@link #exportPretrained} writes a model directory that
 * {@code LxmertForPreTraining.fromPretrained} loads.
 *
 * <p>Not thread-safe: one thread trains. The caller closes the trainer, which frees graph and session.
 */
public final class LxmertTrainer implements AutoCloseable {
  /** One optimizer step's report; {@code gradNorm} is the global norm before clipping. */
  public record StepResult(long step, float loss, float learningRate, float gradNorm) {}

  /** One batch for {@link #fit}. */
  public record Batch(LxmertInputs inputs, PretrainingLabels labels) {}

  private final LxmertConfig config;
  private final TrainingOptions options;
  private final Graph graph;
  private final LxmertGraph model;
  private final PretrainingLosses losses;
  private final List<ModelScope.Weight> trained;
  /** dL/dw per trained weight, unclipped, in the order of {@link #trained}. */
  private final List<Operand<TFloat32>> gradients;
  private final Operand<TFloat32> gradNorm;
  private final Adam adam;
  private final Op train;
  private final Session session;
  private long step;

  private LxmertTrainer(LxmertConfig config, Path checkpoint, TrainingOptions options) throws IOException {
    this.config = config;
    this.options = options;
    this.graph = new Graph();
    try {
      ModelScope ms = new ModelScope(graph);
      BuildContext ctx = BuildContext.keras()
          .withDropout(options.dropout() ? new BuildContext.Dropout(options.seed()) : null);
      LxmertGraph.Kind kind = kindOf(checkpoint);
      model = new LxmertGraph(ms, config, kind, "", TInt32.class, ctx);
      losses = new PretrainingLosses(model, lossesFor(kind, options.losses()));
      trained = trainedWeights(ms);
      gradients = gradients(ms);
      gradNorm = globalNorm(ms.scope("train"), gradients);
      adam = new Adam(ms, options);
      List<Op> everyGradient = gradients.stream().map(g -> (Op) g).toList();   // the Identity ops of gradients()
      train = adam.update(trained, clipped(ms.scope("train"), gradients, gradNorm), everyGradient);
      session = openSession(ms, checkpoint);
    } catch (RuntimeException | IOException | Error e) {
      graph.close();
      throw e;
    }
  }

  /**
   * What the checkpoint holds: a question-answering checkpoint ({@code answer_head} without pretraining heads, as
   * {@code LxmertForQuestionAnswering.savePretrained} or HF's VQA/GQA checkpoints write) is fine-tuned as one;
   * anything else as the pretraining model.
   */
  private static LxmertGraph.Kind kindOf(Path checkpoint) throws IOException {
    try (WeightSource src = WeightSources.open(checkpoint)) {
      return io.github.tflxmert.ModelClass.ofWeights(src) == io.github.tflxmert.ModelClass.QUESTION_ANSWERING
          ? LxmertGraph.Kind.QUESTION_ANSWERING : LxmertGraph.Kind.PRETRAINING;
    }
  }

  /** A question-answering model has one head, so one loss term: qa. */
  private static PretrainingLosses.Options lossesFor(LxmertGraph.Kind kind, PretrainingLosses.Options o) {
    if (kind != LxmertGraph.Kind.QUESTION_ANSWERING) {
      return o;
    }
    if (!o.terms().contains("qa")) {
      throw new IllegalArgumentException("TrainingOptions.losses: expected the qa term for a question-answering "
          + "checkpoint (it has no other head), found " + o.terms());
    }
    return new PretrainingLosses.Options(Set.of("qa"), o.ignoreIndex());
  }

  /**
   * A trainer over the weights of {@code checkpoint} (tf_model.h5, model.safetensors or pytorch_model.bin, TF or PT
   * names). A question-answering checkpoint (answer_head, no pretraining heads) trains its answer head's loss
   * ({@code qa}) only; {@link #exportPretrained} then writes a question-answering model directory.
   */
  public static LxmertTrainer create(LxmertConfig config, Path checkpoint, TrainingOptions options)
      throws IOException {
    return new LxmertTrainer(config, checkpoint, options);
  }

  /** A trainer over an HF model directory (config.json plus a checkpoint). */
  public static LxmertTrainer fromPretrained(Path modelDir, TrainingOptions options) throws IOException {
    return create(LxmertConfig.fromJsonFile(modelDir.resolve("config.json")), WeightSources.checkpointIn(modelDir),
        options);
  }

  /**
   * The weights that get gradients: all or the answer head's ({@link TrainingOptions#trainable()}), less those the
   * enabled loss terms do not reach (e.g. the last cross layer's vision branch under a text-only loss), which get no
   * gradient in Python either and which addGradients would reject.
   */
  private List<ModelScope.Weight> trainedWeights(ModelScope ms) {
    Set<String> reached = reachableOps(losses.total());
    List<ModelScope.Weight> out = new ArrayList<>();
    for (ModelScope.Weight w : ms.weights().values()) {
      if ((options.trainable() == TrainingOptions.Trainable.ALL || w.name().startsWith("answer_head/"))
          && reached.contains(w.variable().op().name())) {
        out.add(w);
      }
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("no trainable weight is reached by the loss terms " + losses.terms().keySet());
    }
    return out;
  }

  /** dL/dw of the total loss for every trained weight, each an Identity named {@code grad/<weight name>}. */
  private List<Operand<TFloat32>> gradients(ModelScope ms) {
    Output<?>[] xs = new Output<?>[trained.size()];
    for (int i = 0; i < xs.length; i++) {
      xs[i] = trained.get(i).variable().asOutput();
    }
    Output<?>[] dy = graph.addGradients(losses.total().asOutput(), xs);
    List<Operand<TFloat32>> out = new ArrayList<>();
    for (int i = 0; i < dy.length; i++) {
      String name = trained.get(i).name();
      if (dy[i] == null) {
        throw new IllegalStateException("no gradient for " + name);
      }
      @SuppressWarnings("unchecked")
      Operand<TFloat32> g = (Operand<TFloat32>) (Operand<?>) dy[i];
      int leaf = name.lastIndexOf('/');
      out.add(ms.scope("grad/" + name.substring(0, leaf)).withName(name.substring(leaf + 1)).identity(g));
    }
    return out;
  }

  /** {@code sqrt(sum of g² over every element of every gradient)}, a scalar. */
  private static Operand<TFloat32> globalNorm(Ops tf, List<Operand<TFloat32>> grads) {
    Operand<TFloat32> sq = tf.constant(0f);
    for (Operand<TFloat32> g : grads) {
      sq = tf.math.add(sq, tf.reduceSum(tf.math.mul(g, g), tf.range(tf.constant(0), tf.rank(g), tf.constant(1))));
    }
    return tf.withName("grad_norm").math.sqrt(sq);
  }

  /** The gradients scaled by {@code clip / max(norm, clip)} when clipping is on; themselves otherwise. */
  private List<Operand<TFloat32>> clipped(Ops tf, List<Operand<TFloat32>> grads, Operand<TFloat32> norm) {
    if (options.clipNorm() <= 0) {
      return grads;
    }
    Operand<TFloat32> clip = tf.constant(options.clipNorm());
    Operand<TFloat32> scale = tf.math.div(clip, tf.math.maximum(norm, clip));
    return grads.stream().map(g -> (Operand<TFloat32>) tf.math.mul(g, scale)).toList();
  }

  /** A session with every variable initialized (Adam slots at 0), then the checkpoint's weights assigned. */
  private Session openSession(ModelScope ms, Path checkpoint) throws IOException {
    ConfigProto.Builder cp = ConfigProto.newBuilder();
    if (options.threads() > 0) {
      cp.setIntraOpParallelismThreads(options.threads()).setInterOpParallelismThreads(1);
    }
    Session s = new Session(graph, cp.build());
    try {
      s.initialize();
      try (WeightSource src = WeightSources.open(checkpoint)) {
        WeightLoader.load(ms, src, s, null);
      }
      return s;
    } catch (RuntimeException | IOException | Error e) {
      s.close();
      throw e;
    }
  }

  /** Names of every op the value of {@code out} depends on (data inputs, transitively). */
  private static Set<String> reachableOps(Operand<?> out) {
    Set<String> seen = new HashSet<>();
    ArrayDeque<GraphOperation> todo = new ArrayDeque<>();
    todo.add((GraphOperation) out.op());
    while (!todo.isEmpty()) {
      GraphOperation op = todo.pop();
      if (!seen.add(op.name())) {
        continue;
      }
      for (int i = 0; i < op.numInputs(); i++) {
        todo.add((GraphOperation) op.input(i).op());
      }
    }
    return seen;
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

  /**
   * The gradient of the total loss with respect to every trained weight on one batch, by HF weight name (without
   * model prefix and {@code :0}), before clipping, with dropout as configured; updates nothing.
   */
  public Map<String, FloatArray> gradients(LxmertInputs inputs, PretrainingLabels labels) {
    List<Tensor> feeds = new ArrayList<>();
    try {
      Session.Runner r = feed(session.runner(), inputs, labels, feeds);
      gradients.forEach(r::fetch);
      Map<String, FloatArray> out = new LinkedHashMap<>();
      try (Result res = r.run()) {
        for (int i = 0; i < trained.size(); i++) {
          out.put(trained.get(i).name(), Tensors.copy((TFloat32) res.get(i)));
        }
      }
      return out;
    } finally {
      feeds.forEach(Tensor::close);
    }
  }

  /** One optimizer step on one batch; returns the loss before the update. */
  public StepResult step(LxmertInputs inputs, PretrainingLabels labels) {
    long t = step + 1;
    List<Tensor> feeds = new ArrayList<>();
    try {
      Session.Runner r = feed(session.runner(), inputs, labels, feeds);
      float rate = adam.feed(r, t, feeds);
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

  /** Writes a TF V2 checkpoint of every variable (weights, Adam slots, iteration) at {@code prefix}. */
  public void save(Path prefix) throws IOException {
    Files.createDirectories(prefix.toAbsolutePath().getParent());
    session.save(prefix.toString());
  }

  /** Restores a checkpoint written by {@link #save} with the same config and options, and its step count. */
  public void restore(Path prefix) {
    session.restore(prefix.toString());
    try (Result res = session.runner().fetch(adam.iteration()).run()) {
      step = ((TInt64) res.get(0)).getLong();
    }
  }

  /**
   * Writes an HF model directory: {@code model.safetensors} (TF names with {@code :0}, metadata format tf),
   * {@code config.json} (architectures LxmertForQuestionAnswering for a question-answering checkpoint; its labels,
   * which the trainer does not know, are not written), and a copy of {@code vocab} when given.
   */
  public void exportPretrained(Path dir, Path vocab) throws IOException {
    Files.createDirectories(dir);
    Map<String, FloatArray> w = weights();
    SafetensorsWriter.writeTf(dir.resolve("model.safetensors"), w);
    if (model.outputs().containsKey(io.github.tflxmert.config.OutputNames.PREDICTION_LOGITS)) {
      config.writeJson(dir.resolve("config.json"));
    } else {
      // A question-answering model: config.json says so, as HF's save_pretrained does (architectures decide).
      Map<String, Object> json = new LinkedHashMap<>(config.toJsonMap());
      json.put("architectures", List.of(io.github.tflxmert.ModelClass.QUESTION_ANSWERING.hfName()));
      Files.writeString(dir.resolve("config.json"), new com.fasterxml.jackson.databind.ObjectMapper()
          .writerWithDefaultPrettyPrinter().writeValueAsString(json));
    }
    if (vocab != null) {
      Files.copy(vocab, dir.resolve("vocab.txt"), StandardCopyOption.REPLACE_EXISTING);
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
