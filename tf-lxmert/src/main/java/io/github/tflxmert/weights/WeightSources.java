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
  public static final String PYTORCH = "pytorch_model.bin";

  /**
   * The checkpoint file of an HF model directory: {@code model.safetensors} if present (as HF's
   * {@code from_pretrained} prefers it), else {@code tf_model.h5}, else {@code pytorch_model.bin} (the file HF's
   * PyTorch checkpoints such as {@code unc-nlp/lxmert-vqa-uncased} ship).
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
    Path pt = modelDir.resolve(PYTORCH);
    if (Files.isRegularFile(pt)) {
      return pt;
    }
    throw new IllegalArgumentException(modelDir + ": expected " + SAFETENSORS + ", " + H5 + " or " + PYTORCH
        + ", found none of them");
  }

  /**
   * Opens a checkpoint file: HDF5 if its first bytes are the HDF5 signature or its name ends in {@code .h5} or
   * {@code .hdf5} (so a damaged {@code tf_model.h5} is reported by the HDF5 reader, not as a bad safetensors
   * header); safetensors if its name ends in {@code .safetensors}; a PyTorch checkpoint
   * ({@link PytorchWeightSource}) if it starts as a zip archive or as the legacy format's magic-number pickle
   * ({@code \x80\x02\x8a\x0a}: as a safetensors header length that is 176,816,768, over that reader's limit), or
   * its name ends in {@code .bin}, {@code .pt} or {@code .pth}; else safetensors.
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
    if (hdf5) {
      return H5WeightSource.open(file);
    }
    boolean zipOrPickle = n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4
        || n >= 4 && (head[0] & 0xff) == 0x80 && head[1] == 2 && (head[2] & 0xff) == 0x8a && head[3] == 0x0a;
    boolean pytorch = !name.endsWith(".safetensors")
        && (zipOrPickle || name.endsWith(".bin") || name.endsWith(".pt") || name.endsWith(".pth"));
    return pytorch ? PytorchWeightSource.open(file) : SafetensorsWeightSource.open(file);
  }
}
