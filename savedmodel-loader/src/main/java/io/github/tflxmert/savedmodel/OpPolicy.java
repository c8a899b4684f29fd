package io.github.tflxmert.savedmodel;

import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.NodeDef;

/**
 * Which TensorFlow op types a SavedModel may contain before it is loaded: a documented deny-list of ops that
 * touch files, processes or the network, plus the op types a caller explicitly allows. Loading a SavedModel
 * runs its restore and init ops, and serving runs its signature functions, so a model from an untrusted source
 * could otherwise read or write files (e.g. {@code ReadFile}/{@code WriteFile} in a signature function).
 *
 * <p>Denied:
 * <ul>
 *   <li>every op type in {@link #DENIED_OPS}, by exact name (file I/O, Python callbacks, memory-mapped files,
 *       summary and debug writers, readers and file-backed datasets, tf.data service and RPC, vocabulary files);
 *   <li>every op type starting with one of {@link #DENIED_PREFIXES} ({@code Debug*}: debugger ops that write
 *       to {@code file://} or {@code grpc://} URLs);
 *   <li>every op type containing one of {@link #DENIED_SUBSTRINGS} ({@code *Reader*}: the queue-based file
 *       readers and the ops that drive them);
 *   <li>{@code PrintV2} when its {@code output_stream} is not one of {@link #PRINT_STREAMS} (it accepts
 *       {@code file://path}); {@code DecodeProtoV2}/{@code EncodeProto} when {@code descriptor_source} is not
 *       {@code local://} or {@code bytes://...} (otherwise it is a file path that is read);
 *   <li>the checkpoint ops in {@link #CHECKPOINT_OPS} ({@code SaveV2}, {@code RestoreV2}, ...), <em>except</em>
 *       inside the SavedModel's own saver subgraph (found from the MetaGraphDef's {@code saver_def}, see
 *       {@link OpInventory}), which the loader needs to restore the variables.
 * </ul>
 * Not denied: {@code Print} (writes to stderr only), {@code ShardedFilename}/{@code StringJoin} (string
 * formatting), {@code Fingerprint}, variable and hash-table ops, collective and {@code Send}/{@code Recv} ops
 * (they reach other processes only in a distributed session, which this library never creates).
 *
 * <p>The list is a best effort over the op registry of TensorFlow 2.18 plus well-known custom ops; it is not a
 * sandbox. Custom ops from a library loaded with {@code TensorFlow.loadLibrary} are not known to it.
 * Immutable; thread-safe.
 */
public final class OpPolicy {

  /** Op types refused wherever they appear, with what they do. */
  public static final Map<String, String> DENIED_OPS = deniedOps();

  /** Op-type prefixes refused wherever they appear. */
  public static final Set<String> DENIED_PREFIXES = Set.of("Debug");

  /** Op-type substrings refused wherever they appear. */
  public static final Set<String> DENIED_SUBSTRINGS = Set.of("Reader");

  /** Checkpoint ops: refused except inside the SavedModel's own saver subgraph. */
  public static final Set<String> CHECKPOINT_OPS = Set.of("Save", "SaveV2", "SaveSlices", "Restore", "RestoreV2",
      "RestoreSlice", "MergeV2Checkpoints");

  /** {@code PrintV2.output_stream} values that do not name a file. */
  public static final Set<String> PRINT_STREAMS = Set.of("stderr", "stdout", "log(info)", "log(warning)",
      "log(error)");

  private static final OpPolicy DEFAULTS = new OpPolicy(Set.of());

  private final Set<String> allowed;

  private OpPolicy(Set<String> allowed) {
    this.allowed = Collections.unmodifiableSet(new TreeSet<>(allowed));
  }

  /** The deny-list with nothing allowed. */
  public static OpPolicy defaults() {
    return DEFAULTS;
  }

  /**
   * The deny-list, except for these op types, which the caller has decided to trust for this model (e.g.
   * {@code InitializeTableFromTextFileV2} for a model whose vocabulary is an asset file).
   */
  public static OpPolicy allowing(Collection<String> opTypes) {
    return new OpPolicy(Set.copyOf(opTypes));
  }

  /** Op types this policy lets through although the deny-list names them. */
  public Set<String> allowed() {
    return allowed;
  }

