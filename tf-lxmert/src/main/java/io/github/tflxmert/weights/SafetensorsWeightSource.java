package io.github.tflxmert.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@code model.safetensors} file: 8-byte little-endian header length, a JSON header (dtype, shape,
 * data_offsets per tensor, optional {@code __metadata__}), then raw little-endian data. Metadata
 * {@code format: tf} means HF TF variable names (with {@code :0}, without the model prefix) and TF layouts;
 * {@code format: pt} (or none) means PyTorch keys and [out, in] kernels.
 *
 * <p>Every header field is checked against the file before it drives an allocation: the header length against
 * the file size and a 100 MiB cap, each tensor's byte range against the data section and its dtype and shape,
 * ranges against each other (no overlap), and no two stored names may map to the same canonical name (e.g.
 * {@code x.gamma} next to {@code x.weight}). float32 tensors are read straight into the caller's buffer, other
 * dtypes are memory-mapped one at a time. There is no checksum in the format: a corrupted byte inside the data
 * section loads as a different number. Close to release the file. {@link #read} is thread-safe (positional
 * reads and per-call mappings); opening and closing are not.
 */
public final class SafetensorsWeightSource implements WeightSource {
  /** Largest JSON header accepted. */
  public static final long MAX_HEADER = 100L << 20;
  private static final ObjectMapper JSON = new ObjectMapper();

  private record Stored(Entry entry, long begin, long end) {}

  private final String file;
  private final FileBytes storage;
  private final long dataStart;
  private final Layout layout;
  private final Map<String, Stored> stored;
  private final Map<String, Entry> entries;
  private final Map<String, String> metadata;

