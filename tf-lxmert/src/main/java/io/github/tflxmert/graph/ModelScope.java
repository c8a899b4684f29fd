package io.github.tflxmert.graph;

import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Assign;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat32;

/**
 * Name scopes and weights of one model graph (scopes are {@link PrefixScope}s: TF Java's own scan the whole graph
 * on every sub-scope). A scope name is made unique each time
 * {@code withSubScope} is called with it, so every scope path is created once here and cached; weights are
 * {@code VariableV2} ops named exactly after the Hugging Face variable name without the model prefix and
 * {@code :0} (e.g. {@code lxmert/encoder/layer_._0/attention/self/query/kernel}), each with a placeholder and an
 * {@code Assign} under {@code weight_loader/} so all weights load by feeding the placeholders.
 *
 * <p>Used while building one graph, from one thread; not thread-safe.
 */
public final class ModelScope {
  /**
   * A weight: its HF name, shape, the variable, the value read through Identity, and its loader ops (a placeholder
   * fed with the value and the Assign). With fed weights there is no variable nor Assign (null) and the value is
   * the placeholder itself.
   */
  public record Weight(String name, long[] shape, Variable<TFloat32> variable, Operand<TFloat32> value,
                       Placeholder<TFloat32> loadValue, Assign<TFloat32> load) {}

  private final Graph graph;
  private final boolean fedWeights;
  private final Ops root;
  private final Map<String, Ops> scopes = new HashMap<>();
  private final Map<String, Weight> weights = new LinkedHashMap<>();
  /** bfloat16 copies of weights, by HF name: a Cast of the float32 value ({@link #weightBfloat16}). */
  private final Map<String, Operand<TBfloat16>> bfloat16 = new LinkedHashMap<>();
  /** Weights whose float32 value the graph reads itself (not only through a bfloat16 copy). */
  private final java.util.Set<String> readAsFloat32 = new java.util.HashSet<>();
  private final Ops loader;

  public ModelScope(Graph graph) {
    this(graph, PrefixScope.rootOps(graph), false);
  }

  /**
   * A scope whose weights are placeholders named after the HF names (no variables): the caller feeds the weight
   * tensors on every run. TensorFlow shares fed buffers instead of copying them, so the weights exist once, are
   * loaded with a single copy from the file and no assign runs; the inference predictor uses this. Such a graph
   * cannot be exported or trained (use {@link #ModelScope(Graph)} for that).
   */
  public static ModelScope withFedWeights(Graph graph) {
    return new ModelScope(graph, PrefixScope.rootOps(graph), true);
  }

  /** With the given root ops (tests compare against TensorFlow Java's own scopes). */
  ModelScope(Graph graph, Ops root) {
    this(graph, root, false);
  }

  private ModelScope(Graph graph, Ops root, boolean fedWeights) {
    this.fedWeights = fedWeights;
    this.graph = graph;
    this.root = root;
    this.loader = root.withSubScope("weight_loader");
  }

  public Graph graph() {
    return graph;
  }

  /** Whether the weights are placeholders fed on every run ({@link #withFedWeights}) rather than variables. */
  public boolean fedWeights() {
    return fedWeights;
  }

  /** Ops at the graph root (no name prefix). */
  public Ops root() {
    return root;
  }

  /** Ops whose op names start with {@code path/}; each path is created once. */
  public Ops scope(String path) {
    stopIfInterrupted();
    if (path.isEmpty()) {
      return root;
    }
    Ops s = scopes.get(path);
    if (s == null) {
      int slash = path.lastIndexOf('/');
      Ops parent = slash < 0 ? root : scope(path.substring(0, slash));
      s = parent.withSubScope(path.substring(slash + 1));
      scopes.put(path, s);
    }
    return s;
  }

  /**
   * The value of the weight {@code scopePath/leaf} with the given shape, creating the variable on first use.
   * A second request for the same name returns the same weight (LXMERT's cross-attention is shared).
   */
  public Operand<TFloat32> weight(String scopePath, String leaf, long... shape) {
    readAsFloat32.add(scopePath + "/" + leaf);
    return weight32(scopePath, leaf, shape);
  }

  /**
   * The weight {@code scopePath/leaf} in bfloat16 [shape]: a {@code Cast} (named {@code leaf_bf16}) of its float32
   * value, made once per weight. With fed weights the predictor runs these casts once at load and then feeds the
   * bfloat16 tensors in their place ({@link #bfloat16Weights}), so a weight only read through this copy is held in
   * bfloat16 alone; in a graph with variables (export) the cast runs on every call, as under Keras'
   * {@code mixed_bfloat16} policy.
   */
  public Operand<TBfloat16> weightBfloat16(String scopePath, String leaf, long... shape) {
    String name = scopePath + "/" + leaf;
    Operand<TBfloat16> c = bfloat16.get(name);
    if (c == null) {
      Operand<TFloat32> v = weight32(scopePath, leaf, shape);
      c = scope(scopePath).withName(leaf + "_bf16").dtypes.cast(v, TBfloat16.class);
      bfloat16.put(name, c);
    }
    return c;
  }

  /** The bfloat16 copies made by {@link #weightBfloat16}, by HF name, in creation order. */
  public Map<String, Operand<TBfloat16>> bfloat16Weights() {
    return Collections.unmodifiableMap(bfloat16);
  }

  /**
   * Whether the graph reads the float32 value of weight {@code name} other than through its bfloat16 copy (then
   * the float32 tensor must still be fed).
   */
  public boolean readsFloat32(String name) {
    return readAsFloat32.contains(name);
  }

  private Operand<TFloat32> weight32(String scopePath, String leaf, long... shape) {
    String name = scopePath + "/" + leaf;
    Weight w = weights.get(name);
    if (w != null) {
      if (!java.util.Arrays.equals(w.shape(), shape)) {
        throw new IllegalStateException("weight " + name + " requested with two shapes");
      }
      return w.value();
    }
    Ops s = scope(scopePath);
    if (fedWeights) {
      Placeholder<TFloat32> p = s.withName(leaf).placeholder(TFloat32.class, Placeholder.shape(Shape.of(shape)));
      weights.put(name, new Weight(name, shape.clone(), null, p, p, null));
      return p;
    }
    Variable<TFloat32> v = s.withName(leaf).variable(Shape.of(shape), TFloat32.class);
    Operand<TFloat32> read = s.withName(leaf + "_read").identity(v);
    int i = weights.size();
    Placeholder<TFloat32> in = loader.withName("value_" + i).placeholder(TFloat32.class,
        Placeholder.shape(Shape.of(shape)));
    Assign<TFloat32> assign = loader.withName("assign_" + i).assign(v, in);
    weights.put(name, new Weight(name, shape.clone(), v, read, in, assign));
    return read;
  }

  /** Building stops (CancellationException) once the building thread is interrupted. */
  private static void stopIfInterrupted() {
    if (Thread.currentThread().isInterrupted()) {
      throw new java.util.concurrent.CancellationException("graph building was cancelled");
    }
  }

  /** Every weight of the graph, by HF name, in creation order. */
  public Map<String, Weight> weights() {
    return Collections.unmodifiableMap(weights);
  }
}
