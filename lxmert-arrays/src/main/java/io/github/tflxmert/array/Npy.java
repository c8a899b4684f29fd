package io.github.tflxmert.array;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads and writes numpy {@code .npy} files (format versions 1-3). Reading accepts C-order float32, float64,
 * int32 and int64 in either byte order, plus uint8/int8/bool as integers; anything else (Fortran order, object
 * or string dtypes, a shape that disagrees with the data length, a bad magic) is rejected with an
 * {@link IllegalArgumentException} naming the source, what was expected and what was found. No allocation is
 * sized by a header field before that field is checked against the bytes actually present. Stateless and
 * thread-safe.
 */
public final class Npy {
  private Npy() {}

  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
  /** numpy itself refuses headers above 10,000 bytes unless told otherwise; allow some room. */
  private static final int MAX_HEADER = 1 << 16;
  private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
  private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
  private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

  /**
   * Reads a .npy file.
   *
   * @throws IllegalArgumentException naming the file if it is not a regular file or not a valid .npy
   * @throws IOException              if it cannot be read
   */
  public static NpyArray read(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      // Also keeps devices and pipes out: /dev/zero reports size 0 and would be read until memory runs out.
      throw new IllegalArgumentException(file + ": expected a regular .npy file, found "
          + (Files.isDirectory(file) ? "a directory" : Files.exists(file) ? "a special file" : "nothing"));
    }
    long size = Files.size(file);
    if (size > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(file + ": " + size + " bytes is larger than this reader supports (2 GiB)");
    }
    return parse(Files.readAllBytes(file), file.toString());
  }

  /** Reads one .npy from a stream (e.g. an .npz entry), at most {@code maxBytes} bytes. */
  public static NpyArray read(InputStream in, String source, long maxBytes) throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    byte[] chunk = new byte[1 << 16];
    long total = 0;
    int n;
    while ((n = in.read(chunk)) > 0) {
      total += n;
      if (total > maxBytes) {
        throw new IllegalArgumentException(source + ": more than " + maxBytes + " bytes");
      }
      buf.write(chunk, 0, n);
    }
    return parse(buf.toByteArray(), source);
  }

  public static FloatArray readFloat(Path file) throws IOException {
    return read(file).toFloatArray();
  }

  public static IntArray readInt(Path file) throws IOException {
    return read(file).toIntArray();
  }

  /** Parses the bytes of a .npy file; {@code source} names it in error messages. */
  public static NpyArray parse(byte[] bytes, String source) {
    if (bytes.length < 10 || !Arrays.equals(Arrays.copyOf(bytes, 6), MAGIC)) {
      throw new IllegalArgumentException(source + ": not a .npy file (expected the magic \\x93NUMPY, found "
          + (bytes.length < 6 ? bytes.length + " bytes" : describeMagic(bytes)) + ")");
    }
    int major = bytes[6] & 0xff;
    ByteBuffer bb = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    long headerLen;
    int headerStart;
    if (major == 1) {
      headerLen = bb.getShort(8) & 0xffff;
      headerStart = 10;
    } else if (major == 2 || major == 3) {
      if (bytes.length < 12) {
        throw new IllegalArgumentException(source + ": truncated .npy header");
      }
      headerLen = bb.getInt(8) & 0xffffffffL;
      headerStart = 12;
    } else {
      throw new IllegalArgumentException(source + ": expected .npy format version 1, 2 or 3, found " + major);
    }
    if (headerLen > MAX_HEADER || headerStart + headerLen > bytes.length) {
      throw new IllegalArgumentException(source + ": header length " + headerLen + " exceeds the file ("
          + bytes.length + " bytes) or the limit " + MAX_HEADER);
    }
    String header = new String(bytes, headerStart, (int) headerLen,
        major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    String descr = group(DESCR, header, "descr", source);
    String fortran = group(FORTRAN, header, "fortran_order", source);
    if (fortran.equals("True")) {
      throw new IllegalArgumentException(source + ": expected C order (fortran_order False), found Fortran order");
    }
    long[] shape = parseShape(group(SHAPE, header, "shape", source), source);
    long count;
    try {
      count = Shapes.size(shape);
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw new IllegalArgumentException(source + ": shape " + Arrays.toString(shape) + " is too large", e);
    }
    char order = descr.isEmpty() ? '?' : descr.charAt(0);
    String kind = descr.length() > 1 ? descr.substring(1) : descr;
    int width = switch (kind) {
      case "f4", "i4", "u4" -> 4;
      case "f8", "i8" -> 8;
      case "i2", "u2" -> 2;
      case "u1", "i1", "b1" -> 1;
      default -> throw new IllegalArgumentException(source + ": expected dtype float32, float64, int32 or int64, found '"
          + descr + "'");
    };
    if (order != '<' && order != '>' && order != '|' && order != '=') {
      throw new IllegalArgumentException(source + ": unsupported byte order in dtype '" + descr + "'");
    }
    int dataStart = headerStart + (int) headerLen;
    long need = count * width;
    long have = bytes.length - dataStart;
    if (have != need) {
      throw new IllegalArgumentException(source + ": shape " + Arrays.toString(shape) + " of " + descr + " needs "
          + need + " data bytes, found " + have);
    }
    ByteBuffer data = ByteBuffer.wrap(bytes, dataStart, (int) need).slice()
        .order(order == '>' ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
    int n = (int) count;
    if (kind.startsWith("f")) {
      float[] f = new float[n];
      if (width == 4) {
        data.asFloatBuffer().get(f);
      } else {
        for (int i = 0; i < n; i++) {
          f[i] = (float) data.getDouble(i * 8);
        }
      }
      return new NpyArray(source, descr, shape, f, null);
    }
    long[] l = new long[n];
    for (int i = 0; i < n; i++) {
      l[i] = switch (kind) {
        case "i4" -> data.getInt(i * 4);
        case "u4" -> data.getInt(i * 4) & 0xffffffffL;
        case "i8" -> data.getLong(i * 8);
        case "i2" -> data.getShort(i * 2);
        case "u2" -> data.getShort(i * 2) & 0xffff;
        case "i1" -> data.get(i);
        default -> data.get(i) & 0xff;
      };
    }
    return new NpyArray(source, descr, shape, null, l);
  }

  /**
   * What a file that is not a .npy starts with, without quoting it: error messages must not leak the contents
   * of a file (a reference directory may point at any file on the machine).
   */
  private static String describeMagic(byte[] b) {
    if (b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4) {
      return "a zip archive (an .npz?)";
    }
    if ((b[0] & 0xff) == 0x89 && b[1] == 'H' && b[2] == 'D' && b[3] == 'F') {
      return "an HDF5 file";
    }
    if ((b[0] & 0xff) == 0x93) {
      return "\\x93 followed by other bytes than NUMPY";
    }
    int n = Math.min(b.length, 64);
    for (int i = 0; i < n; i++) {
      int c = b[i] & 0xff;
      if (c < 0x20 && c != '\n' && c != '\r' && c != '\t' || c == 0x7f) {
        return "binary data (" + b.length + " bytes)";
      }
    }
    return "text (" + b.length + " bytes)";
  }

  private static String group(Pattern p, String header, String field, String source) {
    Matcher m = p.matcher(header);
    if (!m.find()) {
      throw new IllegalArgumentException(source + ": .npy header has no valid '" + field + "' entry: " + abbreviate(header));
    }
    return m.group(1);
  }

  private static String abbreviate(String s) {
    s = s.strip();
    return s.length() > 120 ? s.substring(0, 120) + "..." : s;
  }

  private static long[] parseShape(String s, String source) {
    List<Long> dims = new ArrayList<>();
    for (String part : s.split(",")) {
      String t = part.strip();
      if (t.isEmpty()) {
        continue;
      }
      if (t.endsWith("L")) {
        t = t.substring(0, t.length() - 1);
      }
      try {
        long d = Long.parseLong(t);
        if (d < 0) {
          throw new NumberFormatException();
        }
        dims.add(d);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(source + ": bad dimension '" + t + "' in shape (" + s + ")", e);
      }
    }
    return dims.stream().mapToLong(Long::longValue).toArray();
  }

  /** Writes a little-endian float32 C-order .npy (version 1). */
  public static void write(Path file, FloatArray a) throws IOException {
    ByteBuffer data = ByteBuffer.allocate(a.data().length * 4).order(ByteOrder.LITTLE_ENDIAN);
    data.asFloatBuffer().put(a.data());
    write(file, "<f4", a.shape(), data.array());
  }

  /** Writes a little-endian int32 C-order .npy (version 1). */
  public static void write(Path file, IntArray a) throws IOException {
    ByteBuffer data = ByteBuffer.allocate(a.data().length * 4).order(ByteOrder.LITTLE_ENDIAN);
    data.asIntBuffer().put(a.data());
    write(file, "<i4", a.shape(), data.array());
  }

  private static void write(Path file, String descr, long[] shape, byte[] data) throws IOException {
    StringBuilder sh = new StringBuilder();
    for (long d : shape) {
      sh.append(d).append(", ");
    }
    String shapeText = shape.length == 1 ? "(" + shape[0] + ",)"
        : "(" + (shape.length == 0 ? "" : sh.substring(0, sh.length() - 2)) + ")";
    String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shapeText + ", }";
    int total = 10 + dict.length() + 1;
    int pad = (64 - total % 64) % 64;
    String header = dict + " ".repeat(pad) + "\n";
    try (OutputStream out = Files.newOutputStream(file)) {
      out.write(MAGIC);
      out.write(new byte[] {1, 0});
      out.write(ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort((short) header.length()).array());
      out.write(header.getBytes(StandardCharsets.ISO_8859_1));
      out.write(data);
    }
  }
}
