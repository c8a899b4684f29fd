package io.github.tflxmert.parity;

import io.github.tflxmert.reference.ReferenceDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Where the parity tests find reference directories: the committed fixtures ({@code fixtures/<name>} in this
 * module), or, when the system property {@code lxmert.reference.dir} is set and non-empty, that root
 * (containing {@code tiny/} and {@code wide/}) — .ci/run points it at a freshly regenerated reference.
 */
final class References {
  private References() {}

  /** Names of the fixture sets every parity test runs on. */
  static final List<String> NAMES = List.of("tiny", "wide");

  static Path root() {
    String p = System.getProperty("lxmert.reference.dir", "");
    return p.isBlank() ? Path.of("fixtures") : Path.of(p);
  }

  static ReferenceDirectory open(String name) throws IOException {
    Path dir = root().resolve(name);
    if (!Files.isDirectory(dir)) {
      throw new IllegalStateException("reference directory " + dir.toAbsolutePath() + " does not exist");
    }
    return ReferenceDirectory.open(dir);
  }
}
