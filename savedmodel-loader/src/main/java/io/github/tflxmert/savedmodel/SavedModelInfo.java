package io.github.tflxmert.savedmodel;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.proto.TensorShapeProto;

/**
 * What a SavedModel holds, read from its {@code saved_model.pb} without loading it into TensorFlow: per
 * MetaGraph the tags, every SignatureDef (method name; input and output keys with tensor name, dtype and
 * shape), the op types of the graph and its function library, and the ops {@link OpPolicy} refuses.
 *
 * <p>Shapes come from the protos, so an unknown rank stays unknown ({@code unknown_rank} in text, {@code
 * "shape": null, "unknownRank": true} in JSON) rather than looking like a scalar, as TF Java's {@code
 * Signature.TensorDescription} shows it. Works for any SavedModel, LXMERT or not. Immutable; thread-safe.
 */
public final class SavedModelInfo {
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * One tensor of a signature.
   *
   * @param name     the graph tensor name ({@code op:index}); for a sparse or composite tensor, its first
   *                 component's name
   * @param dtype    the {@code DataType} enum name, e.g. {@code DT_INT32}
   * @param dims     dimensions ({@code -1} unknown), or {@code null} for unknown rank
   * @param encoding {@code name}, {@code coo_sparse} or {@code composite_tensor}
   */
  public record TensorSpecInfo(String name, String dtype, List<Long> dims, String encoding) {
    public boolean unknownRank() {
      return dims == null;
    }

    /** As {@code saved_model_cli} prints it: {@code (-1, -1, 128)}, {@code ()}, or {@code unknown_rank}. */
    public String shapeText() {
      return dims == null ? "unknown_rank"
          : "(" + dims.stream().map(String::valueOf).collect(Collectors.joining(", ")) + ")";
    }

    /** The static size of a dimension, or -1 if unknown (or the rank is unknown or smaller). */
    public long dim(int axis) {
      return dims == null || axis >= dims.size() ? -1 : dims.get(axis);
    }

    public int rank() {
      return dims == null ? -1 : dims.size();
    }

    static TensorSpecInfo of(TensorInfo t) {
      TensorShapeProto s = t.getTensorShape();
      List<Long> dims = s.getUnknownRank() ? null
          : Collections.unmodifiableList(s.getDimList().stream().map(TensorShapeProto.Dim::getSize).toList());
      String name = switch (t.getEncodingCase()) {
        case COO_SPARSE -> t.getCooSparse().getValuesTensorName();
        case COMPOSITE_TENSOR -> t.getCompositeTensor().getComponentsCount() > 0
            ? t.getCompositeTensor().getComponents(0).getName() : "";
        default -> t.getName();
      };
      String enc = switch (t.getEncodingCase()) {
        case COO_SPARSE -> "coo_sparse";
        case COMPOSITE_TENSOR -> "composite_tensor";
        default -> "name";
      };
      return new TensorSpecInfo(name, t.getDtype().name(), dims, enc);
    }
  }

  /** One SignatureDef; inputs and outputs sorted by key. */
  public record SignatureInfo(String key, String methodName, SortedMap<String, TensorSpecInfo> inputs,
                              SortedMap<String, TensorSpecInfo> outputs) {
    static SignatureInfo of(String key, SignatureDef sd) {
      SortedMap<String, TensorSpecInfo> in = new TreeMap<>();
      sd.getInputsMap().forEach((k, v) -> in.put(k, TensorSpecInfo.of(v)));
      SortedMap<String, TensorSpecInfo> out = new TreeMap<>();
      sd.getOutputsMap().forEach((k, v) -> out.put(k, TensorSpecInfo.of(v)));
      return new SignatureInfo(key, sd.getMethodName(), Collections.unmodifiableSortedMap(in),
          Collections.unmodifiableSortedMap(out));
    }
  }

