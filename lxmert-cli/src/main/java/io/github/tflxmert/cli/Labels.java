package io.github.tflxmert.cli;

import io.github.tflxmert.config.LabelFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Label files named on the command line, read by {@link LabelFile} (a JSON list, a JSON object label→index, or lines). */
final class Labels {
  private Labels() {}

  static List<String> read(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(file + ": label file not found");
    }
    return LabelFile.read(file);
  }
}
