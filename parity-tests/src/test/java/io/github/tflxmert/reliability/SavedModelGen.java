package io.github.tflxmert.reliability;

import com.google.protobuf.ByteString;
import io.github.tflxmert.savedmodel.OpInventory;
import io.github.tflxmert.savedmodel.OpPolicy;
import io.github.tflxmert.savedmodel.UnsafeSavedModelException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.CollectionDef;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.FunctionDefLibrary;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NameAttrList;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.OpDef;
import org.tensorflow.proto.SaverDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.proto.TensorProto;

/**
 * Seeded generator of SavedModel protos for fuzzing the op check ({@link OpInventory}, {@link OpPolicy},
 * {@code SavedModelLoader#checkOps}), with the verdict it expects: the oracle. The generator builds a graph and a
 * function library of harmless ops, calls between them (every call form the check knows: {@code
 * PartitionedCall}/{@code StatefulPartitionedCall} {@code f}, {@code If}/{@code While}/{@code Case} branches, a
 * function-valued attribute on a dataset op, a function list, a function nested in another {@code NameAttrList},
 * and a node whose op is the function's name), then places zero to three <em>denied</em> op types (exact names,
 * the {@code Debug*} prefix, {@code *Reader*}, {@code PrintV2} to a file, {@code DecodeProtoV2} with a descriptor
 * file, checkpoint ops) and harmless look-alikes at random places, recording each as a {@link Placed}:
 * <ul>
 *   <li>{@link Where#GRAPH}: a graph node outside the saver;
 *   <li>{@link Where#CHAIN}: the last of a fresh chain of 1 to 6 functions called from a graph node, each link a
 *       random call form (sometimes with a second, shortcut caller);
 *   <li>{@link Where#UNCALLED}: a library function nothing calls (the check covers the whole library);
 *   <li>{@link Where#SAVER}/{@link Where#SAVER_FUNCTION}: a checkpoint op in the saver subgraph, as a graph node
 *       or in a function only the saver calls (exempt);
 *   <li>{@link Where#SERVING_CHECKPOINT}: a checkpoint op the signature depends on, sometimes named by the
 *       {@code saver_def} as its restore op, or a saver function that a serving node calls too (refused).
 * </ul>
 * Some denied types are also put on the model's allow-list ({@link Model#allowed}): found, not refused.
 * {@link #verify} compares what the check reports with this bookkeeping; nothing in it reads the check's code.
 * Deterministic for given input bytes; not thread-safe.
 */
final class SavedModelGen {

  /** Where a generated denied (or look-alike) op sits. */
  enum Where { GRAPH, CHAIN, UNCALLED, SAVER, SAVER_FUNCTION, SERVING_CHECKPOINT }

  /**
   * One op the generator placed.
   *
   * @param op        the op type
   * @param node      the node's name (unique in the model)
   * @param function  the library function holding it, or {@code null} for a graph node
   * @param where     the kind of place
   * @param finding   whether the deny-list names this node (the check must report it; it must refuse it unless
   *                  the model's allow-list names the op type)
   * @param chain     the call chain the generator built: graph node, then functions ending with {@code function};
   *                  empty when nothing outside the saver calls it
   */
  record Placed(String op, String node, String function, Where where, boolean finding, List<String> chain) {}

  /**
   * A generated SavedModel (one MetaGraph, tag {@code serve}) with the generator's bookkeeping.
   *
   * @param calls   every call the generator wrote: caller (graph node or function name) to callees
   * @param allowed op types the model's policy allows
   */
  record Model(SavedModel savedModel, List<Placed> placed, Map<String, Set<String>> calls, Set<String> graphNodes,
               Set<String> allowed) {
    MetaGraphDef metaGraph() {
      return savedModel.getMetaGraphs(0);
    }

    List<Placed> refused() {
      return placed.stream().filter(p -> p.finding() && !allowed.contains(p.op())).toList();
    }

    OpPolicy policy() {
      return OpPolicy.allowing(allowed);
    }
  }

  /** Ops the deny-list does not name, for filler nodes. */
  static final List<String> SAFE_OPS = List.of("Identity", "NoOp", "Const", "AddV2", "MatMul", "Relu", "Softmax",
      "ReadVariableOp", "AssignVariableOp", "VarHandleOp", "StringLength", "Print", "ShardedFilename", "StringJoin",
      "Fingerprint", "LookupTableFindV2", "HashTableV2", "Send", "Recv", "CollectiveReduceV2", "Placeholder",
      "StridedSlice", "ConcatV2", "Cast", "RandomUniform", "readfile", "Debu", "Readr", "PyFun", "WriteFileV2x");

