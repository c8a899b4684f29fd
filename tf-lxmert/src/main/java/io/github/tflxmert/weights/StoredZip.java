package io.github.tflxmert.weights;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * The central directory of a zip archive whose entries are stored (not compressed), as {@code torch.save}
 * writes them: end-of-central-directory record (zip64 where its fields overflow), central headers, and each
 * entry's local header to find where its data starts. Local headers carry no sizes in PyTorch's archives (data
 * descriptors, flag 0x08), so sizes come from the central directory, as {@code java.util.zip.ZipFile} and
 * PyTorch's reader take them. Every offset and size is checked against the file before it is used. Immutable
 * after reading; thread-safe.
 */
final class StoredZip {
  /** Largest central directory read into memory (an LXMERT checkpoint's is about 40 KB). */
  static final long MAX_DIRECTORY = 64L << 20;
  private static final int EOCD = 0x06054b50;
  private static final int EOCD64 = 0x06064b50;
  private static final int LOCATOR64 = 0x07064b50;
  private static final int CENTRAL = 0x02014b50;
  private static final int LOCAL = 0x04034b50;

  /** One entry: its data is {@code size} bytes at {@code dataStart}; {@code crc} from the central directory. */
  record Member(String name, long dataStart, long size, int crc) {}

  private final String file;
  private final FileBytes bytes;
  private final Map<String, Member> members;

  private StoredZip(String file, FileBytes bytes, Map<String, Member> members) {
    this.file = file;
    this.bytes = bytes;
    this.members = members;
  }

  /** Entries by name, in central-directory order. */
  Map<String, Member> members() {
    return members;
  }

  private static IllegalArgumentException bad(String file, String what) {
    return new IllegalArgumentException(file + ": zip archive: " + what);
  }

