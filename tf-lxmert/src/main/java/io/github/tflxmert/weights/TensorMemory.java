package io.github.tflxmert.weights;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.bytedeco.javacpp.BytePointer;
import org.tensorflow.ndarray.buffer.DataStorageVisitor;
import org.tensorflow.types.TFloat32;

/**
 * A {@link ByteBuffer} over a TensorFlow tensor's own native memory, so that a file can be read straight into
 * a tensor ({@code FileChannel.read}) instead of through a staging buffer and TF Java's copy from NIO buffers,
 * which goes element by element. Stateless; thread-safe.
 */
final class TensorMemory {
  private TensorMemory() {}

  /** A pointer whose address and size are set here; it owns nothing (the tensor keeps its memory). */
  private static final class View extends BytePointer {
    View(long address, long bytes) {
      this.address = address;
      this.limit = bytes;
      this.capacity = bytes;
    }
  }

  /**
   * A little-endian, position-0 view of all of {@code t}'s bytes. Valid only while {@code t} is open: the caller
   * must not use the view after closing the tensor.
   *
   * @throws IllegalStateException if the tensor's memory is not native memory of the expected size
   */
  static ByteBuffer view(TFloat32 t) {
    long bytes = t.asRawTensor().numBytes();
    ByteBuffer view = t.asRawTensor().data().accept(new DataStorageVisitor<ByteBuffer>() {
      @Override
      public ByteBuffer visit(long address, long size, long scale) {
        if (address == 0 || size != bytes || scale != 1 || size > Integer.MAX_VALUE) {
          throw new IllegalStateException("unexpected tensor memory: address " + address + ", " + size
              + " bytes (scale " + scale + "), tensor of " + bytes + " bytes");
        }
        return new View(address, size).asByteBuffer();
      }

      @Override
      public ByteBuffer fallback() {
        throw new IllegalStateException("the tensor's memory is not native memory");
      }
    });
    if (view.capacity() != bytes || !view.isDirect()) {
      throw new IllegalStateException("tensor view of " + view.capacity() + " bytes, expected " + bytes);
    }
    return view.order(ByteOrder.LITTLE_ENDIAN);
  }
}