  /** Denied op types from each rule of the policy (exact list, prefix, substring). */
  static final List<String> DENIED = new ArrayList<>(OpPolicy.DENIED_OPS.keySet());
  static final List<String> PREFIXED = List.of("DebugIdentity", "DebugIdentityV3", "DebugNanCount",
      "DebugNumericSummaryV2", "DebugGradientIdentity", "Debugx");
  static final List<String> SUBSTRING = List.of("TFRecordReaderV2", "WholeFileReaderV2", "ReaderReadV2",
      "ReaderRestoreStateV2", "IdentityReader", "xReaderx");
  static final List<String> CHECKPOINT = List.copyOf(new TreeSet<>(OpPolicy.CHECKPOINT_OPS));

  /** Call forms: how a node in a caller names a callee. */
  enum CallForm { PARTITIONED_CALL, STATEFUL_PARTITIONED_CALL, IF, STATELESS_WHILE, CASE, DATASET_ATTR, FUNC_LIST,
    NESTED_NAME_ATTR_LIST, OP_IS_FUNCTION }

  /** Random decisions: the input's bytes first (so mutations of them steer the structure), then a PRNG. */
  static final class Rng {
    private final byte[] bytes;
    private int pos;
    private final SplittableRandom tail;

    Rng(byte[] input) {
      this.bytes = input;
      this.tail = new SplittableRandom(Arrays.hashCode(input) * 0x9E3779B97F4A7C15L + input.length);
    }

    int nextInt(int bound) {
      if (bound <= 1) {
        return 0;
      }
      if (pos < bytes.length && bound <= 256) {
        return (bytes[pos++] & 0xff) % bound;
      }
      return tail.nextInt(bound);
    }

    boolean chance(int oneIn) {
      return nextInt(oneIn) == 0;
    }

    <T> T pick(List<T> list) {
      return list.get(nextInt(list.size()));
    }
  }

  private final Rng rnd;
  private final GraphDef.Builder graph = GraphDef.newBuilder();
  private final Map<String, FunctionDef.Builder> library = new LinkedHashMap<>();
  private final Map<String, Set<String>> calls = new LinkedHashMap<>();
  private final Set<String> graphNodes = new LinkedHashSet<>();
  private final List<Placed> placed = new ArrayList<>();
  private final Set<String> allowed = new TreeSet<>();
  private final List<String> servingRoots = new ArrayList<>();
  private final List<String> fillers = new ArrayList<>();
  private int counter;

  private SavedModelGen(byte[] input) {
    this.rnd = new Rng(input);
  }

  /** The model for these input bytes (any bytes: a fuzzer's input or a seed's). */
  static Model generate(byte[] input) {
    return new SavedModelGen(input).build();
  }

