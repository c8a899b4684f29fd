package io.github.tflxmert.weights;

import io.jhdf.HdfFile;
import io.jhdf.Superblock;
import io.jhdf.api.Attribute;
import io.jhdf.api.Dataset;
import io.jhdf.api.Group;
import io.jhdf.api.Node;
import io.jhdf.api.dataset.ChunkedDataset;
import io.jhdf.api.dataset.ContiguousDataset;
import io.jhdf.object.datatype.DataType;
import io.jhdf.object.datatype.FloatingPoint;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An HF {@code tf_model.h5} as {@code save_pretrained} writes it (tf-keras' legacy HDF5 weights format): root
 * attribute {@code layer_names}, one group per top-level layer with a {@code weight_names} attribute (or
 * {@code weight_names0..k} when split, or an empty array), one dataset per name at the path
 * {@code <group>/<full variable name>}. Names are exposed with the model-name component and {@code :0}
 * stripped; a name stored in several groups (the embeddings duplicated into {@code cls}) is taken from the
 * first group in {@code layer_names} order, i.e. {@code lxmert}.
 *
 * <p>Little-endian float32 contiguous datasets are read from the file straight into the caller's buffer
 * (positional reads at the offset jhdf reports, confirmed against jhdf's view of the data); the file is mapped
 * only for jhdf to parse its structure, so its data pages are never part of this process's resident memory.
 * Other float layouts are copied from jhdf's buffer; float16/float64 are converted to float32. Any other dtype
 * is rejected with the dataset named. Corrupt structure (a truncated file,
 * a damaged header, a dangling link) is reported as an {@link IllegalArgumentException} naming the file, whatever
 * jhdf threw; the file format has no checksum over contiguous data (and none over metadata in the superblock
 * version Keras writes), so a flipped bit inside a dataset's data loads as a different number. Close to release
 * the file; {@link #read} is thread-safe, opening and closing are not.
 */
public final class H5WeightSource implements WeightSource {
  private record Stored(Entry entry, String path) {}

  /** Largest chunk decoded when it is larger than its dataset (HDF5 itself caps chunks at 4 GiB). */
  private static final long MAX_CHUNK_BYTES = 64L << 20;

  private final String file;
  private final HdfFile hdf;
  /** The file, for positional reads of contiguous float32 data (null when reading bytes held in memory). */
  private final FileChannel channel;
  private final Map<String, Stored> stored = new LinkedHashMap<>();
  private final Map<String, Entry> entries;
  private final List<String> layerNames;

  private H5WeightSource(String file, HdfFile hdf, FileChannel channel) {
    this.file = file;
    this.hdf = hdf;
    this.channel = channel;
    Superblock sb = hdf.getHdfBackingStorage().getSuperblock();
    if (sb.getEndOfFileAddress() >= 0 && sb.getBaseAddressByte() >= 0) {
      long recorded = sb.getBaseAddressByte() + sb.getEndOfFileAddress();
      if (hdf.size() < recorded) {
        throw bad("truncated: the HDF5 superblock records " + recorded + " bytes, found " + hdf.size()
            + " (an interrupted download or copy?)");
      }
    }
    Attribute ln = hdf.getAttribute("layer_names");
    if (ln == null) {
      throw bad("expected a Keras weights file with a root attribute layer_names, found none (sharded "
          + "checkpoints, with tf_model.h5.index.json, are not supported)");
    }
    this.layerNames = strings(ln.getData(), "layer_names");
    for (String layer : layerNames) {
      Node g = hdf.getChild(layer);
      if (!(g instanceof Group group)) {
        throw bad("layer_names lists " + layer + " but the file has no group /" + layer);
      }
      for (String stored : weightNames(group)) {
        String name = WeightNames.stripModelPrefix(stored);
        if (this.stored.containsKey(name)) {
          continue; // duplicate copy (cls keeps the embeddings a second time)
        }
        String path = layer + "/" + stored;
        Node n;
        try {
          n = hdf.getByPath(path);
        } catch (RuntimeException e) {
          throw bad("weight_names of /" + layer + " lists " + stored + " but there is no dataset /" + path);
        }
        if (!(n instanceof Dataset ds)) {
          throw bad("/" + path + " is not a dataset");
        }
        String dtype = dtypeOf(ds, path);
        int[] dims = ds.getDimensions();
        long[] shape = new long[dims.length];
        for (int i = 0; i < dims.length; i++) {
          shape[i] = dims[i];
        }
        this.stored.put(name, new Stored(new Entry(name, dtype, shape), path));
      }
    }
    Map<String, Entry> en = new LinkedHashMap<>();
    stored.forEach((k, v) -> en.put(k, v.entry()));
    this.entries = Collections.unmodifiableMap(en);
  }

  /**
   * Opens a Keras/HF weights file. Files below 2 GiB (every LXMERT checkpoint) are memory-mapped and read
   * through jhdf's in-memory reader, so every length a corrupt header claims is checked against the mapping
   * instead of being allocated (jhdf's file reader allocates a heap buffer of the claimed length when a region
   * lies outside the file). Larger files fall back to jhdf's file reader.
   *
   * @throws IllegalArgumentException naming the file on bad content
   * @throws IOException              if the file cannot be read
   */
  public static H5WeightSource open(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(file + ": no such file");
    }
    long size = Files.size(file);
    if (size > Integer.MAX_VALUE - 8) {
      return open(file.toString(), () -> new HdfFile(file), null);
    }
    FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
    try {
      // jhdf reads the structure through the mapping (only the header pages are touched); tensor data is read
      // with positional reads into the caller's buffer, so the file's pages never count as this process's memory.
      ByteBuffer mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
      return open(file.toString(), () -> HdfFile.fromByteBuffer(mapped), ch);
    } catch (RuntimeException | IOException | Error e) {
      ch.close();
      throw e;
    }
  }

  /**
   * Reads the bytes of a Keras/HF weights file held in memory (not copied; do not modify them while the source
   * is used). Same checks and messages as {@link #open(Path)}; {@code description} names the bytes.
   *
   * @throws IllegalArgumentException naming {@code description} on bad content
   */
  public static H5WeightSource fromBytes(byte[] bytes, String description) {
    return open(description, () -> HdfFile.fromByteBuffer(ByteBuffer.wrap(bytes).asReadOnlyBuffer()), null);
  }

  private static H5WeightSource open(String description, java.util.function.Supplier<HdfFile> opener,
                                     FileChannel channel) {
    HdfFile hdf;
    try {
      hdf = opener.get();
    } catch (RuntimeException | StackOverflowError e) {
      throw new IllegalArgumentException(description + ": not a readable HDF5 file (" + e + ")", e);
    }
    try {
      return new H5WeightSource(description, hdf, channel);
    } catch (RuntimeException | StackOverflowError e) {
      hdf.close();
      if (isOurs(e, description)) {
        throw (IllegalArgumentException) e;
      }
      // jhdf reports corrupt structures as HdfException, BufferUnderflowException, IndexOutOfBounds, and its own
      // IllegalArgumentExceptions that do not name the file.
      throw new IllegalArgumentException(description + ": corrupt or unexpected HDF5 content (" + e + ")", e);
    }
  }

  /** An IllegalArgumentException this class made (it names the file), as opposed to one from inside jhdf. */
  private static boolean isOurs(Throwable e, String description) {
    return e instanceof IllegalArgumentException && e.getMessage() != null && e.getMessage().startsWith(description);
  }

  /** The top-level layers the file holds, in order (e.g. lxmert, cls, obj_predict_head, answer_head). */
  public List<String> layerNames() {
    return layerNames;
  }

  private List<String> weightNames(Group g) {
    List<String> out = new ArrayList<>();
    Attribute a = g.getAttribute("weight_names");
    if (a != null) {
      out.addAll(strings(a.getData(), g.getName() + ".weight_names"));
      return out;
    }
    for (int k = 0; ; k++) {
      Attribute part = g.getAttribute("weight_names" + k);
      if (part == null) {
        break;
      }
      out.addAll(strings(part.getData(), g.getName() + ".weight_names" + k));
    }
    if (out.isEmpty() && g.getAttributes().keySet().stream().noneMatch(k -> k.startsWith("weight_names"))) {
      throw bad("group /" + g.getName() + " has no weight_names attribute");
    }
    return out;
  }

  private List<String> strings(Object data, String what) {
    if (data == null) {
      return List.of(); // Keras writes an empty float array for an empty list
    }
    if (data instanceof String[] arr) {
      return List.of(arr);
    }
    if (data instanceof String s) {
      return List.of(s);
    }
    if (data.getClass().isArray() && java.lang.reflect.Array.getLength(data) == 0) {
      return List.of();
    }
    throw bad(what + ": expected an array of strings, found " + data.getClass().getSimpleName());
  }

  private String dtypeOf(Dataset ds, String path) {
    DataType t = ds.getDataType();
    if (t instanceof FloatingPoint fp) {
      return switch (fp.getSize()) {
        case 2 -> "float16";
        case 4 -> "float32";
        case 8 -> "float64";
        default -> throw bad("/" + path + ": unsupported float width " + fp.getSize());
      };
    }
    throw bad("/" + path + ": expected a floating-point dataset, found " + t.getClass().getSimpleName());
  }

  private IllegalArgumentException bad(String what) {
    return new IllegalArgumentException(file + ": " + what);
  }

  @Override
  public String description() {
    return file;
  }

  @Override
  public Layout layout() {
    return Layout.TF;
  }

  @Override
  public Map<String, Entry> entries() {
    return entries;
  }

  /**
   * {@inheritDoc} May be called from several threads at once: the lookup in jhdf's structures is serialized, the
   * bulk read of float32 data (positional reads on the file) is not.
   */
  @Override
  public void read(String name, ByteBuffer target) throws IOException {
    Direct d;
    synchronized (this) {
      d = readOrLocate(name, target);
    }
    if (d != null) {
      ByteBuffer dst = target.duplicate();
      dst.limit(dst.position() + (int) d.bytes());
      long pos = d.offset();
      while (dst.hasRemaining()) {
        int n = channel.read(dst, pos);
        if (n < 0) {
          throw bad("/" + d.path() + ": the file ended inside the dataset's data");
        }
        pos += n;
      }
      target.position(dst.position());
    }
  }

  /** A dataset's float32 little-endian data at a confirmed file offset. */
  private record Direct(long offset, long bytes, String path) {}

  /** Copies the tensor into {@code target} and returns null, or returns where to read it from the file. */
  private Direct readOrLocate(String name, ByteBuffer target) throws IOException {
    Stored s = stored.get(name);
    if (s == null) {
      throw new IllegalArgumentException(file + ": no weight " + name);
    }
    String what = file + " /" + s.path();
    long bytes = s.entry().elements() * switch (s.entry().dtype()) {
      case "float16" -> 2;
      case "float64" -> 8;
      default -> 4;
    };
    if (target.remaining() < s.entry().elements() * 4) {
      throw new IllegalArgumentException(what + ": expected room for " + s.entry().elements() + " floats in the "
          + "target buffer, found " + target.remaining() / 4);
    }
    try {
      Dataset ds = hdf.getDatasetByPath(s.path());
      if (ds instanceof ContiguousDataset cd && !ds.isEmpty()) {
        Direct d = locateDirect(cd, s, bytes);
        if (d != null) {
          return d;
        }
        ByteBuffer src = cd.getBuffer();
        if (src.remaining() != bytes) {
          throw bad("/" + s.path() + ": expected " + bytes + " bytes of data, found " + src.remaining());
        }
        src.order(((FloatingPoint) ds.getDataType()).getByteOrder());
        Conversions.toFloat32(s.entry().dtype(), src, target, what);
        return null;
      }
      // Chunked or compressed datasets: let jhdf decode them into a flat array (one tensor at a time). jhdf
      // allocates a whole chunk from the chunk dimensions in the header, so check them first.
      if (ds instanceof ChunkedDataset chunked) {
        long chunk = 1;
        for (int d : chunked.getChunkDimensions()) {
          if (d <= 0) {
            throw bad("/" + s.path() + ": expected positive chunk dimensions, found "
                + java.util.Arrays.toString(chunked.getChunkDimensions()));
          }
          chunk = Math.multiplyExact(chunk, d);
        }
        long chunkBytes = Math.multiplyExact(chunk, bytes / Math.max(1, s.entry().elements()));
        if (chunkBytes > Math.max(bytes, MAX_CHUNK_BYTES)) {
          throw bad("/" + s.path() + ": expected chunks of at most " + Math.max(bytes, MAX_CHUNK_BYTES)
              + " bytes (the dataset's size or " + MAX_CHUNK_BYTES + "), found chunk dimensions "
              + java.util.Arrays.toString(chunked.getChunkDimensions()) + " (" + chunkBytes + " bytes)");
        }
      }
      Object flat = ds.getDataFlat();
      ByteBuffer out = target.duplicate().order(ByteOrder.LITTLE_ENDIAN);
      if (flat instanceof float[] f) {
        out.asFloatBuffer().put(f);
        target.position(target.position() + f.length * 4);
      } else if (flat instanceof double[] d) {
        for (double v : d) {
          out.putFloat((float) v);
        }
        target.position(out.position());
      } else {
        throw bad("/" + s.path() + ": cannot decode dataset of type " + (flat == null ? "null" : flat.getClass()));
      }
      return null;
    } catch (RuntimeException | StackOverflowError e) {
      if (isOurs(e, file)) {
        throw (IllegalArgumentException) e;
      }
      throw new IllegalArgumentException(what + ": cannot read the dataset (" + e + ")", e);
    }
  }

  /**
   * Where a little-endian float32 contiguous dataset lies in the file, to be read straight into the caller's buffer
   * (one copy, no mapping of the data). Null where that does not apply or the dataset's file offset cannot be
   * confirmed against jhdf's own view of it; the caller then copies from jhdf's buffer.
   */
  private Direct locateDirect(ContiguousDataset cd, Stored s, long bytes) throws IOException {
    if (channel == null || !s.entry().dtype().equals("float32")
        || ((FloatingPoint) cd.getDataType()).getByteOrder() != ByteOrder.LITTLE_ENDIAN) {
      return null;
    }
    long offset = cd.getDataAddress() + hdf.getHdfBackingStorage().getSuperblock().getBaseAddressByte();
    if (offset < 0 || bytes < 8 || offset + bytes > channel.size()) {
      return null;
    }
    // Confirm the offset: the first and last 8 bytes must be what jhdf's buffer over the dataset holds.
    ByteBuffer view = cd.getBuffer();
    if (view.remaining() != bytes || !sameBytes(view, 0, offset) || !sameBytes(view, bytes - 8, offset + bytes - 8)) {
      return null;
    }
    return new Direct(offset, bytes, s.path());
  }

  private boolean sameBytes(ByteBuffer view, long index, long fileOffset) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(8);
    while (b.hasRemaining()) {
      if (channel.read(b, fileOffset + b.position()) < 0) {
        return false;
      }
    }
    for (int i = 0; i < 8; i++) {
      if (b.get(i) != view.get(view.position() + (int) index + i)) {
        return false;
      }
    }
    return true;
  }

  @Override
  public void close() throws IOException {
    try {
      hdf.close();
    } finally {
      if (channel != null) {
        channel.close();
      }
    }
  }
}