  /**
   * One MetaGraph.
   *
   * @param tags              its tag set, in file order
   * @param tensorflowVersion the TensorFlow version that wrote it ("" for TF Java exports)
   * @param signatures        every SignatureDef by key (including {@code __saved_model_init_op})
   * @param opTypes           op types used in the graph and function library (function calls by name left out)
   * @param functionCount     functions in the library
   * @param unsafeOps         every node the deny-list names, with where it is and why
   */
  public record MetaGraphInfo(List<String> tags, String tensorflowVersion, SortedMap<String, SignatureInfo> signatures,
                              SortedSet<String> opTypes, int functionCount, List<OpInventory.Finding> unsafeOps) {
    static MetaGraphInfo of(MetaGraphDef mg) {
      SortedMap<String, SignatureInfo> sigs = new TreeMap<>();
      mg.getSignatureDefMap().forEach((k, v) -> sigs.put(k, SignatureInfo.of(k, v)));
      OpInventory inv = OpInventory.of(mg);
      return new MetaGraphInfo(List.copyOf(mg.getMetaInfoDef().getTagsList()), mg.getMetaInfoDef().getTensorflowVersion(),
          Collections.unmodifiableSortedMap(sigs), inv.opTypes(), inv.functionNames().size(), inv.findings());
    }
  }

  private final SavedModelLocation location;
  private final long schemaVersion;
  private final List<MetaGraphInfo> metaGraphs;

  private SavedModelInfo(SavedModelLocation location, long schemaVersion, List<MetaGraphInfo> metaGraphs) {
    this.location = location;
    this.schemaVersion = schemaVersion;
    this.metaGraphs = List.copyOf(metaGraphs);
  }

  /**
   * Reads a SavedModel directory or TF Serving base directory (see {@link SavedModelLocation#resolve}).
   *
   * @throws IllegalArgumentException if the path is neither, or {@code saved_model.pb} cannot be parsed
   */
  public static SavedModelInfo inspect(Path path) throws IOException {
    SavedModelLocation loc = SavedModelLocation.resolve(path);
    return of(loc, loc.readProto());
  }

  /** Describes an already parsed SavedModel. */
  public static SavedModelInfo of(SavedModelLocation location, SavedModel sm) {
    List<MetaGraphInfo> mgs = new ArrayList<>();
    for (MetaGraphDef mg : sm.getMetaGraphsList()) {
      mgs.add(MetaGraphInfo.of(mg));
    }
    // saved_model_cli orders MetaGraphs by their tag lists
    mgs.sort(Comparator.comparing((MetaGraphInfo m) -> String.join("\u0000", m.tags())));
    return new SavedModelInfo(location, sm.getSavedModelSchemaVersion(), mgs);
  }

  public SavedModelLocation location() {
    return location;
  }

  public long schemaVersion() {
    return schemaVersion;
  }

  public List<MetaGraphInfo> metaGraphs() {
    return metaGraphs;
  }

  /** The MetaGraph with exactly these tags. @throws IllegalArgumentException listing the tag sets present */
  public MetaGraphInfo metaGraph(String... tags) {
    List<String> want = List.of(tags).stream().sorted().toList();
    return metaGraphs.stream().filter(m -> m.tags().stream().sorted().toList().equals(want)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException(location.dir() + ": no MetaGraph with tag set " + want
            + "; the SavedModel has tag sets " + metaGraphs.stream().map(MetaGraphInfo::tags).toList()));
  }

  /**
   * The signatures and ops in the layout of {@code saved_model_cli show --all} (without its Python-only
   * "Concrete Functions" part; the op set is sorted), followed by the function count and the ops the
   * deny-list names.
   */
  public String toText() {
    StringBuilder sb = new StringBuilder();
    for (MetaGraphInfo mg : metaGraphs) {
      sb.append("\nMetaGraphDef with tag-set: '").append(String.join(", ", mg.tags()))
          .append("' contains the following SignatureDefs:\n");
      for (SignatureInfo s : mg.signatures().values()) {
        sb.append("\nsignature_def['").append(s.key()).append("']:\n");
        sb.append("  The given SavedModel SignatureDef contains the following input(s):\n");
        s.inputs().forEach((k, t) -> tensor(sb, "inputs", k, t));
        sb.append("  The given SavedModel SignatureDef contains the following output(s):\n");
        s.outputs().forEach((k, t) -> tensor(sb, "outputs", k, t));
        sb.append("  Method name is: ").append(s.methodName()).append('\n');
      }
      sb.append("The MetaGraph with tag set ")
          .append(mg.tags().stream().map(t -> "'" + t + "'").collect(Collectors.joining(", ", "[", "]")))
          .append(" contains the following ops: ")
          .append(mg.opTypes().stream().map(t -> "'" + t + "'").collect(Collectors.joining(", ", "{", "}")))
          .append('\n');
      sb.append("\nFunction library: ").append(mg.functionCount()).append(" functions\n");
      if (mg.unsafeOps().isEmpty()) {
        sb.append("Ops on the deny-list: none\n");
      } else {
        sb.append("Ops on the deny-list (refused unless allowed):\n");
        for (OpInventory.Finding f : mg.unsafeOps()) {
          sb.append("  ").append(f.describe()).append('\n');
        }
      }
    }
    return sb.toString();
  }