  /** The model for a numeric seed (spread over 32 bytes, so that small seeds do not all start with zeros). */
  static Model generate(long seed) {
    byte[] b = new byte[32];
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) r.nextInt(256);
    }
    return generate(b);
  }

  private String name(String base) {
    return base + "_" + (counter++);
  }

  private Model build() {
    // A variable, an input and a few harmless graph nodes; "out" is the signature output.
    addGraph(node("v", "VarHandleOp").putAttr("dtype", type(DataType.DT_FLOAT)).putAttr("shape", AttrValue
        .getDefaultInstance()));
    addGraph(node("input", "Placeholder").putAttr("dtype", type(DataType.DT_STRING)));
    for (int i = 0, n = rnd.nextInt(5); i < n; i++) {
      addGraph(filler(name("g")));
    }
    // Harmless functions, some calling others (possibly in cycles), some called from the graph.
    for (int i = 0, n = rnd.nextInt(6); i < n; i++) {
      String f = function(rnd.pick(List.of("__inference_serve", "cond_true", "while_body", "fn", "map_fn")));
      for (int j = 0, m = 1 + rnd.nextInt(4); j < m; j++) {
        library.get(f).addNodeDef(filler(name("n")));
      }
      fillers.add(f);
    }
    for (String f : fillers) {
      if (rnd.chance(2)) {
        callFromFunction(f, rnd.pick(fillers));
      }
      if (rnd.chance(2)) {
        String g = name("call");
        callFromGraph(g, f);
        servingRoots.add(g);
      }
    }
    boolean saver = rnd.nextInt(4) != 0;
    if (saver) {
      saver();
    }
    for (int i = 0, n = rnd.nextInt(4); i < n; i++) {
      place(saver);
    }
    // "out" depends on every serving root, so nothing they reach belongs to the saver subgraph.
    NodeDef.Builder out = node("out", "Identity").addInput("input");
    servingRoots.forEach(r -> out.addInput("^" + r));
    addGraph(out);

    FunctionDefLibrary.Builder lib = FunctionDefLibrary.newBuilder();
    library.values().forEach(lib::addFunction);
    graph.setLibrary(lib);
    MetaGraphDef.Builder mg = MetaGraphDef.newBuilder();
    mg.getMetaInfoDefBuilder().addTags("serve");
    mg.setGraphDef(graph);
    mg.putSignatureDef("serving_default", SignatureDef.newBuilder()
        .putInputs("input", TensorInfo.newBuilder().setName("input:0").setDtype(DataType.DT_STRING).build())
        .putOutputs("out", TensorInfo.newBuilder().setName("out:0").setDtype(DataType.DT_STRING).build())
        .setMethodName("tensorflow/serving/predict").build());
    if (rnd.chance(3)) {
      mg.putCollectionDef("saved_model_main_op", CollectionDef.newBuilder().setNodeList(
          CollectionDef.NodeList.newBuilder().addValue("out")).build());
    }
    if (saver) {
      mg.setSaverDef(SaverDef.newBuilder().setFilenameTensorName("save/filename:0")
          .setSaveTensorName("save/control_dependency:0")
          .setRestoreOpName(hijack != null ? hijack : "save/restore_all").build());
    }
    return new Model(SavedModel.newBuilder().setSavedModelSchemaVersion(1).addMetaGraphs(mg).build(),
        List.copyOf(placed), calls, graphNodes, Set.copyOf(allowed));
  }

  /**
   * The saver_def names a serving node as its restore op: the saver's own restore side ({@code save/RestoreV2},
   * checkpoint ops only {@code save/restore_all} depends on, a saver function called from there) then no longer
   * belongs to the saver subgraph, and its checkpoint ops are refused like any others.
   */
  private String hijack;

  /** A TF1-style saver as graph nodes, sometimes with a TF2-style saver function holding its checkpoint ops. */
  private void saver() {
    if (rnd.chance(6)) {
      hijack = name("steal");
      addGraph(node(hijack, "RestoreV2").addInput("input"));
      servingRoots.add(hijack);
      placed.add(new Placed("RestoreV2", hijack, null, Where.SERVING_CHECKPOINT, true, List.of()));
    }
    addGraph(node("save/filename", "Const").putAttr("dtype", type(DataType.DT_STRING)));
    addGraph(node("save/SaveV2", "SaveV2").addInput("save/filename"));
    NodeDef.Builder saveDep = node("save/control_dependency", "Identity").addInput("save/filename")
        .addInput("^save/SaveV2");
    addGraph(node("save/RestoreV2", "RestoreV2").addInput("save/filename"));
    addGraph(node("save/Assign", "AssignVariableOp").addInput("v").addInput("save/RestoreV2"));
    NodeDef.Builder restoreAll = node("save/restore_all", "NoOp").addInput("^save/Assign");
    placed.add(new Placed("SaveV2", "save/SaveV2", null, Where.SAVER, false, List.of()));
    placed.add(new Placed("RestoreV2", "save/RestoreV2", null, Where.SAVER, hijack != null, List.of()));
    if (rnd.chance(2)) {
      // TF2: the saver calls a function that holds more checkpoint ops, from its save or its restore side.
      String f = function("__inference__traced_save");
      String op = rnd.pick(CHECKPOINT);
      String n = name("ckpt");
      library.get(f).addNodeDef(node(n, op));
      String caller = "save/StatefulPartitionedCall";
      callFromGraph(caller, f);
      boolean restore = rnd.chance(2);
      (restore ? restoreAll : saveDep).addInput("^" + caller);
      boolean lost = restore && hijack != null;
      if (rnd.chance(4)) {
        // A serving node calls the saver's function too: its checkpoint op is no longer exempt.
        String g = name("serving_call");
        callFromGraph(g, f);
        servingRoots.add(g);
        placed.add(new Placed(op, n, f, Where.SERVING_CHECKPOINT, true, List.of(g, f)));
      } else {
        placed.add(new Placed(op, n, f, Where.SAVER_FUNCTION, lost, lost ? List.of(caller, f) : List.of()));
      }
    }
    addGraph(saveDep);
    addGraph(restoreAll);
  }

  /** Places one denied op, or a harmless look-alike, somewhere. */
  private void place(boolean saver) {
    int kind = rnd.nextInt(10);
    String op;
    boolean finding = true;
    NodeDef.Builder extra = NodeDef.newBuilder();
    switch (kind) {
      case 0, 1, 2 -> op = rnd.pick(DENIED);
      case 3 -> op = rnd.pick(PREFIXED);
      case 4 -> op = rnd.pick(SUBSTRING);
      case 5 -> {
        op = "PrintV2";
        boolean file = rnd.chance(2);
        extra.putAttr("output_stream", str(file ? "file:///tmp/leak.txt" : rnd.pick(List.copyOf(
            new TreeSet<>(OpPolicy.PRINT_STREAMS)))));
        finding = file;
      }
      case 6 -> {
        op = rnd.pick(List.of("DecodeProtoV2", "EncodeProto"));
        int src = rnd.nextInt(3);
        if (src < 2 || rnd.chance(2)) {
          extra.putAttr("descriptor_source", str(src == 0 ? "/etc/passwd" : src == 1 ? "local://" : "bytes://x"));
        }
        finding = src == 0;
      }
      case 7 -> op = rnd.pick(CHECKPOINT);
      default -> {
        op = rnd.pick(SAFE_OPS); // a look-alike that the deny-list does not name
        finding = false;
      }
    }
    if ((finding || kind == 7) && rnd.chance(5)) {
      allowed.add(op);
    }
    String n = name(op.replaceAll("[^A-Za-z0-9]", ""));
    NodeDef.Builder node = node(n, op).putAllAttr(extra.getAttrMap());
    int where = rnd.nextInt(saver && kind == 7 ? 5 : 3);
    switch (where) {
      case 0 -> {
        addGraph(node);
        servingRoots.add(n);
        placed.add(new Placed(op, n, null, Where.GRAPH, finding, List.of()));
      }
      case 1 -> {
        String f = function(rnd.pick(List.of("__inference_unused", "fn", "cond_false")));
        library.get(f).addNodeDef(filler(name("n"))).addNodeDef(node);
        placed.add(new Placed(op, n, f, Where.UNCALLED, finding, List.of()));
      }
      case 2 -> {
        int depth = 1 + rnd.nextInt(6);
        List<String> chain = new ArrayList<>();
        for (int i = 0; i < depth; i++) {
          chain.add(function(rnd.pick(List.of("__inference_call", "cond_true", "while_body", "branch", "fn"))));
        }
        String g = name("entry");
        callFromGraph(g, chain.get(0));
        servingRoots.add(g);
        for (int i = 0; i + 1 < depth; i++) {
          FunctionDef.Builder fb = library.get(chain.get(i));
          fb.addNodeDef(filler(name("n")));
          callFromFunction(chain.get(i), chain.get(i + 1));
        }
        String last = chain.get(depth - 1);
        library.get(last).addNodeDef(filler(name("n"))).addNodeDef(node);
        if (depth > 1 && rnd.chance(4)) {
          // A second caller of a later link: the reported chain may be either, but it must be a real one.
          String g2 = name("shortcut");
          callFromGraph(g2, chain.get(1 + rnd.nextInt(depth - 1)));
          servingRoots.add(g2);
        }
        List<String> path = new ArrayList<>();
        path.add(g);
        path.addAll(chain);
        placed.add(new Placed(op, n, last, Where.CHAIN, finding, List.copyOf(path)));
      }
      case 3 -> {
        // A checkpoint op the signature depends on (reading the saver's own file name).
        addGraph(node.addInput("save/filename"));
        servingRoots.add(n);
        placed.add(new Placed(op, n, null, Where.SERVING_CHECKPOINT, true, List.of()));
      }
      default -> {
        // Another checkpoint op in the saver subgraph, on its restore side.
        addGraph(node.addInput("save/filename"));
        graphNodeInput("save/Assign", "^" + n);
        placed.add(new Placed(op, n, null, Where.SAVER, hijack != null, List.of()));
      }
    }
  }

  private void graphNodeInput(String node, String input) {
    for (NodeDef.Builder b : graph.getNodeBuilderList()) {
      if (b.getName().equals(node)) {
        b.addInput(input);
        return;
      }
    }
    throw new IllegalStateException("no graph node " + node);
  }

  private String function(String prefix) {
    String f = name(prefix);
    library.put(f, FunctionDef.newBuilder().setSignature(OpDef.newBuilder().setName(f)));
    return f;
  }

  private void addGraph(NodeDef.Builder n) {
    graph.addNode(n);
    graphNodes.add(n.getName());
  }

  /** Adds graph node {@code n} that calls {@code callee}. */
  private void callFromGraph(String n, String callee) {
    calls.computeIfAbsent(n, k -> new LinkedHashSet<>()).add(callee);
    addGraph(callNode(n, callee));
  }

  /** Adds a node to function {@code caller} that calls {@code callee}. */
  private void callFromFunction(String caller, String callee) {
    calls.computeIfAbsent(caller, k -> new LinkedHashSet<>()).add(callee);
    library.get(caller).addNodeDef(callNode(name("call"), callee));
  }

  /** A node that calls {@code callee} in a random call form. */
  private NodeDef.Builder callNode(String n, String callee) {
    CallForm form = rnd.pick(List.of(CallForm.values()));
    NodeDef.Builder b;
    switch (form) {
      case PARTITIONED_CALL -> b = node(n, "PartitionedCall").putAttr("f", func(callee));
      case STATEFUL_PARTITIONED_CALL -> b = node(n, "StatefulPartitionedCall").putAttr("f", func(callee));
      case IF -> {
        boolean then = rnd.chance(2);
        b = node(n, rnd.pick(List.of("If", "StatelessIf"))).putAttr(then ? "then_branch" : "else_branch",
            func(callee)).putAttr(then ? "else_branch" : "then_branch", func(name("not_a_function")));
      }
      case STATELESS_WHILE -> b = node(n, rnd.pick(List.of("While", "StatelessWhile")))
          .putAttr(rnd.chance(2) ? "cond" : "body", func(callee));
      case CASE -> b = node(n, rnd.pick(List.of("Case", "StatelessCase"))).putAttr("branches", AttrValue.newBuilder()
          .setList(AttrValue.ListValue.newBuilder().addFunc(nameAttr(name("absent"))).addFunc(nameAttr(callee)))
          .build());
      case DATASET_ATTR -> b = node(n, rnd.pick(List.of("MapDataset", "FlatMapDataset", "ReduceDataset",
          "SymbolicGradient"))).putAttr(rnd.pick(List.of("f", "predicate", "finalize_func")), func(callee));
      case FUNC_LIST -> b = node(n, "RemoteCall").putAttr("targets", AttrValue.newBuilder().setList(
          AttrValue.ListValue.newBuilder().addFunc(nameAttr(callee))).build());
      case NESTED_NAME_ATTR_LIST -> b = node(n, "PartitionedCall").putAttr("f", AttrValue.newBuilder().setFunc(
          NameAttrList.newBuilder().setName(name("wrapper")).putAttr("inner", func(callee))).build());
      default -> b = node(n, callee);
    }
    return b;
  }

  private NodeDef.Builder filler(String n) {
    String op = rnd.pick(SAFE_OPS);
    NodeDef.Builder b = node(n, op);
    if (op.equals("Const")) {
      b.putAttr("dtype", type(DataType.DT_FLOAT)).putAttr("value", AttrValue.newBuilder().setTensor(
          TensorProto.newBuilder().setDtype(DataType.DT_FLOAT).addFloatVal(1f)).build());
    }
    if (op.equals("PrintV2")) {
      b.putAttr("output_stream", str("stderr"));
    }
    return b;
  }

  private static NodeDef.Builder node(String name, String op) {
    return NodeDef.newBuilder().setName(name).setOp(op);
  }

  private static AttrValue type(DataType t) {
    return AttrValue.newBuilder().setType(t).build();
  }

  private static AttrValue str(String s) {
    return AttrValue.newBuilder().setS(ByteString.copyFromUtf8(s)).build();
  }

  private static AttrValue func(String f) {
    return AttrValue.newBuilder().setFunc(nameAttr(f)).build();
  }

  private static NameAttrList nameAttr(String f) {
    return NameAttrList.newBuilder().setName(f).build();
  }

  // ---- the oracle

  /**
   * Checks what the op check reported against the generator's bookkeeping; returns a description of the first
   * disagreement, or {@code null} if there is none.
   *
   * @param inv     the inventory of {@code m}'s MetaGraph
   * @param refused what the check threw for {@code m} under {@link Model#policy()}, or {@code null} if it
   *                accepted the model
   */
  static String verify(Model m, OpInventory inv, UnsafeSavedModelException refused) {
    Set<String> expectFindings = new TreeSet<>();
    Set<String> expectRefused = new TreeSet<>();
    for (Placed p : m.placed()) {
      if (p.finding()) {
        expectFindings.add(key(p.op(), p.node(), p.function()));
      }
    }
    for (Placed p : m.refused()) {
      expectRefused.add(key(p.op(), p.node(), p.function()));
    }
    Set<String> gotFindings = new TreeSet<>();
    for (OpInventory.Finding f : inv.findings()) {
      gotFindings.add(key(f.opType(), f.use().nodeName(), f.use().function()));
    }
    if (!gotFindings.equals(expectFindings)) {
      return "findings " + gotFindings + ", expected " + expectFindings;
    }
    if (expectRefused.isEmpty() != (refused == null)) {
      return refused == null ? "accepted, expected refusal of " + expectRefused
          : "refused, expected acceptance: " + refused.getMessage();
    }
    if (refused == null) {
      return null;
    }
    Set<String> got = new TreeSet<>();
    for (OpInventory.Finding f : refused.findings()) {
      got.add(key(f.opType(), f.use().nodeName(), f.use().function()));
    }
    if (!got.equals(expectRefused)) {
      return "refused " + got + ", expected " + expectRefused;
    }
    String msg = refused.getMessage();
    for (Placed p : m.refused()) {
      OpInventory.Finding f = refused.findings().stream().filter(x -> x.use().nodeName().equals(p.node()))
          .findFirst().orElseThrow();
      String where = p.function() == null ? "graph node '" + p.node() + "'"
          : "node '" + p.node() + "' in function '" + p.function() + "'";
      if (!msg.contains(p.op() + " at " + where)) {
        return "message does not say " + p.op() + " at " + where + ": " + msg;
      }
      if (!refused.opTypes().contains(p.op())) {
        return "opTypes() lacks " + p.op() + ": " + refused.opTypes();
      }
      List<String> path = f.use().callPath();
      if (p.function() != null) {
        boolean called = !p.chain().isEmpty();
        if (path.isEmpty() == called) {
          return p.node() + ": call path " + path + ", generator's chain " + p.chain();
        }
        if (!called && !msg.contains("(not called from the graph)")) {
          return p.node() + ": message does not say the function is not called: " + msg;
        }
        if (called) {
          String problem = validPath(m, path, p.function());
          if (problem != null) {
            return p.node() + ": " + problem;
          }
          if (!msg.contains("called via graph node '" + path.get(0) + "'"
              + (path.size() > 1 ? " -> " + String.join(" -> ", path.subList(1, path.size())) : ""))) {
            return p.node() + ": message does not show the call path " + path + ": " + msg;
          }
        }
      }
    }
    return null;
  }

  /** A reported call path must be a chain of calls the generator wrote, from a graph node to {@code fn}. */
  private static String validPath(Model m, List<String> path, String fn) {
    if (path.size() < 2 || !m.graphNodes().contains(path.get(0)) || !path.get(path.size() - 1).equals(fn)) {
      return "call path " + path + " does not lead from a graph node to " + fn;
    }
    Set<String> seen = new HashSet<>();
    for (int i = 0; i + 1 < path.size(); i++) {
      if (!m.calls().getOrDefault(path.get(i), Set.of()).contains(path.get(i + 1)) || !seen.add(path.get(i))) {
        return "call path " + path + ": " + path.get(i) + " does not call " + path.get(i + 1);
      }
    }
    return null;
  }

  private static String key(String op, String node, String function) {
    return op + "@" + (function == null ? "" : function + "/") + node;
  }
}
