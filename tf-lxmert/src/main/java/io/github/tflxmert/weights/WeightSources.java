package io.github.tflxmert.weights;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opens the right {@link WeightSource} for a checkpoint file or an HF model directory. Stateless. */
public final class WeightSources {
  private WeightSources() {}

  /** Checkpoint file names looked for in a model directory, in HF's order of preference. */
  public static final String SAFETENSORS = "model.safetensors";
  public static final String H5 = "tf_model.h5";

  /**
   * The checkpoint file of an HF model directory: {@code model.safetensors} if present (as HF's
   * {@code from_pretrained} prefers it), else {@code tf_model.h5}.
   */
  public static Path checkpointIn(Path modelDir) {
    if (!Files.isDirectory(modelDir)) {
      throw new IllegalArgumentException(modelDir + ": expected a model directory, found "
          + (Files.exists(modelDir) ? "a file" : "nothing"));
    }
    Path st = modelDir.resolve(SAFETENSORS);
    if (Files.isRegularFile(st)) {
      return st;
    }
    Path h5 = modelDir.resolve(H5);
    if (Files.isRegularFile(h5)) {
      return h5;
    }
    if (Files.isRegularFile(modelDir.resolve("pytorch_model.bin"))) {
      throw new IllegalArgumentException(modelDir + ": only pytorch_model.bin found; convert it to model.safetensors "
          + "first (see the README, \"Loading a real checkpoint\")");
    }
    throw new IllegalArgumentException(modelDir + ": expected " + SAFETENSORS + " or " + H5 + ", found neither");
  }

  /**
   * Opens a checkpoint file: HDF5 if its first bytes are the HDF5 signature or its name ends in {@code .h5} or
   * {@code .hdf5} (so a damaged {@code tf_model.h5} is reported by the HDF5 reader, not as a bad safetensors
   * header), else safetensors.
   *
   * @throws IllegalArgumentException naming the file if it is missing or its content is bad
   * @throws IOException              if it cannot be read
   */
  public static WeightSource open(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(file + ": no such checkpoint file");
    }
    byte[] head = new byte[8];
    int n;
    try (InputStream in = Files.newInputStream(file)) {
      n = in.readNBytes(head, 0, 8);
    }
    String name = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
    boolean hdf5 = n == 8 && (head[0] & 0xff) == 0x89 && head[1] == 'H' && head[2] == 'D' && head[3] == 'F'
        || name.endsWith(".h5") || name.endsWith(".hdf5");
    return hdf5 ? H5WeightSource.open(file) : SafetensorsWeightSource.open(file);
  }
}
