package io.github.tflxmert.array;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile {@code .npy} files: bad magic, unknown version, Fortran order, object and string dtypes, shapes that
 * disagree with the data, absurd shapes, header lengths past the file, special files. Each is an
 * {@link IllegalArgumentException} naming the file, what was expected and what was found, and nothing is
 * allocated from an unchecked header field.
 */
class HostileNpyTest {
  @TempDir
  Path tmp;

  /** A version-1 .npy with the given header dict and data bytes. */
  static byte[] npy(String dict, byte[] data) {
    String header = dict + " ".repeat((64 - (10 + dict.length() + 1) % 64) % 64) + "\n";
    ByteBuffer b = ByteBuffer.allocate(10 + header.length() + data.length).order(ByteOrder.LITTLE_ENDIAN);
    b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) header.length());
    b.put(header.getBytes(StandardCharsets.ISO_8859_1)).put(data);
    return b.array();
  }

  static byte[] floats(float... v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float f : v) {
      b.putFloat(f);
    }
    return b.array();
  }

  Path file(byte[] bytes) throws IOException {
    Path f = Files.createTempFile(tmp, "t", ".npy");
    Files.write(f, bytes);
    return f;
  }

  void rejects(byte[] bytes, String... fragments) throws IOException {
    Path f = file(bytes);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Npy.read(f).toFloatArray());
    assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
    for (String frag : fragments) {
      assertTrue(e.getMessage().contains(frag), "lacks \"" + frag + "\": " + e.getMessage());
    }
  }

  @Test
  void validFileReads() throws IOException {
    FloatArray a = Npy.read(file(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", floats(1, 2, 3))))
        .toFloatArray();
    assertArrayEquals(new float[] {1, 2, 3}, a.data());
  }

  @Test
  void wrongMagic() throws IOException {
    byte[] b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", floats(1, 2, 3));
    b[1] = 'M';
    rejects(b, "not a .npy file (expected the magic \\x93NUMPY, found \\x93 followed by other bytes than NUMPY)");
    rejects("PK\3\4 this is a zip".getBytes(StandardCharsets.ISO_8859_1), "not a .npy file (expected the magic "
        + "\\x93NUMPY, found a zip archive (an .npz?))");
    // The message says what kind of file it is, never what it holds (a manifest may point anywhere).
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Npy.parse("root:x:0:0:root:/root:/bin/bash\n".getBytes(StandardCharsets.UTF_8), "passwd"));
    assertEquals("passwd: not a .npy file (expected the magic \\x93NUMPY, found text (32 bytes))", e.getMessage());
    rejects(new byte[3], "found 3 bytes");
  }

  @Test
  void unknownVersionAndHeaderPastTheFile() throws IOException {
    byte[] b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", floats(1, 2, 3));
    b[6] = 4;
    rejects(b, "expected .npy format version 1, 2 or 3, found 4");
    byte[] c = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", floats(1, 2, 3));
    c[8] = (byte) 0xff;
    c[9] = (byte) 0x7f;
    rejects(c, "header length 32767 exceeds the file");
  }

  @Test
  void fortranOrder() throws IOException {
    rejects(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", floats(1, 2, 3, 4)),
        "expected C order (fortran_order False), found Fortran order");
  }

  @Test
  void objectAndStringDtypes() throws IOException {
    rejects(npy("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", new byte[16]),
        "expected dtype float32, float64, int32 or int64, found '|O'");
    rejects(npy("{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }", new byte[24]), "found '<U3'");
    rejects(npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", new byte[8]),
        "has no valid 'descr' entry");
  }

  @Test
  void shapeThatDisagreesWithTheData() throws IOException {
    rejects(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", floats(1, 2, 3, 4, 5)),
        "shape [2, 3] of <f4 needs 24 data bytes, found 20");
    rejects(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", floats(1)), "bad dimension '-1'");
  }

  @Test
  void absurdShapeIsRejectedWithoutAllocatingIt() throws IOException {
    Path f = file(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }", floats(1, 2)));
    long before = allocated();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Npy.read(f));
    long used = allocated() - before;
    assertTrue(e.getMessage().contains("shape [1099511627776]") && e.getMessage().contains("too large"),
        e.getMessage());
    assertTrue(used < 1 << 20, "allocated " + used + " bytes");
    rejects(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", floats(1)),
        "is too large");
    rejects(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", floats(1)),
        "bad dimension '99999999999999999999'");
  }

  static long allocated() {
    return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
  }

  @Test
  void integerArrayWhereFloatsAreNeededAndBack() throws IOException {
    Path f = file(npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", new byte[8]));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Npy.read(f).toFloatArray());
    assertTrue(e.getMessage().contains("expected a float32/float64 array, found dtype <i8"), e.getMessage());
    ByteBuffer big = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40);
    Path g = file(npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", big.array()));
    IllegalArgumentException i = assertThrows(IllegalArgumentException.class, () -> Npy.read(g).toIntArray());
    assertTrue(i.getMessage().contains("value 1099511627776 at flat index 0 does not fit int32"), i.getMessage());
  }

  @Test
  void specialFilesAndDirectories() throws IOException {
    IllegalArgumentException d = assertThrows(IllegalArgumentException.class, () -> Npy.read(tmp));
    assertTrue(d.getMessage().contains("expected a regular .npy file, found a directory"), d.getMessage());
    Path zero = Path.of("/dev/zero"); // size 0, endless: once read until the heap ran out
    if (Files.exists(zero)) {
      IllegalArgumentException z = assertThrows(IllegalArgumentException.class, () -> Npy.read(zero));
      assertTrue(z.getMessage().contains("found a special file"), z.getMessage());
    }
  }
}
