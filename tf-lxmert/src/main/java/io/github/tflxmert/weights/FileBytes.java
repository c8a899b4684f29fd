package io.github.tflxmert.weights;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;

/**
 * The bytes of a checkpoint file for the readers of this package: a file channel (positional reads, per-call
 * mappings) or an in-memory array (for tests and fuzzing). Every method is safe to call from several threads at
 * once; {@link #close} is not. The weight source that opened it closes it.
 */
interface FileBytes {
  long size() throws IOException;

  /** Fills {@code b} from {@code pos}. @throws IOException if the bytes end first */
  void readFully(ByteBuffer b, long pos) throws IOException;

  /** A little-endian read-only view of {@code len} bytes at {@code pos}; the caller checked the range. */
  ByteBuffer slice(long pos, long len) throws IOException;

  void close() throws IOException;

  static FileBytes of(FileChannel ch) {
    return new Channel(ch);
  }

  static FileBytes of(byte[] bytes) {
    return new Array(bytes);
  }

  record Channel(FileChannel ch) implements FileBytes {
    public long size() throws IOException {
      return ch.size();
    }

    public void readFully(ByteBuffer b, long pos) throws IOException {
      while (b.hasRemaining()) {
        int n = ch.read(b, pos + b.position());
        if (n < 0) {
          throw new IOException("unexpected end of file");
        }
      }
    }

    public ByteBuffer slice(long pos, long len) throws IOException {
      MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_ONLY, pos, len);
      return m.order(ByteOrder.LITTLE_ENDIAN);
    }

    public void close() throws IOException {
      ch.close();
    }
  }

  record Array(byte[] bytes) implements FileBytes {
    public long size() {
      return bytes.length;
    }

    public void readFully(ByteBuffer b, long pos) throws IOException {
      if (pos < 0 || pos + b.remaining() > bytes.length) {
        throw new IOException("unexpected end of data");
      }
      b.put(bytes, (int) pos, b.remaining());
    }

    public ByteBuffer slice(long pos, long len) {
      return ByteBuffer.wrap(bytes, (int) pos, (int) len).slice().asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    public void close() {}
  }
}
