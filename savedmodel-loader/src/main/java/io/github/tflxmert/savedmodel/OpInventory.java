package io.github.tflxmert.savedmodel;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.CollectionDef;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NameAttrList;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SaverDef;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;

/**
 * Every op of one MetaGraphDef, where it is, and which of them {@link OpPolicy} calls unsafe. Covers the
 * graph's nodes and the nodes of every function in the function library, whether or not anything calls the
 * function; for a called function it records one chain of calls from a graph node (through {@code
 * StatefulPartitionedCall}/{@code PartitionedCall} {@code f}, {@code If}/{@code While} branch and body
 * attributes, any other function-valued attribute, or a node whose op is a library function).
 *
 * <p>The <b>saver subgraph</b> is what the loader runs to restore (and what Python runs to save) variables:
 * every graph node the {@code saver_def}'s filename, save tensor and restore op depend on, minus every node a
 * signature tensor or a node-list collection (init ops such as {@code saved_model_main_op}) depends on, plus
 * the functions that only those nodes call. Checkpoint ops there are exempt from the deny-list; a checkpoint
 * op anywhere else (e.g. {@code RestoreV2} on a serving path, reading a file the caller names) is not.
 *
 * <p>Immutable; thread-safe.
 */
public final class OpInventory {

  /**
   * One node.
   *
   * @param opType          the op type ({@code NodeDef.op})
   * @param nodeName        the node's name
   * @param function        the library function holding the node, or {@code null} for a graph node
   * @param callPath        how the function is reached: a graph node name then function names, ending with
   *                        {@code function}; empty for graph nodes and for functions nothing calls
   * @param inSaverSubgraph whether the node belongs to the saver subgraph
   */
  public record OpUse(String opType, String nodeName, String function, List<String> callPath,
                      boolean inSaverSubgraph) {
    /** A human-readable location, e.g. {@code node 'ReadFile' in function 'f' (graph node 'call' -> g -> f)}. */
    public String where() {
      if (function == null) {
        return "graph node '" + nodeName + "'" + (inSaverSubgraph ? " (saver subgraph)" : "");
      }
      String how = callPath.isEmpty() ? "not called from the graph"
          : "called via graph node '" + callPath.get(0) + "'"
              + (callPath.size() > 1 ? " -> " + String.join(" -> ", callPath.subList(1, callPath.size())) : "");
      return "node '" + nodeName + "' in function '" + function + "' (" + how + ")"
          + (inSaverSubgraph ? " (saver subgraph)" : "");
    }
  }

  /** An op the deny-list names, with why. */
  public record Finding(OpUse use, String reason) {
    public String opType() {
      return use.opType();
    }

    public String describe() {
      return use.opType() + " at " + use.where() + ": " + reason;
    }
  }

  private final List<OpUse> uses;
  private final List<Finding> findings;
  private final SortedSet<String> opTypes;
  private final SortedSet<String> functionNames;
  private final Set<String> saverNodes;
  private final List<OpUse> bfloat16Uses;

  private OpInventory(List<OpUse> uses, List<Finding> findings, SortedSet<String> opTypes,
                      SortedSet<String> functionNames, Set<String> saverNodes, List<OpUse> bfloat16Uses) {
    this.uses = List.copyOf(uses);
    this.bfloat16Uses = List.copyOf(bfloat16Uses);
    this.findings = List.copyOf(findings);
    this.opTypes = Collections.unmodifiableSortedSet(opTypes);
    this.functionNames = Collections.unmodifiableSortedSet(functionNames);
    this.saverNodes = Collections.unmodifiableSet(saverNodes);
  }

