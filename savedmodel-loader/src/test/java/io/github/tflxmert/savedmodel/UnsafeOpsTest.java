package io.github.tflxmert.savedmodel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.StdArrays;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Print;
import org.tensorflow.op.core.Variable;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TString;
import org.tensorflow.types.family.TType;

/**
 * The deny-list on crafted SavedModels: Python-exported ones committed under {@code src/test/resources/unsafe/}
 * (made by {@code src/test/python/make_unsafe_models.py}; ops inside the function library, nested calls, cond
 * branches) and graphs built here in Java (ops in the graph itself, TF1-style saver).
 */
class UnsafeOpsTest {
  @TempDir
  Path tmp;

  /** Unzips {@code /unsafe/<name>.zip} from the test classpath; returns the SavedModel directory. */
  Path python(String name) throws IOException {
    try (InputStream raw = UnsafeOpsTest.class.getResourceAsStream("/unsafe/" + name + ".zip")) {
      if (raw == null) {
        throw new IllegalStateException("missing test resource /unsafe/" + name + ".zip");
      }
      try (ZipInputStream in = new ZipInputStream(raw)) {
        for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
          Path out = tmp.resolve(e.getName()).normalize();
          assertTrue(out.startsWith(tmp));
          if (e.isDirectory()) {
            Files.createDirectories(out);
          } else {
            Files.createDirectories(out.getParent());
            Files.copy(in, out);
          }
        }
      }
    }
    return tmp.resolve(name);
  }

  static SavedModelLoader loader(String... allowed) {
    return SavedModelLoader.builder().allowOps(allowed).build();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
      // model, refused op, function holding it, a function the call chain passes through
      "read_file_in_function, ReadFile,  __inference_serve_,  __inference_signature_wrapper_",
      "read_file_nested,      ReadFile,  __inference_inner_,  __inference_middle_",
      "write_file_in_cond,    WriteFile, cond_true_,          __inference_serve_",
      "restore_in_serving,    RestoreV2, __inference_serve_,  __inference_signature_wrapper_"})
  void pythonModelsAreRefusedNamingOpAndPlace(String model, String op, String function, String via) throws Exception {
    Path dir = python(model);
    UnsafeSavedModelException e = assertThrows(UnsafeSavedModelException.class, () -> loader().load(dir));
    assertEquals(List.of(op), e.opTypes(), e.getMessage());
    assertTrue(e.getMessage().contains(op + " at node '") && e.getMessage().contains("in function '" + function),
        e.getMessage());
    OpInventory.Finding called = e.findings().stream().filter(f -> !f.use().callPath().isEmpty()).findFirst()
        .orElseThrow(() -> new AssertionError("no finding in a called function: " + e.getMessage()));
    List<String> path = called.use().callPath();
    assertTrue(path.get(0).startsWith("StatefulPartitionedCall"), path.toString());   // the graph node
    assertTrue(path.stream().anyMatch(f -> f.startsWith(via)), path.toString());
    assertTrue(path.get(path.size() - 1).startsWith(function), path.toString());
    if (op.equals("RestoreV2")) {
      assertTrue(called.reason().contains("outside the SavedModel's saver subgraph"), called.reason());
    }
    // the model's own saver functions (SaveV2, RestoreV2, MergeV2Checkpoints) are never findings
    assertTrue(e.findings().stream().noneMatch(f -> f.use().function() != null
        && f.use().function().contains("_traced_")), e.getMessage());

    try (SavedModelLoader.Loaded l = loader(op).load(dir)) {
      assertEquals(e.findings().size(), l.allowedFindings().size());
    }
  }

  @Test
  void allowedReadFileModelRunsAndReads() throws Exception {
    Path dir = python("read_file_in_function");
    Path file = Files.writeString(tmp.resolve("data.txt"), "hello", StandardCharsets.UTF_8);
    try (SavedModelLoader.Loaded l = loader("ReadFile").load(dir);
         TString p = TString.scalarOf(file.toString());
         Result r = l.bundle().function("serving_default").call(Map.of("path", p))) {
      assertEquals(5 + 1, ((TInt32) r.get("out").orElseThrow()).getInt());
    }
  }

  @Test
  void safePythonModelLoadsWithItsSaverExempt() throws Exception {
    Path dir = python("safe");
    try (SavedModelLoader.Loaded l = loader().load(dir);
         TString p = TString.scalarOf("abcd");
         Result r = l.bundle().function("serving_default").call(Map.of("path", p))) {
      assertEquals(4 + 1, ((TInt32) r.get("out").orElseThrow()).getInt());
      OpInventory inv = OpInventory.of(l.metaGraph());
      assertTrue(inv.findings().isEmpty(), inv.findings().toString());
      for (String op : List.of("SaveV2", "RestoreV2", "MergeV2Checkpoints")) {
        assertTrue(inv.uses().stream().anyMatch(u -> u.opType().equals(op) && u.inSaverSubgraph()), op);
      }
    }
  }

  // ---- graphs built in Java (a TF1-style MetaGraph with the saver as graph nodes)

  /** Exports a graph with one variable, a string input {@code path} and the given output. */
  Path javaModel(String name, BiFunction<Ops, Placeholder<TString>, Operand<? extends TType>> body) throws IOException {
    Path dir = tmp.resolve(name);
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Variable<TFloat32> v = tf.withName("v").variable(tf.constant(2f));
      Placeholder<TString> path = tf.withName("path").placeholder(TString.class, Placeholder.shape(Shape.scalar()));
      Operand<? extends TType> out = body.apply(tf, path);
      try (Session s = new Session(g)) {
        s.initialize();
        Signature sig = Signature.builder().key("serving_default").input("path", path).output("out", out)
            .output("v", tf.withName("v_read").identity(v)).build();
        SavedModelBundle.exporter(dir.toString()).withTags("serve").withFunction(s.function(sig)).export();
      }
    }
    return dir;
  }

  @Test
  void readFileInTheGraphIsRefusedAndCanBeAllowed() throws Exception {
    Path dir = javaModel("read", (tf, p) -> tf.withName("slurp").io.readFile(p));
    UnsafeSavedModelException e = assertThrows(UnsafeSavedModelException.class, () -> loader().load(dir));
    assertTrue(e.getMessage().contains("ReadFile at graph node 'slurp': reads or lists files"), e.getMessage());
    assertEquals(1, e.findings().size(), e.getMessage());            // save/SaveV2, save/RestoreV2 are exempt
    Path file = Files.writeString(tmp.resolve("x.txt"), "abc", StandardCharsets.UTF_8);
    try (SavedModelLoader.Loaded l = loader("ReadFile").load(dir);
         TString p = TString.scalarOf(file.toString());
         Result r = l.bundle().function("serving_default").call(Map.of("path", p))) {
      assertEquals("abc", ((TString) r.get("out").orElseThrow()).getObject());
      assertEquals(2f, ((TFloat32) r.get("v").orElseThrow()).getFloat());   // variables restored
    }
  }

  @Test
  void printV2IsRefusedOnlyWhenItWritesToAFile() throws Exception {
    Path toFile = javaModel("print-file", (tf, p) -> tf.withControlDependencies(List.of(
        tf.withName("log").print(p, Print.outputStream("file://" + tmp.resolve("log.txt"))))).identity(p));
    UnsafeSavedModelException e = assertThrows(UnsafeSavedModelException.class, () -> loader().load(toFile));
    assertTrue(e.getMessage().contains("PrintV2 at graph node 'log'") && e.getMessage().contains("file://"),
        e.getMessage());
    Path toStderr = javaModel("print-stderr", (tf, p) -> tf.withControlDependencies(List.of(
        tf.withName("log").print(p, Print.outputStream("stderr")))).identity(p));
    loader().load(toStderr).close();
  }

  @Test
  void checkpointOpsOutsideTheSaverAreRefusedEvenIfSaverDefPointsAtThem() throws Exception {
    Path benign = javaModel("benign", (tf, p) -> tf.strings.stringLength(p));
    try (SavedModelLoader.Loaded l = loader().load(benign)) {
      OpInventory inv = OpInventory.of(l.metaGraph());
      assertTrue(inv.findings().isEmpty(), inv.findings().toString());
      assertTrue(inv.uses().stream().anyMatch(u -> u.opType().equals("RestoreV2") && u.inSaverSubgraph()));
      assertTrue(inv.uses().stream().anyMatch(u -> u.opType().equals("SaveV2") && u.inSaverSubgraph()));
      assertFalse(inv.saverNodes().contains("v"), "signature outputs depend on v: not saver-only");
    }

    Path restoring = javaModel("restore", (tf, p) -> tf.withName("steal").train.restore(p,
        tf.constant(StdArrays.ndCopyOf(new String[] {"v"})), tf.constant(StdArrays.ndCopyOf(new String[] {""})), List.of(TFloat32.class)).tensors().get(0));
    UnsafeSavedModelException e = assertThrows(UnsafeSavedModelException.class, () -> loader().load(restoring));
    assertEquals(List.of("RestoreV2"), e.opTypes());
    assertTrue(e.getMessage().contains("graph node 'steal'"), e.getMessage());

    // A model that names its serving-path RestoreV2 as the saver's restore op gains nothing.
    SavedModel sm = SavedModelLocation.resolve(restoring).readProto();
    MetaGraphDef mg = sm.getMetaGraphs(0);
    MetaGraphDef hijacked = mg.toBuilder().setSaverDef(mg.getSaverDef().toBuilder().setRestoreOpName("steal")).build();
    assertTrue(OpInventory.of(hijacked).findings().stream().anyMatch(f -> f.use().nodeName().equals("steal")));
  }

  /**
   * Regressions of the savedmodel fuzz target: models that pass the op check but that TensorFlow (native, or TF
   * Java while it builds the signature functions) refuses, each with an exception type of its own and a message
   * without the directory. The loader reports every one as an IllegalArgumentException naming the directory.
   */
  @Test
  void malformedModelsAreRejectedNamingTheDirectory() throws Exception {
    Path benign = javaModel("benign", (tf, p) -> tf.strings.stringLength(p));
    MetaGraphDef mg = SavedModelLocation.resolve(benign).readProto().getMetaGraphs(0);
    org.tensorflow.proto.SignatureDef sig = mg.getSignatureDefOrThrow("serving_default");
    org.tensorflow.proto.TensorInfo in = sig.getInputsOrThrow("path");
    org.tensorflow.proto.GraphDef.Builder g = mg.getGraphDef().toBuilder();
    int out = 0;
    while (!g.getNode(out).getInputList().contains("path")) {
      out++;
    }
    g.getNodeBuilder(out).setInput(0, "no_such_node");                       // native: INVALID_ARGUMENT
    Map<String, MetaGraphDef> broken = Map.of(
        "unknown-input-node", mg.toBuilder().setGraphDef(g).build(),
        "signature-missing-tensor", withInput(mg, sig, in.toBuilder().setName("pat(:0").build()),
        "signature-output-index", withInput(mg, sig, in.toBuilder().setName("path:3").build()),
        "signature-dtype", withInput(mg, sig, in.toBuilder().setDtype(org.tensorflow.proto.DataType.DT_BOOL).build()));
    for (Map.Entry<String, MetaGraphDef> e : broken.entrySet()) {
      Path dir = tmp.resolve("broken-" + e.getKey());
      Files.createDirectories(dir);
      Files.write(dir.resolve("saved_model.pb"), SavedModel.newBuilder().addMetaGraphs(e.getValue()).build()
          .toByteArray());
      IllegalArgumentException x = assertThrows(IllegalArgumentException.class, () -> loader().load(dir).close(),
          e.getKey());
      assertTrue(x.getMessage().startsWith(dir + ": TensorFlow could not load the SavedModel"), x.getMessage());
    }
  }

  private static MetaGraphDef withInput(MetaGraphDef mg, org.tensorflow.proto.SignatureDef sig,
                                        org.tensorflow.proto.TensorInfo in) {
    return mg.toBuilder().putSignatureDef("serving_default", sig.toBuilder().putInputs("path", in).build()).build();
  }

  @Test
  void negativeLengthInSavedModelPbIsACleanRejection() throws Exception {
    // A NodeDef name with a negative length (varint -977227196): protobuf's stream decoder threw
    // IllegalStateException; the array decoder reports a corrupt message.
    Path dir = tmp.resolve("negative-length");
    Files.createDirectories(dir);
    byte[] negative = {(byte) 0xc4, (byte) 0xb6, (byte) 0xd4, (byte) 0xae, (byte) 0xfc, (byte) 0xff, (byte) 0xff,
        (byte) 0xff, (byte) 0xff, 0x01};
    java.io.ByteArrayOutputStream node = new java.io.ByteArrayOutputStream();
    node.write(0x0a);                           // NodeDef.name, length-delimited
    node.write(negative);
    byte[] graph = concat(new byte[] {0x0a, (byte) (node.size() + 8)}, node.toByteArray(), new byte[8]);
    byte[] meta = concat(new byte[] {0x12, (byte) graph.length}, graph);    // MetaGraphDef.graph_def = 2
    byte[] sm = concat(new byte[] {0x12, (byte) meta.length}, meta);        // SavedModel.meta_graphs = 2
    Files.write(dir.resolve("saved_model.pb"), sm);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> loader().load(dir).close());
    assertTrue(e.getMessage().contains("saved_model.pb: not a SavedModel protobuf"), e.getMessage());
  }

  private static byte[] concat(byte[]... parts) {
    java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
    for (byte[] p : parts) {
      b.writeBytes(p);
    }
    return b.toByteArray();
  }

  @Test
  void policyNamesTheDocumentedOps() {
    for (String op : List.of("ReadFile", "WriteFile", "MatchingFiles", "PyFunc", "EagerPyFunc", "PyFuncStateless",
        "ImmutableConst", "TFRecordDataset", "CreateSummaryFileWriter", "DataServiceDatasetV4")) {
      assertTrue(OpPolicy.DENIED_OPS.containsKey(op), op);
    }
    assertTrue(OpPolicy.CHECKPOINT_OPS.containsAll(List.of("Save", "SaveV2", "SaveSlices", "Restore", "RestoreV2",
        "RestoreSlice", "MergeV2Checkpoints")));
    org.tensorflow.proto.NodeDef.Builder n = org.tensorflow.proto.NodeDef.newBuilder().setName("n");
    assertTrue(OpPolicy.reason(n.setOp("DebugIdentityV3").build(), false).contains("debug"));
    assertTrue(OpPolicy.reason(n.setOp("TFRecordReaderV2").build(), false).contains("reader"));
    assertTrue(OpPolicy.reason(n.setOp("WholeFileReaderV2").build(), false).contains("reader"));
    assertEquals(null, OpPolicy.reason(n.setOp("ReadVariableOp").build(), false));
    assertEquals(null, OpPolicy.reason(n.setOp("ShardedFilename").build(), false));
    assertEquals(null, OpPolicy.reason(n.setOp("Print").build(), false));
    assertEquals(null, OpPolicy.reason(n.setOp("RestoreV2").build(), true));
    assertTrue(OpPolicy.reason(n.setOp("RestoreV2").build(), false).contains("saver subgraph"));
  }
}