  private static void tensor(StringBuilder sb, String kind, String key, TensorSpecInfo t) {
    sb.append("    ").append(kind).append("['").append(key).append("'] tensor_info:\n");
    sb.append("        dtype: ").append(t.dtype()).append('\n');
    sb.append("        shape: ").append(t.shapeText()).append('\n');
    sb.append("        name: ").append(t.name()).append('\n');
  }

  /** This description as a JSON tree (see {@link #toJson()}). */
  public ObjectNode toJsonNode() {
    ObjectNode root = JSON.createObjectNode();
    root.put("path", location.dir().toString());
    if (location.version().isPresent()) {
      root.put("version", location.version().getAsLong());
    }
    root.put("savedModelSchemaVersion", schemaVersion);
    ArrayNode mgs = root.putArray("metaGraphs");
    for (MetaGraphInfo mg : metaGraphs) {
      ObjectNode m = mgs.addObject();
      ArrayNode tags = m.putArray("tags");
      mg.tags().forEach(tags::add);
      m.put("tensorflowVersion", mg.tensorflowVersion());
      ObjectNode sigs = m.putObject("signatures");
      for (SignatureInfo s : mg.signatures().values()) {
        ObjectNode so = sigs.putObject(s.key());
        so.put("methodName", s.methodName());
        tensors(so.putObject("inputs"), s.inputs());
        tensors(so.putObject("outputs"), s.outputs());
      }
      ArrayNode ops = m.putArray("ops");
      mg.opTypes().forEach(ops::add);
      m.put("functionCount", mg.functionCount());
      ArrayNode unsafe = m.putArray("unsafeOps");
      for (OpInventory.Finding f : mg.unsafeOps()) {
        ObjectNode u = unsafe.addObject();
        u.put("op", f.opType());
        u.put("node", f.use().nodeName());
        if (f.use().function() != null) {
          u.put("function", f.use().function());
        }
        ArrayNode path = u.putArray("callPath");
        f.use().callPath().forEach(path::add);
        u.put("where", f.use().where());
        u.put("reason", f.reason());
      }
    }
    return root;
  }

  /**
   * Pretty-printed JSON: {@code path}, {@code version} (when picked from a base directory), {@code
   * savedModelSchemaVersion}, and {@code metaGraphs[]} with {@code tags}, {@code tensorflowVersion}, {@code
   * signatures.<key>.{methodName, inputs, outputs}} (each tensor {@code name}, {@code dtype}, {@code shape}
   * — an array with -1 for unknown dimensions, or {@code null} — and {@code unknownRank}), {@code ops},
   * {@code functionCount} and {@code unsafeOps[]} ({@code op}, {@code node}, {@code function}, {@code
   * callPath}, {@code where}, {@code reason}).
   */
  public String toJson() {
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(toJsonNode());
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void tensors(ObjectNode into, Map<String, TensorSpecInfo> m) {
    m.forEach((k, t) -> {
      ObjectNode o = into.putObject(k);
      o.put("name", t.name());
      o.put("dtype", t.dtype());
      if (t.dims() == null) {
        o.putNull("shape");
      } else {
        ArrayNode a = o.putArray("shape");
        t.dims().forEach(a::add);
      }
      o.put("unknownRank", t.unknownRank());
      if (!t.encoding().equals("name")) {
        o.put("encoding", t.encoding());
      }
    });
  }

  @Override
  public String toString() {
    return "SavedModelInfo[" + location + ", " + metaGraphs.size() + " MetaGraph(s)]";
  }
}