  /** Walks the graph and its whole function library. */
  public static OpInventory of(MetaGraphDef mg) {
    GraphDef g = mg.getGraphDef();
    Map<String, FunctionDef> library = new LinkedHashMap<>();
    for (FunctionDef f : g.getLibrary().getFunctionList()) {
      library.put(f.getSignature().getName(), f);
    }
    Map<String, NodeDef> nodes = new HashMap<>();
    for (NodeDef n : g.getNodeList()) {
      nodes.put(n.getName(), n);
    }

    Set<String> saverNodes = saverNodes(mg, nodes);

    // Functions reachable from non-saver graph nodes, and from saver nodes, each with its first caller.
    Map<String, Caller> general = reach(g, library, saverNodes, false);
    Map<String, Caller> saver = reach(g, library, saverNodes, true);
    Set<String> saverOnly = new HashSet<>(saver.keySet());
    saverOnly.removeAll(general.keySet());

    List<OpUse> uses = new ArrayList<>();
    List<OpUse> bf16 = new ArrayList<>();
    List<Finding> findings = new ArrayList<>();
    SortedSet<String> opTypes = new TreeSet<>();
    for (NodeDef n : g.getNodeList()) {
      add(new OpUse(n.getOp(), n.getName(), null, List.of(), saverNodes.contains(n.getName())), n, library, uses,
          findings, opTypes, bf16);
    }
    for (FunctionDef f : library.values()) {
      String name = f.getSignature().getName();
      List<String> path = callPath(name, general.containsKey(name) ? general : saver);
      for (NodeDef n : f.getNodeDefList()) {
        add(new OpUse(n.getOp(), n.getName(), name, path, saverOnly.contains(name)), n, library, uses, findings,
            opTypes, bf16);
      }
    }
    return new OpInventory(uses, findings, opTypes, new TreeSet<>(library.keySet()), saverNodes, bf16);
  }

  private static void add(OpUse u, NodeDef n, Map<String, FunctionDef> library, List<OpUse> uses,
                          List<Finding> findings, Set<String> opTypes, List<OpUse> bf16) {
    uses.add(u);
    if (!u.inSaverSubgraph() && hasBfloat16(n)) {
      bf16.add(u);
    }
    if (!library.containsKey(u.opType())) {
      opTypes.add(u.opType());
    }
    String reason = OpPolicy.reason(n, u.inSaverSubgraph());
    if (reason != null) {
      findings.add(new Finding(u, reason));
    }
  }

  /** Whether a type attribute of the node ({@code T}, {@code dtype}, {@code DstT}, a type list, ...) is bfloat16. */
  static boolean hasBfloat16(NodeDef n) {
    for (AttrValue v : n.getAttrMap().values()) {
      if (v.getType() == DataType.DT_BFLOAT16 || v.getList().getTypeList().contains(DataType.DT_BFLOAT16)) {
        return true;
      }
    }
    return false;
  }

  /** Who first called a function: a graph node or another function. */
  private record Caller(String name, boolean graphNode) {}

  /** Breadth-first over calls from the graph nodes inside ({@code saver}) or outside the saver subgraph. */
  private static Map<String, Caller> reach(GraphDef g, Map<String, FunctionDef> library, Set<String> saverNodes,
                                           boolean saver) {
    Map<String, Caller> parent = new HashMap<>();
    Deque<String> queue = new ArrayDeque<>();
    for (NodeDef n : g.getNodeList()) {
      if (saverNodes.contains(n.getName()) == saver) {
        for (String f : calledFunctions(n, library)) {
          if (parent.putIfAbsent(f, new Caller(n.getName(), true)) == null) {
            queue.add(f);
          }
        }
      }
    }
    while (!queue.isEmpty()) {
      String f = queue.poll();
      for (NodeDef n : library.get(f).getNodeDefList()) {
        for (String callee : calledFunctions(n, library)) {
          if (parent.putIfAbsent(callee, new Caller(f, false)) == null) {
            queue.add(callee);
          }
        }
      }
    }
    return parent;
  }

  private static List<String> callPath(String fn, Map<String, Caller> parent) {
    List<String> path = new ArrayList<>();
    String cur = fn;
    while (parent.containsKey(cur) && path.size() <= parent.size()) {
      path.add(0, cur);
      Caller c = parent.get(cur);
      if (c.graphNode()) {
        path.add(0, c.name());
        return List.copyOf(path);
      }
      cur = c.name();
    }
    return List.of();
  }

  /** Every node of the graph and of every library function. */
  public List<OpUse> uses() {
    return uses;
  }

  /** Every node whose op the deny-list names (whether or not a policy allows it), in graph-then-library order. */
  /**
   * The nodes outside the saver subgraph with a bfloat16 type attribute (a bfloat16 MatMul, a Cast to or from
   * bfloat16, ...), in graph then function-library order: a model that computes in bfloat16, which needs bfloat16
   * instructions ({@code Bfloat16Support}). Restoring bfloat16 variables alone does not count.
   */
  public List<OpUse> bfloat16Uses() {
    return bfloat16Uses;
  }