  private SafetensorsWeightSource(String file, FileBytes storage) throws IOException {
    this.file = file;
    this.storage = storage;
    long size = storage.size();
    if (size < 8) {
      throw bad("expected at least 8 bytes (the header length), found " + size);
    }
    ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    storage.readFully(lenBuf, 0);
    long headerLen = lenBuf.getLong(0);
    if (headerLen <= 0 || headerLen > size - 8) {
      throw bad("header length: expected 1 to " + (size - 8) + " (the bytes after the 8-byte length field), found "
          + Long.toUnsignedString(headerLen));
    }
    if (headerLen > MAX_HEADER) {
      throw bad("header length: expected at most " + MAX_HEADER + " bytes (the limit of this reader), found "
          + headerLen);
    }
    // Checked above against the file size and MAX_HEADER: this allocation is bounded by both.
    ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
    storage.readFully(hb, 8);
    JsonNode header;
    try {
      header = JSON.readTree(new String(hb.array(), StandardCharsets.UTF_8));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw bad("header is not valid JSON: " + e.getOriginalMessage());
    }
    if (header == null || !header.isObject()) {
      throw bad("header is not a JSON object");
    }
    this.dataStart = 8 + headerLen;
    long dataLen = size - dataStart;
    Map<String, String> meta = new LinkedHashMap<>();
    Map<String, Stored> st = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getKey().equals("__metadata__")) {
        e.getValue().fields().forEachRemaining(m -> meta.put(m.getKey(), m.getValue().asText()));
        continue;
      }
      st.put(e.getKey(), parseEntry(e.getKey(), e.getValue(), dataLen));
    }
    List<Stored> byOffset = new ArrayList<>(st.values());
    byOffset.sort(Comparator.comparingLong(Stored::begin));
    for (int i = 1; i < byOffset.size(); i++) {
      Stored prev = byOffset.get(i - 1);
      Stored cur = byOffset.get(i);
      if (cur.begin() < prev.end()) {
        throw bad("tensors " + prev.entry().name() + " [" + prev.begin() + ", " + prev.end() + ") and "
            + cur.entry().name() + " [" + cur.begin() + ", " + cur.end() + ") overlap");
      }
    }
    this.metadata = Collections.unmodifiableMap(meta);
    String format = meta.getOrDefault("format", "pt");
    this.layout = format.equals("tf") ? Layout.TF : Layout.PYTORCH;
    if (!format.equals("tf") && !format.equals("pt")) {
      throw bad("metadata format: expected \"tf\" or \"pt\", found \"" + format + "\"");
    }
    Map<String, Stored> renamed = new LinkedHashMap<>();
    Map<String, String> storedAs = new LinkedHashMap<>();
    for (Stored s : st.values()) {
      String name = layout == Layout.TF ? WeightNames.stripModelPrefixIfPresent(s.entry().name())
          : WeightNames.normalisePytorchKey(s.entry().name());
      String before = storedAs.put(name, s.entry().name());
      if (before != null) {
        // e.g. "x.gamma" next to "x.weight", or "a" next to "a:0": which one loaded depended on header order.
        throw bad("tensors " + before + " and " + s.entry().name() + " both stand for " + name
            + " (expected one tensor per name)");
      }
      renamed.put(name, new Stored(new Entry(name, s.entry().dtype(), s.entry().shape()), s.begin(), s.end()));
    }
    this.stored = renamed;
    Map<String, Entry> en = new LinkedHashMap<>();
    renamed.forEach((k, v) -> en.put(k, v.entry()));
    this.entries = Collections.unmodifiableMap(en);
  }

  /**
   * Opens and validates a safetensors file.
   *
   * @throws IllegalArgumentException naming the file on bad content
   * @throws IOException              if the file cannot be read
   */
  public static SafetensorsWeightSource open(Path file) throws IOException {
    FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
    try {
      return new SafetensorsWeightSource(file.toString(), FileBytes.of(ch));
    } catch (RuntimeException | IOException e) {
      ch.close();
      throw e;
    }
  }

  /**
   * Validates the bytes of a safetensors file held in memory (the array is not copied; do not modify it while
   * the source is used). Same checks and messages as {@link #open(Path)}; {@code description} names the bytes.
   *
   * @throws IllegalArgumentException naming {@code description} on bad content
   */
  public static SafetensorsWeightSource fromBytes(byte[] bytes, String description) {
    try {
      return new SafetensorsWeightSource(description, FileBytes.of(bytes));
    } catch (IOException e) {
      throw new IllegalArgumentException(description + ": " + e.getMessage(), e); // not reachable: sizes checked
    }
  }

  private Stored parseEntry(String name, JsonNode n, long dataLen) {
    if (!n.isObject()) {
      throw bad("tensor " + name + ": expected an object with dtype, shape and data_offsets");
    }
    String dtype = n.path("dtype").asText("");
    int width = switch (dtype) {
      case "F32", "I32", "U32" -> 4;
      case "F16", "BF16", "I16", "U16" -> 2;
      case "F64", "I64", "U64" -> 8;
      case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2" -> 1;
      default -> throw bad("tensor " + name + ": unknown dtype \"" + dtype + "\"");
    };
    JsonNode shapeNode = n.path("shape");
    JsonNode off = n.path("data_offsets");
    if (!shapeNode.isArray() || !off.isArray() || off.size() != 2) {
      throw bad("tensor " + name + ": expected a shape array and two data_offsets");
    }
    long[] shape = new long[shapeNode.size()];
    long count = 1;
    for (int i = 0; i < shape.length; i++) {
      JsonNode d = shapeNode.get(i);
      if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0) {
        throw bad("tensor " + name + ": bad dimension " + d + " in shape " + shapeNode);
      }
      shape[i] = d.asLong();
      count = multiply(count, shape[i], name);
    }
    if (!off.get(0).isIntegralNumber() || !off.get(1).isIntegralNumber() || !off.get(0).canConvertToLong()
        || !off.get(1).canConvertToLong()) {
      throw bad("tensor " + name + ": data_offsets: expected two integers below 2^63, found " + off);
    }
    long begin = off.get(0).asLong();
    long end = off.get(1).asLong();
    if (begin < 0 || end < begin || end > dataLen) {
      throw bad("tensor " + name + ": data_offsets [" + begin + ", " + end + ") outside the data section of "
          + dataLen + " bytes");
    }
    long need = multiply(count, width, name);
    if (end - begin != need) {
      throw bad("tensor " + name + ": " + dtype + " " + Arrays.toString(shape) + " needs " + need + " bytes, "
          + "data_offsets give " + (end - begin));
    }
    return new Stored(new Entry(name, dtype, shape), begin, end);
  }

  private long multiply(long a, long b, String name) {
    try {
      return Math.multiplyExact(a, b);
    } catch (ArithmeticException e) {
      throw bad("tensor " + name + ": size overflows");
    }
  }

  private IllegalArgumentException bad(String what) {
    return new IllegalArgumentException(file + ": " + what);
  }

  public Map<String, String> metadata() {
    return metadata;
  }

  @Override
  public String description() {
    return file;
  }

  @Override
  public Layout layout() {
    return layout;
  }

  @Override
  public Map<String, Entry> entries() {
    return entries;
  }

  @Override
  public void read(String name, ByteBuffer target) throws IOException {
    Stored s = stored.get(name);
    if (s == null) {
      throw new IllegalArgumentException(file + ": no tensor " + name);
    }
    long len = s.end() - s.begin();
    if (len > Integer.MAX_VALUE - 8) {
      throw bad("tensor " + name + " is larger than 2 GiB");
    }
    if (target.remaining() < s.entry().elements() * 4) {
      throw bad("tensor " + name + ": expected room for " + s.entry().elements() + " floats in the target buffer, found "
          + target.remaining() / 4);
    }
    if (s.entry().dtype().equals("F32") && target.order() == ByteOrder.LITTLE_ENDIAN) {
      // float32 is stored little-endian: read it straight into the target (no mapping, one copy).
      ByteBuffer dst = target.slice().limit((int) len);
      try {
        storage.readFully(dst, dataStart + s.begin());
      } catch (IOException e) {
        throw bad("tensor " + name + ": " + e.getMessage());
      }
      target.position(target.position() + (int) len);
      return;
    }
    ByteBuffer src = storage.slice(dataStart + s.begin(), len);
    Conversions.toFloat32(s.entry().dtype(), src, target, description() + " " + name);
  }

  @Override
  public void close() throws IOException {
    storage.close();
  }
}