  /**
   * Why this node is unsafe, or {@code null} if it is not. Ignores {@link #allowed()}: callers decide what
   * an allowed finding means (see {@link #isAllowed}).
   *
   * @param inSaverSubgraph whether the node belongs to the SavedModel's own saver subgraph
   */
  public static String reason(NodeDef node, boolean inSaverSubgraph) {
    String op = node.getOp();
    String r = DENIED_OPS.get(op);
    if (r != null) {
      return r;
    }
    for (String p : DENIED_PREFIXES) {
      if (op.startsWith(p)) {
        return "debugger op: writes tensors to file:// or grpc:// debug URLs";
      }
    }
    for (String s : DENIED_SUBSTRINGS) {
      if (op.contains(s)) {
        return "reader op: reads records from files";
      }
    }
    if (CHECKPOINT_OPS.contains(op)) {
      return inSaverSubgraph ? null : "checkpoint op outside the SavedModel's saver subgraph: reads or writes "
          + "checkpoint files at a path the graph chooses";
    }
    if (op.equals("PrintV2")) {
      String stream = stringAttr(node, "output_stream", "stderr");
      return PRINT_STREAMS.contains(stream) ? null : "PrintV2 with output_stream \"" + stream + "\": writes to a file";
    }
    if (op.equals("DecodeProtoV2") || op.equals("EncodeProto")) {
      String src = stringAttr(node, "descriptor_source", "local://");
      return src.equals("local://") || src.startsWith("bytes://") ? null
          : op + " with descriptor_source \"" + src + "\": reads a descriptor file";
    }
    return null;
  }

  /** Whether a finding for this op type is let through. */
  public boolean isAllowed(String opType) {
    return allowed.contains(opType);
  }

  private static String stringAttr(NodeDef node, String name, String def) {
    AttrValue v = node.getAttrMap().get(name);
    return v == null || v.getValueCase() != AttrValue.ValueCase.S ? def : v.getS().toStringUtf8();
  }

  private static Map<String, String> deniedOps() {
    Map<String, String> m = new LinkedHashMap<>();
    put(m, "reads or lists files", "ReadFile", "MatchingFiles", "ImmutableConst", "LoadAndRemapMatrix",
        "GenerateVocabRemapping", "InitializeTableFromTextFile", "InitializeTableFromTextFileV2",
        "FileSystemSetConfiguration");
    put(m, "writes files", "WriteFile", "DatasetToTFRecord", "ExperimentalDatasetToTFRecord");
    put(m, "runs Python code", "PyFunc", "PyFuncStateless", "EagerPyFunc");
    put(m, "writes summaries to files or databases", "CreateSummaryFileWriter", "CreateSummaryDbWriter",
        "WriteSummary", "WriteScalarSummary", "WriteHistogramSummary", "WriteImageSummary", "WriteAudioSummary",
        "WriteGraphSummary", "WriteRawProtoSummary", "ImportEvent", "FlushSummaryWriter", "CloseSummaryWriter");
    put(m, "dataset that reads or writes files", "TFRecordDataset", "TFRecordDatasetV2", "TextLineDataset",
        "FixedLengthRecordDataset", "FixedLengthRecordDatasetV2", "CSVDataset", "CSVDatasetV2",
        "ExperimentalCSVDataset", "SqlDataset", "ExperimentalSqlDataset", "LMDBDataset", "ExperimentalLMDBDataset",
        "MatchingFilesDataset", "ExperimentalMatchingFilesDataset", "LoadDataset", "SaveDataset", "SaveDatasetV2",
        "SnapshotDataset", "SnapshotDatasetV2", "SnapshotChunkDataset", "SnapshotNestedDatasetReader",
        "ListSnapshotChunksDataset", "DistributedSave");
    put(m, "dataset cache: reads and writes files when given a filename", "CacheDataset", "CacheDatasetV2");
    put(m, "talks to the network", "DataServiceDataset", "DataServiceDatasetV2", "DataServiceDatasetV3",
        "DataServiceDatasetV4", "RegisterDataset", "RegisterDatasetV2", "Rpc", "TryRpc", "RpcServer",
        "RpcServerStart", "RpcServerRegister", "RpcClient", "RpcCall", "RpcCheckStatus", "RpcGetValue",
        "DeleteRpcFutureResource", "GcsConfigureCredentials", "GcsConfigureBlockCache", "BigQueryReader",
        "GenerateBigQueryReaderPartitions");
    return Collections.unmodifiableMap(m);
  }

  private static void put(Map<String, String> m, String reason, String... ops) {
    for (String op : ops) {
      m.put(op, reason);
    }
  }

  @Override
  public String toString() {
    return "OpPolicy[deny-list" + (allowed.isEmpty() ? "" : ", allowed " + allowed) + "]";
  }
}