  public List<Finding> findings() {
    return findings;
  }

  /** The findings a policy does not allow. */
  public List<Finding> refused(OpPolicy policy) {
    return findings.stream().filter(f -> !policy.isAllowed(f.opType())).toList();
  }

  /** Op types used in the graph and the library, sorted; calls of library functions by name are left out. */
  public SortedSet<String> opTypes() {
    return opTypes;
  }

  /** Names of the library's functions, sorted. */
  public SortedSet<String> functionNames() {
    return functionNames;
  }

  /** Graph nodes of the saver subgraph. */
  public Set<String> saverNodes() {
    return saverNodes;
  }

  /** Library functions a node calls: its op, if that names one, and every function-valued attribute. */
  static Set<String> calledFunctions(NodeDef n, Map<String, FunctionDef> library) {
    Set<String> out = new TreeSet<>();
    if (library.containsKey(n.getOp())) {
      out.add(n.getOp());
    }
    for (AttrValue v : n.getAttrMap().values()) {
      collect(v, library, out);
    }
    return out;
  }

  private static void collect(AttrValue v, Map<String, FunctionDef> library, Set<String> out) {
    if (v.hasFunc()) {
      collect(v.getFunc(), library, out);
    }
    if (v.hasList()) {
      for (NameAttrList f : v.getList().getFuncList()) {
        collect(f, library, out);
      }
    }
  }

  private static void collect(NameAttrList f, Map<String, FunctionDef> library, Set<String> out) {
    if (library.containsKey(f.getName())) {
      out.add(f.getName());
    }
    for (AttrValue a : f.getAttrMap().values()) {
      collect(a, library, out);
    }
  }

  private static Set<String> saverNodes(MetaGraphDef mg, Map<String, NodeDef> nodes) {
    if (!mg.hasSaverDef()) {
      return Set.of();
    }
    SaverDef s = mg.getSaverDef();
    Set<String> saver = closure(nodes, List.of(s.getFilenameTensorName(), s.getSaveTensorName(), s.getRestoreOpName()));
    List<String> protectedRoots = new ArrayList<>();
    for (SignatureDef sd : mg.getSignatureDefMap().values()) {
      sd.getInputsMap().values().forEach(t -> tensorNames(t, protectedRoots));
      sd.getOutputsMap().values().forEach(t -> tensorNames(t, protectedRoots));
    }
    for (CollectionDef c : mg.getCollectionDefMap().values()) {
      if (c.hasNodeList()) {
        protectedRoots.addAll(c.getNodeList().getValueList());
      }
    }
    saver.removeAll(closure(nodes, protectedRoots));
    return saver;
  }

  private static void tensorNames(TensorInfo t, List<String> out) {
    switch (t.getEncodingCase()) {
      case NAME -> out.add(t.getName());
      case COO_SPARSE -> {
        out.add(t.getCooSparse().getValuesTensorName());
        out.add(t.getCooSparse().getIndicesTensorName());
        out.add(t.getCooSparse().getDenseShapeTensorName());
      }
      case COMPOSITE_TENSOR -> t.getCompositeTensor().getComponentsList().forEach(c -> tensorNames(c, out));
      default -> { }
    }
  }

  /** Graph nodes the named tensors or ops depend on (data and control inputs), the named ones included. */
  private static Set<String> closure(Map<String, NodeDef> nodes, List<String> roots) {
    Set<String> seen = new HashSet<>();
    Deque<String> q = new ArrayDeque<>();
    for (String r : roots) {
      String n = nodeName(r);
      if (!n.isEmpty() && nodes.containsKey(n) && seen.add(n)) {
        q.add(n);
      }
    }
    while (!q.isEmpty()) {
      for (String in : nodes.get(q.poll()).getInputList()) {
        String n = nodeName(in);
        if (nodes.containsKey(n) && seen.add(n)) {
          q.add(n);
        }
      }
    }
    return seen;
  }

  /** {@code ^name}, {@code name:0}, {@code name} → {@code name}. */
  static String nodeName(String tensorOrOp) {
    String s = tensorOrOp.startsWith("^") ? tensorOrOp.substring(1) : tensorOrOp;
    int colon = s.lastIndexOf(':');
    return colon > 0 && s.substring(colon + 1).chars().allMatch(Character::isDigit) ? s.substring(0, colon) : s;
  }
}
