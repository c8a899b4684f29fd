package io.github.tflxmert.weights;

import io.github.tflxmert.weights.RestrictedUnpickler.Dict;
import io.github.tflxmert.weights.RestrictedUnpickler.Global;
import io.github.tflxmert.weights.RestrictedUnpickler.TensorCall;
import io.github.tflxmert.weights.RestrictedUnpickler.Tuple;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A {@code pytorch_model.bin} written by {@code torch.save}, read without Python and without running anything
 * from it. Two formats:
 * <ul>
 *   <li>zip (torch &ge; 1.6): stored entries under one folder of any name ({@code pytorch_model/},
 *       {@code archive/}): {@code data.pkl} (the state dict pickle), {@code data/<key>} (raw storage bytes),
 *       {@code byteorder} (little if absent);</li>
 *   <li>legacy (before 1.6): five pickles back to back (magic number, protocol version 1001, system info, the
 *       state dict, the sorted list of storage keys), then per storage an int64 little-endian element count and
 *       its raw little-endian bytes.</li>
 * </ul>
 * The pickles go through {@link RestrictedUnpickler}: only the globals a state dict needs are accepted, any other
 * (e.g. {@code os.system}) is refused by name, as {@code torch.load(weights_only=True)} refuses it. Tensors are
 * views of storages (offset, size, stride; several tensors may share one storage); each view is checked to lie
 * inside its storage and each storage inside its entry or the file before anything is allocated. The top-level
 * object must be a dict of tensors (a flat state dict). Names are state-dict keys ({@link Layout#PYTORCH}; old
 * {@code gamma}/{@code beta} renamed as {@link WeightNames#normalisePytorchKey} does). float32, float16,
 * bfloat16 and float64 tensors read as float32; other dtypes are listed and rejected by {@link #read}. The
 * storage location ({@code cpu}, {@code cuda:0}) is ignored: bytes are bytes. Storage CRCs are not checked (the
 * pickle's is), so a damaged byte inside a storage loads as a different number, as with safetensors.
 *
 * <p>Close to release the file. {@link #read} is thread-safe (positional reads, per-call mappings); opening and
 * closing are not.
 */
public final class PytorchWeightSource implements WeightSource {
  /** Largest pickle accepted (an LXMERT state dict's is about 40 KB). */
  public static final long MAX_PICKLE = 32L << 20;
  /** The legacy format's magic number and protocol version ({@code torch/serialization.py}). */
  static final BigInteger MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);
  static final long LEGACY_PROTOCOL = 1001;
  private static final Set<TorchDtype> FLOATS = Set.of(TorchDtype.FLOAT32, TorchDtype.FLOAT16, TorchDtype.BFLOAT16,
      TorchDtype.FLOAT64);

  /** Bytes of a storage: {@code length} bytes at {@code start} in the file. */
  private record Span(long start, long length) {}

  /** A storage as a persistent id names it, before (legacy) its place in the file is known. */
  private record StorageRef(String key, TorchDtype dtype, long numel, long byteOffset, long byteLength) {}

  /** A tensor: a view of a storage. */
  private record Tensor(Entry entry, TorchDtype dtype, Span span, long offset, long[] stride) {}

  /** What the format-specific part found: the state dict and where each storage key's bytes are. */
  private record Parsed(Object stateDict, Map<String, Span> storages, ByteOrder order, String where) {}

  private final String file;
  private final FileBytes bytes;
  private final String format;
  private final ByteOrder order;
  private final Map<String, Tensor> tensors;
  private final Map<String, String> sharedWith;
  private final Map<String, Entry> entries;

  private PytorchWeightSource(String file, FileBytes bytes) throws IOException {
    this.file = file;
    this.bytes = bytes;
    long size = bytes.size();
    ByteBuffer head = ByteBuffer.allocate((int) Math.min(size, 512));
    bytes.readFully(head, 0);
    byte[] h = head.array();
    Parsed p;
    if (h.length >= 4 && h[0] == 'P' && h[1] == 'K' && h[2] == 3 && h[3] == 4) {
      format = "zip";
      p = readZip();
    } else if (h.length >= 2 && (h[0] & 0xff) == 0x80 && h[1] == 2) {
      format = "legacy";
      p = readLegacy(size);
    } else if (h.length >= 262 && new String(h, 257, 5, StandardCharsets.ISO_8859_1).equals("ustar")) {
      throw bad("a tar archive (PyTorch's format before 0.4), which this reader does not read (nor does "
          + "torch.load(weights_only=True))");
    } else {
      throw bad("expected a PyTorch checkpoint: a zip archive (starting PK\\x03\\x04, torch.save since 1.6) or the "
          + "legacy format (a pickle starting \\x80\\x02), found " + hex(h, 4));
    }
    this.order = p.order();
    this.tensors = tensorsOf(p);
    Map<String, Entry> en = new LinkedHashMap<>();
    tensors.forEach((k, v) -> en.put(k, v.entry()));
    this.entries = Collections.unmodifiableMap(en);
    Map<List<Object>, String> first = new HashMap<>();
    Map<String, String> shared = new LinkedHashMap<>();
    tensors.forEach((k, v) -> {
      List<Object> view = List.of(v.dtype(), v.span().start(), v.offset(), Arrays.toString(v.entry().shape()),
          Arrays.toString(v.stride()));
      String earlier = first.putIfAbsent(view, k);
      if (earlier != null) {
        shared.put(k, earlier);
      }
    });
    this.sharedWith = Collections.unmodifiableMap(shared);
  }

  /**
   * Opens and validates a PyTorch checkpoint (zip or legacy format).
   *
   * @throws IllegalArgumentException naming the file (and the entry or pickle) on bad or refused content
   * @throws IOException              if the file cannot be read
   */
  public static PytorchWeightSource open(Path file) throws IOException {
    FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
    try {
      return new PytorchWeightSource(file.toString(), FileBytes.of(ch));
    } catch (RuntimeException | IOException e) {
      ch.close();
      throw e;
    }
  }

  /**
   * Validates a checkpoint held in memory (not copied; do not modify it while the source is used). Same checks
   * and messages as {@link #open(Path)}; {@code description} names the bytes.
   *
   * @throws IllegalArgumentException naming {@code description} on bad or refused content
   */
  public static PytorchWeightSource fromBytes(byte[] bytes, String description) {
    try {
      return new PytorchWeightSource(description, FileBytes.of(bytes));
    } catch (IOException e) {
      throw new IllegalArgumentException(description + ": " + e.getMessage(), e); // not reachable: sizes checked
    }
  }

  /** {@code "zip"} or {@code "legacy"}. */
  public String format() {
    return format;
  }

  private IllegalArgumentException bad(String what) {
    return new IllegalArgumentException(file + ": " + what);
  }

  private static String hex(byte[] b, int n) {
    StringBuilder sb = new StringBuilder(b.length == 0 ? "an empty file" : "bytes");
    for (int i = 0; i < Math.min(n, b.length); i++) {
      sb.append(String.format(java.util.Locale.ROOT, " %02x", b[i] & 0xff));
    }
    return sb.toString();
  }

  // ------------------------------------------------------------------------------------------------ zip

  private Parsed readZip() throws IOException {
    StoredZip zip = StoredZip.read(bytes, file);
    if (zip.members().isEmpty()) {
      throw bad("zip archive with no entries: expected <folder>/data.pkl and <folder>/data/<key>");
    }
    // As PyTorch's reader does: the folder is that of the first entry, whatever its name.
    String first = zip.members().keySet().iterator().next();
    int slash = first.indexOf('/');
    if (slash <= 0) {
      throw bad("zip archive: first entry " + first + ": expected <folder>/<name>, as torch.save writes");
    }
    String prefix = first.substring(0, slash + 1);
    StoredZip.Member pkl = zip.members().get(prefix + "data.pkl");
    if (pkl == null) {
      throw bad("zip archive: no entry " + prefix + "data.pkl (is this a torch.save file? entries: "
          + String.join(", ", zip.members().keySet().stream().limit(5).toList())
          + (zip.members().size() > 5 ? ", ..." : "") + ")");
    }
    ByteOrder order = ByteOrder.LITTLE_ENDIAN;
    StoredZip.Member bo = zip.members().get(prefix + "byteorder");
    if (bo != null) {
      String s = new String(zip.readSmall(bo, 16), StandardCharsets.ISO_8859_1);
      if (!s.equals("little") && !s.equals("big")) {
        throw bad(prefix + "byteorder: expected \"little\" or \"big\", found \"" + s + "\"");
      }
      order = s.equals("big") ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
    }
    byte[] pickle = zip.readSmall(pkl, MAX_PICKLE);
    String where = file + ": " + pkl.name();
    Map<String, StorageRef> refs = new HashMap<>();
    Map<String, Span> spans = new HashMap<>();
    RestrictedUnpickler u = new RestrictedUnpickler(FileBytes.of(pickle), 0, pickle.length, where, (pid, at) -> {
      StorageRef r = storageRef(pid, 5, at, refs);
      StoredZip.Member m = zip.members().get(prefix + "data/" + r.key());
      if (m == null) {
        throw new IllegalArgumentException(at + ": storage " + r.key() + ": no entry " + prefix + "data/" + r.key());
      }
      if (m.size() != r.byteLength()) { // torch.load checks the same: "record size ... does not match"
        throw new IllegalArgumentException(at + ": storage " + r.key() + " of " + r.numel() + " " + r.dtype().numpyName
            + " elements: expected entry " + m.name() + " to hold " + r.byteLength() + " bytes, found " + m.size());
      }
      spans.put(r.key(), new Span(m.dataStart(), r.byteLength()));
      return r;
    });
    return new Parsed(u.load(), spans, order, where);
  }

  /**
   * A persistent id {@code ('storage', storage type, key, location, numel[, view_metadata])}: numel counts
   * elements of the storage type (bytes for UntypedStorage). The same key must name the same storage each time.
   */
  private static StorageRef storageRef(Tuple pid, int arity, String at, Map<String, StorageRef> refs) {
    if (pid.size() != arity) {
      throw new IllegalArgumentException(at + ": persistent id of " + pid.size() + " items: expected " + arity
          + " ('storage', type, key, location, numel" + (arity == 6 ? ", view" : "") + ")");
    }
    if (!(pid.get(1) instanceof Global g) || g.kind() != RestrictedUnpickler.Kind.STORAGE_TYPE) {
      throw new IllegalArgumentException(at + ": persistent id item 2: expected a storage type, found "
          + RestrictedUnpickler.typeName(pid.get(1)));
    }
    if (!(pid.get(2) instanceof String key) || !(pid.get(3) instanceof String)) {
      throw new IllegalArgumentException(at + ": persistent id items 3 and 4 (key, location): expected strings, found "
          + RestrictedUnpickler.typeName(pid.get(2)) + " and " + RestrictedUnpickler.typeName(pid.get(3)));
    }
    if (!(pid.get(4) instanceof Long numel) || numel < 0) {
      throw new IllegalArgumentException(at + ": storage " + key + ": numel: expected a non-negative int below 2^63, "
          + "found " + RestrictedUnpickler.typeName(pid.get(4)));
    }
    TorchDtype dtype = g.dtype() == null ? TorchDtype.UINT8 : g.dtype();
    long bytes = multiply(numel, dtype.size, at + ": storage " + key);
    StorageRef r = new StorageRef(key, dtype, numel, 0, bytes);
    StorageRef before = refs.putIfAbsent(key, r);
    if (before != null && !before.equals(r)) {
      throw new IllegalArgumentException(at + ": storage " + key + " declared as " + numel + " " + dtype.numpyName
          + " elements, and earlier as " + before.numel() + " " + before.dtype().numpyName);
    }
    return r;
  }

  private static long multiply(long a, long b, String what) {
    try {
      return Math.multiplyExact(a, b);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException(what + ": size overflows 64 bits");
    }
  }

  private static long add(long a, long b, String what) {
    try {
      return Math.addExact(a, b);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException(what + ": size overflows 64 bits");
    }
  }

  // ------------------------------------------------------------------------------------------------ legacy

  private Parsed readLegacy(long size) throws IOException {
    Object magic = pickle(0, size, "pickle 1 (magic number)", null);
    if (!(magic instanceof BigInteger m && m.equals(MAGIC))) {
      throw bad("pickle 1: expected PyTorch's magic number 0x" + MAGIC.toString(16) + ", found "
          + (magic instanceof BigInteger || magic instanceof Long ? "0x" + new BigInteger(magic.toString()).toString(16)
          : RestrictedUnpickler.typeName(magic)) + " (not a PyTorch file, or a damaged one)");
    }
    Object protocol = pickle(lastEnd, size, "pickle 2 (protocol version)", null);
    if (!Long.valueOf(LEGACY_PROTOCOL).equals(protocol)) {
      throw bad("pickle 2: expected protocol version " + LEGACY_PROTOCOL + ", found "
          + (protocol instanceof Long ? protocol : RestrictedUnpickler.typeName(protocol)));
    }
    Object sysInfo = pickle(lastEnd, size, "pickle 3 (system info)", null);
    if (!(sysInfo instanceof Dict)) {
      throw bad("pickle 3: expected the system info dict, found " + RestrictedUnpickler.typeName(sysInfo));
    }
    Map<String, StorageRef> roots = new LinkedHashMap<>();
    Map<String, StorageRef> views = new HashMap<>();
    long stateStart = lastEnd;
    Object state = pickle(stateStart, size, "pickle 4 (the state dict, at byte " + stateStart + ")", (pid, at) -> {
      if (pid.size() != 6) {
        throw new IllegalArgumentException(at + ": persistent id of " + pid.size() + " items: expected 6 ('storage', "
            + "type, key, location, numel, view) in the legacy format");
      }
      StorageRef root = storageRef(new Tuple(pid.items().subList(0, 5), pid.depth()), 5, at, roots);
      Object view = pid.get(5);
      if (view == RestrictedUnpickler.NONE) {
        return root;
      }
      // A storage view (torch < 1.0): (view key, offset, size) in elements of the root.
      if (!(view instanceof Tuple v) || v.size() != 3 || !(v.get(0) instanceof String vk)
          || !(v.get(1) instanceof Long off) || !(v.get(2) instanceof Long n) || off < 0 || n < 0) {
        throw new IllegalArgumentException(at + ": storage " + root.key() + ": view: expected None or (key, offset, "
            + "size) with non-negative ints, found " + RestrictedUnpickler.typeName(view));
      }
      if (off > root.numel() || n > root.numel() - off) {
        throw new IllegalArgumentException(at + ": storage view " + vk + " [" + off + ", " + off + " + " + n
            + ") lies outside storage " + root.key() + " of " + root.numel() + " elements");
      }
      StorageRef r = new StorageRef(root.key(), root.dtype(), n, off * root.dtype().size, n * root.dtype().size);
      StorageRef before = views.putIfAbsent(vk, r);
      return before != null ? before : r;
    });
    String where = file + ": pickle 4 (the state dict, at byte " + stateStart + ")";
    Object keys = pickle(lastEnd, size, "pickle 5 (storage keys)", null);
    if (!(keys instanceof List<?> list)) {
      throw bad("pickle 5: expected the list of storage keys, found " + RestrictedUnpickler.typeName(keys));
    }
    // The raw storages follow, in the order of the list: int64 element count, then the bytes.
    Map<String, Span> spans = new HashMap<>();
    long pos = lastEnd;
    for (Object k : list) {
      StorageRef r = k instanceof String s ? roots.get(s) : null;
      if (r == null) {
        throw bad("pickle 5: storage key " + (k instanceof String ? k : RestrictedUnpickler.typeName(k))
            + " is not a storage of the state dict");
      }
      if (spans.containsKey(r.key())) {
        throw bad("pickle 5: storage key " + r.key() + " listed twice");
      }
      if (size - pos < 8) {
        throw bad("storage " + r.key() + " at byte " + pos + ": expected an 8-byte element count, found the end of "
            + "the file (truncated?)");
      }
      ByteBuffer c = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      bytes.readFully(c, pos);
      long count = c.getLong(0);
      if (count != r.numel()) {
        throw bad("storage " + r.key() + " at byte " + pos + ": element count " + count + ", but the state dict "
            + "declares " + r.numel() + " " + r.dtype().numpyName + " elements");
      }
      if (r.byteLength() > size - pos - 8) {
        throw bad("storage " + r.key() + ": " + r.byteLength() + " bytes at byte " + (pos + 8) + " run past the end "
            + "of the file (" + size + " bytes; truncated?)");
      }
      spans.put(r.key(), new Span(pos + 8, r.byteLength()));
      pos += 8 + r.byteLength();
    }
    for (String k : roots.keySet()) {
      if (!spans.containsKey(k)) {
        throw bad("storage " + k + " is used by the state dict but not listed in pickle 5 (no data in the file)");
      }
    }
    return new Parsed(state, spans, ByteOrder.LITTLE_ENDIAN, where);
  }

  /** Where the last pickle read by {@link #pickle} ended (the legacy format's pickles follow each other). */
  private long lastEnd;

  private Object pickle(long start, long size, String what, RestrictedUnpickler.PersistentLoader p) throws IOException {
    RestrictedUnpickler u = new RestrictedUnpickler(bytes, start, Math.min(size, start + MAX_PICKLE),
        file + ": " + what, p);
    Object v = u.load();
    lastEnd = u.position();
    return v;
  }

  // ------------------------------------------------------------------------------------------------ tensors

  private Map<String, Tensor> tensorsOf(Parsed p) {
    if (!(p.stateDict() instanceof Dict d)) {
      throw new IllegalArgumentException(p.where() + ": expected a state dict (a dict of tensors), found "
          + RestrictedUnpickler.typeName(p.stateDict()));
    }
    Map<String, Tensor> out = new LinkedHashMap<>();
    Map<String, String> storedAs = new HashMap<>();
    for (Map.Entry<Object, Object> e : d.map.entrySet()) {
      if (!(e.getKey() instanceof String key)) {
        throw new IllegalArgumentException(p.where() + ": state dict key " + RestrictedUnpickler.typeName(e.getKey())
            + ": expected a str");
      }
      if (!(e.getValue() instanceof TensorCall t)) {
        throw new IllegalArgumentException(p.where() + ": " + key + ": expected a tensor, found "
            + RestrictedUnpickler.typeName(e.getValue()) + " (a state dict maps names to tensors)");
      }
      String name = WeightNames.normalisePytorchKey(key);
      String before = storedAs.put(name, key);
      if (before != null) {
        throw new IllegalArgumentException(p.where() + ": tensors " + before + " and " + key + " both stand for "
            + name + " (expected one tensor per name)");
      }
      out.put(name, tensor(name, t, p));
    }
    return Collections.unmodifiableMap(out);
  }

  /** Checks that the view lies inside its storage: the largest element index it reaches, times the size. */
  private Tensor tensor(String name, TensorCall t, Parsed p) {
    String what = p.where() + ": tensor " + name;
    if (!(t.storage() instanceof StorageRef r)) {
      throw new IllegalArgumentException(what + ": expected a storage as argument 1, found "
          + RestrictedUnpickler.typeName(t.storage()));
    }
    TorchDtype dtype = t.dtype() != null ? t.dtype() : r.dtype();
    long numel = 1;
    long last = t.offset();
    for (int i = 0; i < t.size().length; i++) {
      numel = multiply(numel, t.size()[i], what);
      if (t.size()[i] > 0) {
        last = add(last, multiply(t.size()[i] - 1, t.stride()[i], what), what);
      }
    }
    multiply(numel, 8, what); // elements() and the caller's float32 buffer size stay far from overflow
    if (numel > 0) {
      long needBytes = multiply(add(last, 1, what), dtype.size, what);
      if (needBytes > r.byteLength()) {
        throw new IllegalArgumentException(what + ": " + dtype.numpyName + " view (offset " + t.offset() + ", size "
            + Arrays.toString(t.size()) + ", stride " + Arrays.toString(t.stride()) + ") reaches element " + last
            + ", beyond storage " + r.key() + " of " + r.byteLength() / dtype.size + " elements");
      }
    }
    Span root = p.storages().get(r.key());
    Span span = new Span(root.start() + r.byteOffset(), r.byteLength());
    return new Tensor(new Entry(name, dtype.numpyName, t.size().clone()), dtype, span, t.offset(), t.stride().clone());
  }

  @Override
  public String description() {
    return file;
  }

  @Override
  public Layout layout() {
    return Layout.PYTORCH;
  }

  @Override
  public Map<String, Entry> entries() {
    return entries;
  }

  /** Tensors that are the same view (dtype, storage, offset, shape, stride) of one storage as an earlier one. */
  @Override
  public Map<String, String> sharedWith() {
    return sharedWith;
  }

  @Override
  public void read(String name, ByteBuffer target) throws IOException {
    Tensor t = tensors.get(name);
    if (t == null) {
      throw new IllegalArgumentException(file + ": no tensor " + name);
    }
    long n = t.entry().elements();
    String what = file + " " + name;
    if (!FLOATS.contains(t.dtype())) {
      throw new IllegalArgumentException(what + ": expected a floating-point dtype (float32, float16, bfloat16 or "
          + "float64), found " + t.dtype().numpyName);
    }
    if (target.remaining() < n * 4) {
      throw bad("tensor " + name + ": expected room for " + n + " floats in the target buffer, found "
          + target.remaining() / 4);
    }
    if (n == 0) {
      return;
    }
    int es = t.dtype().size;
    long[] size = t.entry().shape();
    long last = t.offset();
    boolean contiguous = true;
    long expected = 1;
    for (int i = size.length - 1; i >= 0; i--) {
      last += (size[i] - 1) * t.stride()[i];
      if (size[i] != 1 && t.stride()[i] != expected) {
        contiguous = false;
      }
      expected *= size[i];
    }
    long from = t.span().start() + t.offset() * es;
    long len = (last - t.offset() + 1) * es; // checked against the storage when opened
    if (len > Integer.MAX_VALUE - 8) {
      throw bad("tensor " + name + " spans more than 2 GiB of its storage");
    }
    if (contiguous && t.dtype() == TorchDtype.FLOAT32 && order == ByteOrder.LITTLE_ENDIAN
        && target.order() == ByteOrder.LITTLE_ENDIAN) {
      ByteBuffer dst = target.slice().limit((int) len);
      try {
        bytes.readFully(dst, from);
      } catch (IOException e) {
        throw bad("tensor " + name + ": " + e.getMessage());
      }
      target.position(target.position() + (int) len);
      return;
    }
    ByteBuffer src = bytes.slice(from, len).order(order);
    if (contiguous) {
      Conversions.toFloat32(t.dtype().numpyName, src, target, what);
      return;
    }
    // A strided view: walk the index in row-major order, one element at a time.
    ByteBuffer out = target.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    long[] idx = new long[size.length];
    for (long k = 0; k < n; k++) {
      long at = 0;
      for (int i = 0; i < size.length; i++) {
        at += idx[i] * t.stride()[i];
      }
      out.putFloat(Conversions.elementToFloat32(t.dtype().numpyName, src, (int) (at * es)));
      for (int i = size.length - 1; i >= 0 && ++idx[i] == size[i]; i--) {
        idx[i] = 0;
      }
    }
    target.position(out.position());
  }

  @Override
  public void close() throws IOException {
    bytes.close();
  }
}