  private static ByteBuffer read(FileBytes bytes, long pos, int len) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
    bytes.readFully(b, pos);
    return b.flip();
  }

  static StoredZip read(FileBytes bytes, String file) throws IOException {
    long size = bytes.size();
    // The end record is 22 bytes plus a comment of at most 65535: search that tail for its signature.
    int tailLen = (int) Math.min(size, 22 + 0xffff);
    ByteBuffer tail = read(bytes, size - tailLen, tailLen);
    int at = -1;
    for (int i = tailLen - 22; i >= 0; i--) {
      if (tail.getInt(i) == EOCD && i + 22 + (tail.getShort(i + 20) & 0xffff) == tailLen) {
        at = i;
        break;
      }
    }
    if (at < 0) {
      throw bad(file, "no end-of-central-directory record in the last " + tailLen + " bytes (truncated?)");
    }
    long eocdPos = size - tailLen + at;
    if (tail.getShort(at + 4) != 0 || tail.getShort(at + 6) != 0) {
      throw bad(file, "expected a single-disk archive, found disk numbers " + (tail.getShort(at + 4) & 0xffff) + "/"
          + (tail.getShort(at + 6) & 0xffff));
    }
    long count = tail.getShort(at + 10) & 0xffff;
    long dirSize = tail.getInt(at + 12) & 0xffffffffL;
    long dirStart = tail.getInt(at + 16) & 0xffffffffL;
    long dirLimit = eocdPos;
    if (count == 0xffff || dirSize == 0xffffffffL || dirStart == 0xffffffffL) {
      if (eocdPos < 20 + 56) {
        throw bad(file, "zip64 fields in the end record but no room for the zip64 records before it");
      }
      ByteBuffer loc = read(bytes, eocdPos - 20, 20);
      if (loc.getInt(0) != LOCATOR64) {
        throw bad(file, "zip64 fields in the end record but no zip64 locator before it");
      }
      long rec = loc.getLong(8);
      if (rec < 0 || rec > eocdPos - 20 - 56) {
        throw bad(file, "zip64 end record at " + rec + ": expected 0 to " + (eocdPos - 20 - 56));
      }
      ByteBuffer r = read(bytes, rec, 56);
      if (r.getInt(0) != EOCD64) {
        throw bad(file, "no zip64 end record at " + rec + ", where the locator points");
      }
      count = r.getLong(32);
      dirSize = r.getLong(40);
      dirStart = r.getLong(48);
      dirLimit = rec;
    }
    if (dirStart < 0 || dirSize < 0 || dirSize > dirLimit || dirStart > dirLimit - dirSize) {
      throw bad(file, "central directory of " + dirSize + " bytes at " + dirStart + ": expected it to lie within "
          + "the " + dirLimit + " bytes before the end record");
    }
    if (dirSize > MAX_DIRECTORY) {
      throw bad(file, "central directory of " + dirSize + " bytes: expected at most " + MAX_DIRECTORY
          + " (the limit of this reader)");
    }
    if (count < 0 || count > dirSize / 46) {
      throw bad(file, count + " entries: expected at most " + dirSize / 46 + " in a central directory of "
          + dirSize + " bytes");
    }
    ByteBuffer dir = read(bytes, dirStart, (int) dirSize);
    Map<String, Member> members = new LinkedHashMap<>();
    int p = 0;
    for (long i = 0; i < count; i++) {
      if (p > dir.limit() - 46 || dir.getInt(p) != CENTRAL) {
        throw bad(file, "central header " + i + " at " + (dirStart + p) + ": expected its signature");
      }
      int flags = dir.getShort(p + 8) & 0xffff;
      int method = dir.getShort(p + 10) & 0xffff;
      int crc = dir.getInt(p + 16);
      long csize = dir.getInt(p + 20) & 0xffffffffL;
      long usize = dir.getInt(p + 24) & 0xffffffffL;
      int nameLen = dir.getShort(p + 28) & 0xffff;
      int extraLen = dir.getShort(p + 30) & 0xffff;
      int commentLen = dir.getShort(p + 32) & 0xffff;
      long local = dir.getInt(p + 42) & 0xffffffffL;
      int next = p + 46 + nameLen + extraLen + commentLen;
      if (next > dir.limit()) {
        throw bad(file, "central header " + i + " runs past the end of the central directory");
      }
      byte[] nb = new byte[nameLen];
      dir.get(p + 46, nb);
      String name = new String(nb, (flags & 0x800) != 0 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
      // zip64 extended information: the 64-bit values of the fields that hold 0xffffffff, in this order.
      for (int e = p + 46 + nameLen; e + 4 <= p + 46 + nameLen + extraLen; ) {
        int id = dir.getShort(e) & 0xffff;
        int len = dir.getShort(e + 2) & 0xffff;
        if (e + 4 + len > p + 46 + nameLen + extraLen) {
          throw bad(file, name + ": extra field runs past its header");
        }
        if (id == 1) {
          int q = e + 4;
          if (usize == 0xffffffffL && q + 8 <= e + 4 + len) {
            usize = dir.getLong(q);
            q += 8;
          }
          if (csize == 0xffffffffL && q + 8 <= e + 4 + len) {
            csize = dir.getLong(q);
            q += 8;
          }
          if (local == 0xffffffffL && q + 8 <= e + 4 + len) {
            local = dir.getLong(q);
          }
        }
        e += 4 + len;
      }
      if ((flags & 1) != 0) {
        throw bad(file, name + ": encrypted entry");
      }
      if (method != 0) {
        throw bad(file, name + ": compressed (method " + method + "); expected a stored entry, as torch.save writes");
      }
      if (csize != usize) {
        throw bad(file, name + ": stored entry with " + csize + " bytes stored but " + usize + " bytes of data");
      }
      if (local < 0 || local > dirStart - 30) {
        throw bad(file, name + ": local header at " + local + ": expected 0 to " + (dirStart - 30)
            + " (before the central directory)");
      }
      ByteBuffer lh = read(bytes, local, 30);
      if (lh.getInt(0) != LOCAL) {
        throw bad(file, name + ": no local header at " + local);
      }
      long dataStart = local + 30 + (lh.getShort(26) & 0xffff) + (lh.getShort(28) & 0xffff);
      if (usize < 0 || dataStart > dirStart || usize > dirStart - dataStart) {
        throw bad(file, name + ": " + usize + " bytes of data at " + dataStart + " run past the start of the "
            + "central directory at " + dirStart + " (truncated or damaged archive)");
      }
      if (members.put(name, new Member(name, dataStart, usize, crc)) != null) {
        throw bad(file, "two entries named " + name);
      }
      p = next;
    }
    return new StoredZip(file, bytes, Collections.unmodifiableMap(members));
  }

  /** The whole of a small entry, its CRC-32 checked against the central directory. */
  byte[] readSmall(Member m, long limit) throws IOException {
    if (m.size() > limit) {
      throw bad(file, m.name() + ": " + m.size() + " bytes: expected at most " + limit + " (the limit of this reader)");
    }
    ByteBuffer b = read(bytes, m.dataStart(), (int) m.size());
    CRC32 crc = new CRC32();
    crc.update(b.duplicate());
    if ((int) crc.getValue() != m.crc()) {
      throw bad(file, m.name() + ": CRC-32 " + Integer.toHexString((int) crc.getValue()) + " does not match the "
          + "central directory's " + Integer.toHexString(m.crc()) + " (damaged archive)");
    }
    return b.array();
  }
}
