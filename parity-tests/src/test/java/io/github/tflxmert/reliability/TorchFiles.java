package io.github.tflxmert.reliability;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * Hand-made PyTorch checkpoints for the hostile-file tests and the fuzz target: a pickle builder (protocol-2
 * opcodes as {@code torch.save} writes them), a zip archive of stored records under one folder, and the legacy
 * format's five pickles plus raw storages ({@code torch/serialization.py} {@code _legacy_save}). The committed
 * files come from real {@code torch.save} ({@code python/make_torch_fixtures.py}); these are for inputs torch
 * would never write.
 */
final class TorchFiles {
  private TorchFiles() {}

  /** A pickle, opcode by opcode. */
  static final class Pickle {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Pickle() {
      out.write(0x80);
      out.write(2);
    }

    Pickle op(int... ops) {
      for (int o : ops) {
        out.write(o);
      }
      return this;
    }

    Pickle global(String module, String name) {
      return op('c').raw((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
    }

    Pickle str(String s) {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      return op('X').raw(le(b.length, 4)).raw(b);
    }

    /** An int as torch.save's pickler writes it: BININT1, BININT2, BININT or LONG1. */
    Pickle integer(long v) {
      if (v >= 0 && v < 256) {
        return op('K', (int) v);
      }
      if (v >= 0 && v < 65536) {
        return op('M').raw(le(v, 2));
      }
      if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
        return op('J').raw(le(v, 4));
      }
      return op(0x8a, 8).raw(le(v, 8));
    }

    Pickle tuple(long... items) {
      op('(');
      for (long i : items) {
        integer(i);
      }
      return op('t');
    }

    /** {@code _rebuild_tensor_v2(('storage', <type>, key, 'cpu', numel), offset, size, stride, False, {})}. */
    Pickle tensor(String storageType, String key, long numel, long offset, long[] size, long[] stride) {
      return tensor(storageType, key, numel, offset, size, stride, false);
    }

    /** The same; {@code legacy}: the persistent id has the legacy format's sixth item, view None. */
    Pickle tensor(String storageType, String key, long numel, long offset, long[] size, long[] stride,
                  boolean legacy) {
      global("torch._utils", "_rebuild_tensor_v2").op('(');
      op('(').str("storage").global("torch", storageType).str(key).str("cpu").integer(numel);
      if (legacy) {
        op('N');
      }
      op('t', 'Q');
      integer(offset).tuple(size).tuple(stride).op(0x89).global("collections", "OrderedDict").op(')', 'R');
      return op('t', 'R');
    }

    /** {@code OrderedDict()} then MARK: put key/value pairs, then {@link #endDict}. */
    Pickle beginDict() {
      return global("collections", "OrderedDict").op(')', 'R', '(');
    }

    Pickle endDict() {
      return op('u', '.');
    }

    Pickle raw(byte[] b) {
      out.writeBytes(b);
      return this;
    }

    byte[] bytes() {
      return out.toByteArray();
    }
  }

  static byte[] le(long v, int width) {
    byte[] b = new byte[width];
    for (int i = 0; i < width; i++) {
      b[i] = (byte) (v >>> (8 * i));
    }
    return b;
  }

  /** {@code n} float32 values 0, 1, 2, ... as little-endian bytes. */
  static byte[] floats(int n) {
    ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) {
      b.putFloat(i);
    }
    return b.array();
  }

  /** A zip of stored entries {@code <folder>/<name>}: data.pkl first, as torch.save orders them. */
  static byte[] zip(String folder, byte[] dataPkl, Map<String, byte[]> storages) {
    Map<String, byte[]> records = new LinkedHashMap<>();
    records.put("data.pkl", dataPkl);
    records.put("byteorder", "little".getBytes(StandardCharsets.US_ASCII));
    storages.forEach((k, v) -> records.put("data/" + k, v));
    return zipRecords(folder, records);
  }

  static byte[] zipRecords(String folder, Map<String, byte[]> records) {
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    try (ZipOutputStream z = new ZipOutputStream(bos)) {
      for (Map.Entry<String, byte[]> r : records.entrySet()) {
        ZipEntry e = new ZipEntry(folder + "/" + r.getKey());
        e.setMethod(ZipEntry.STORED);
        e.setSize(r.getValue().length);
        CRC32 crc = new CRC32();
        crc.update(r.getValue());
        e.setCrc(crc.getValue());
        z.putNextEntry(e);
        z.write(r.getValue());
        z.closeEntry();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bos.toByteArray();
  }

  /** The records of a real torch.save archive (names without the folder), read with java.util.zip.ZipFile. */
  static Map<String, byte[]> records(Path file) {
    Map<String, byte[]> out = new LinkedHashMap<>();
    try (ZipFile z = new ZipFile(file.toFile())) {
      for (Enumeration<? extends ZipEntry> en = z.entries(); en.hasMoreElements(); ) {
        ZipEntry e = en.nextElement();
        out.put(e.getName().substring(e.getName().indexOf('/') + 1), z.getInputStream(e).readAllBytes());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /**
   * The legacy format: magic number, protocol 1001, system info, {@code state} (a pickle whose persistent ids
   * are 6-tuples), the storage keys, then per key an int64 element count and the bytes.
   */
  static byte[] legacy(byte[] state, Map<String, byte[]> storages, Map<String, Long> counts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    // 0x1950a86a20f9469cfc6c as LONG1: 10 little-endian bytes.
    out.writeBytes(new Pickle().op(0x8a, 10).raw(java.util.HexFormat.of().parseHex("6cfc9c46f9206aa85019")).op('.')
        .bytes());
    out.writeBytes(new Pickle().op('M').raw(le(1001, 2)).op('.').bytes());
    out.writeBytes(new Pickle().op('}', '.').bytes());
    out.writeBytes(state);
    Pickle keys = new Pickle().op(']', '(');
    storages.keySet().forEach(keys::str);
    out.writeBytes(keys.op('e', '.').bytes());
    storages.forEach((k, v) -> {
      out.writeBytes(le(counts.get(k), 8));
      out.writeBytes(v);
    });
    return out.toByteArray();
  }

  static Path write(Path dir, String name, byte[] bytes) {
    try {
      Path f = Files.createTempDirectory(dir, "torch").resolve(name);
      Files.write(f, bytes);
      return f;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
