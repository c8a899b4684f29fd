package io.github.tflxmert.graph;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.tensorflow.ConcreteFunction;
import org.tensorflow.DeviceSpec;
import org.tensorflow.ExecutionEnvironment;
import org.tensorflow.Graph;
import org.tensorflow.Operation;
import org.tensorflow.OperationBuilder;
import org.tensorflow.op.Ops;
import org.tensorflow.op.Scope;

/**
 * A name scope for building one large graph quickly. TensorFlow Java 1.1's own scope scans every operation of
 * the graph each time a sub-scope is made (to learn names already used under the new prefix), which makes
 * building a graph quadratic (most of the LXMERT-base graph's build time went there). This scope keeps the same
 * naming rules (a default or {@code withName} name is made unique within its scope as {@code name},
 * {@code name_1}, {@code name_2}, ...; a sub-scope name likewise within its parent) but learns used names from
 * its own bookkeeping plus an O(1) lookup of the exact candidate name in the graph, so ops added to the graph
 * by other scopes are still never collided with.
 *
 * <p>Supports what the library's graph code uses: sub-scopes, names, control dependencies and devices. Not
 * thread-safe (like the graph-building code that uses it).
 */
final class PrefixScope implements Scope {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9.][A-Za-z0-9_.\\-]*");

  private final Graph graph;
  private final String prefix; // null at the root
  private final String opName; // set by withName
  private final Map<String, Integer> ids; // shared with the withName/withDevice/... copies of this scope
  private final List<Operation> controlDependencies;
  private final DeviceSpec device;
  private final boolean init;

  private PrefixScope(Graph graph, String prefix, String opName, Map<String, Integer> ids,
                      List<Operation> controlDependencies, DeviceSpec device, boolean init) {
    this.graph = graph;
    this.prefix = prefix;
    this.opName = opName;
    this.ids = ids;
    this.controlDependencies = controlDependencies;
    this.device = device;
    this.init = init;
  }

  /** {@link Ops} at the root of {@code graph} whose scopes (and all scopes derived from them) are this kind. */
  static Ops rootOps(Graph graph) {
    Scope root = new PrefixScope(graph, null, null, new HashMap<>(), List.of(), null, false);
    // Ops can only be made from an environment's base scope; this environment exists only to hand over ours.
    return Ops.create(new ExecutionEnvironment() {
      @Override
      public Scope baseScope() {
        return root;
      }

      @Override
      public OperationBuilder opBuilder(String type, String name, Scope scope) {
        return graph.opBuilder(type, name, scope);
      }

      @Override
      public void attachFunction(ConcreteFunction function) {
        graph.attachFunction(function);
      }

      @Override
      public void checkInput(Operation input) {
        graph.checkInput(input);
      }

      @Override
      public Types environmentType() {
        return graph.environmentType();
      }

      @Override
      public boolean isInitializer(Operation op) {
        return graph.isInitializer(op);
      }
    });
  }

  @Override
  public ExecutionEnvironment env() {
    return graph;
  }

  @Override
  public Scope withSubScope(String childScopeName) {
    check(childScopeName);
    String unique = makeUnique(opName != null ? opName : childScopeName, false);
    return new PrefixScope(graph, qualify(unique), null, new HashMap<>(), controlDependencies, device, init);
  }

  @Override
  public Scope withName(String name) {
    check(name);
    return new PrefixScope(graph, prefix, name, ids, controlDependencies, device, init);
  }

  @Override
  public Scope withNameAsSubScope(String defaultName) {
    return withSubScope(opName != null ? opName : defaultName);
  }

  @Override
  public Scope withDevice(DeviceSpec deviceSpec) {
    return new PrefixScope(graph, prefix, opName, ids, controlDependencies, deviceSpec, init);
  }

  @Override
  public Scope withInitScope() {
    return new PrefixScope(graph, prefix, opName, ids, List.of(), device, true);
  }

  @Override
  public String makeOpName(String defaultName) {
    String base = opName != null ? opName : defaultName;
    check(base);
    return qualify(makeUnique(base, true));
  }

  @Override
  public String makeUnique(String id) {
    return makeUnique(id, false);
  }

  /** {@code id}, or {@code id_k} for the first k not used in this scope (nor, for ops, in the graph). */
  private String makeUnique(String id, boolean op) {
    Integer next = ids.get(id);
    String candidate = id;
    int k = next == null ? 0 : next;
    if (k > 0) {
      candidate = id + "_" + k;
    }
    while (ids.containsKey(candidate) && !candidate.equals(id) || (op && graph.operation(qualify(candidate)) != null)) {
      k++;
      candidate = id + "_" + k;
    }
    ids.put(id, k + 1);
    if (!candidate.equals(id)) {
      ids.putIfAbsent(candidate, 1);
    }
    return candidate;
  }

  @Override
  public void refreshNames() {
    // Names are checked against the graph when made; nothing to refresh.
  }

  @Override
  public Scope withControlDependencyOps(Iterable<Operation> controls) {
    List<Operation> deps = new ArrayList<>();
    for (Operation op : controls) {
      graph.checkInput(op);
      if (init && !graph.isInitializer(op)) {
        throw new IllegalArgumentException("Init scope can not have non-init control dependency " + op.name());
      }
      deps.add(op);
    }
    return new PrefixScope(graph, prefix, opName, ids, List.copyOf(deps), device, init);
  }

  @Override
  public OperationBuilder apply(OperationBuilder builder) {
    if (device != null) {
      builder.setDevice(device.toString());
    }
    for (Operation control : controlDependencies) {
      if (init || !graph.isInitializer(control)) {
        builder.addControlInput(control);
      }
    }
    return builder;
  }

  @Override
  public String getDeviceString() {
    return device == null ? "" : device.toString();
  }

  @Override
  public boolean isInit() {
    return init;
  }

  private String qualify(String name) {
    return prefix == null ? name : prefix + "/" + name;
  }

  private static void check(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("invalid name: " + name);
    }
  }
}
