package io.github.tflxmert.parity;

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

  /**
   * The tolerance model every parity test uses: {@link ParityOptions#defaults()} (torch's float32 rtol/atol, with
   * the Python-noise rule), overridable with {@code -Dlxmert.parity.strict=true}.
   */
  static ParityOptions options() {
    return ParityOptions.defaults().withStrict(Boolean.getBoolean("lxmert.parity.strict"));
  }

  /**
   * Whether the reference was generated live on this machine, in this run, with the default runtime settings
   * ({@code -Dlxmert.reference.live=true}, set by .ci/run's live step). Only then is bit identity a real property
   * of running Python's own SavedModel from Java; against committed fixtures, made on another CPU, it is not.
   */
  static boolean live() {
    return Boolean.getBoolean("lxmert.reference.live") && !System.getProperty("lxmert.reference.dir", "").isBlank();
  }

  static LxmertReference open(String name) throws IOException {
    Path dir = root().resolve(name);
    if (!Files.isDirectory(dir)) {
      throw new IllegalStateException("reference directory " + dir.toAbsolutePath() + " does not exist");
    }
    return LxmertReference.open(dir);
  }
}
