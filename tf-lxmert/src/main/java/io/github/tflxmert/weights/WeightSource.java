package io.github.tflxmert.weights;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;

/**
 * A checkpoint file seen as named tensors. Names are the Hugging Face TF variable names without the model
 * prefix and without {@code :0} (e.g. {@code lxmert/encoder/layer_._0/attention/self/query/kernel}) for TF
 * checkpoints, and PyTorch state-dict keys for PyTorch-format files ({@link #layout()} says which; the
 * {@link WeightNames name table} maps between them).
 *
 * <p>Implementations read lazily: {@link #read} streams one tensor at a time into a caller-provided buffer,
 * so a 1 GB checkpoint never exists twice in the Java heap. The caller that opened a source closes it.
 * {@link #read} may be called from several threads at once with different targets (every implementation here
 * allows it; {@link WeightLoader} reads with two threads); opening and closing are not thread-safe.
 */
public interface WeightSource extends AutoCloseable {

  /** Name layout of a checkpoint. */
  enum Layout { TF, PYTORCH }

  /** A tensor in the file: its stored dtype (numpy spelling, e.g. {@code float32}) and shape. */
  record Entry(String name, String dtype, long[] shape) {
    public long elements() {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      return n;
    }
  }

  /** The file this source reads, for messages. */
  String description();

  Layout layout();

  /** Every tensor of the file by name, in file order. */
  Map<String, Entry> entries();

  /**
   * Entries that hold the very values of an earlier entry (the same stored bytes, viewed the same way), each
   * mapped to the first entry that holds them: tied weights, as a PyTorch state dict saves the LM decoder tied to
   * the word embeddings. Empty for formats that store each tensor apart (HDF5, safetensors). Counting parameters
   * counts these once.
   */
  default Map<String, String> sharedWith() {
    return Map.of();
  }

  /**
   * Writes the named tensor as little-endian float32 into {@code target} at its position (float16, bfloat16
   * and float64 are converted). HDF5 sources reject non-float datasets when opened; safetensors and PyTorch
   * sources list integer tensors and reject them here.
   *
   * @throws IllegalArgumentException naming the file and tensor if the name is unknown, the dtype is not a float
   *     dtype, {@code target} has no room for the tensor, or the stored data is corrupt
   * @throws IOException              if the file cannot be read
   */
  void read(String name, ByteBuffer target) throws IOException;

  @Override
  void close() throws IOException;
}
