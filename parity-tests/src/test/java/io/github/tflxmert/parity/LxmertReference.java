package io.github.tflxmert.parity;

import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.array.FloatArray;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A {@link ReferenceDirectory} seen through the model's own types: its config as an {@link LxmertConfig}, each
 * case's inputs as {@link LxmertInputs}. The parity library itself knows neither (it has no TensorFlow code);
 * this adapter is what a user's own CI would write. Closing closes the directory.
 */
public final class LxmertReference implements AutoCloseable {
  private final ReferenceDirectory dir;
  private final LxmertConfig config;
  private final List<Case> cases;

  private LxmertReference(ReferenceDirectory dir) {
    this.dir = dir;
    this.config = LxmertConfig.fromJsonString(dir.config().toString(), dir.dir().resolve("manifest.json") + " config");
    this.cases = dir.cases().stream().map(Case::new).toList();
  }

  public static LxmertReference open(Path path) throws IOException {
    return new LxmertReference(ReferenceDirectory.open(path));
  }

  /** Opens with the given manifest text in place of manifest.json (see {@link ReferenceDirectory#open(Path, byte[])}). */
  public static LxmertReference open(Path path, byte[] manifest) {
    return new LxmertReference(ReferenceDirectory.open(path, manifest));
  }

  public ReferenceDirectory directory() {
    return dir;
  }

  public LxmertConfig config() {
    return config;
  }

  public String name() {
    return dir.name();
  }

  public Path dir() {
    return dir.dir();
  }

  public Map<String, String> versions() {
    return dir.versions();
  }

  public Path modelDir() {
    return dir.modelDir();
  }

  public Path ptModelDir() {
    return dir.ptModelDir();
  }

  public Path file(String key) {
    return dir.file(key);
  }

  public boolean hasSavedModel() {
    return dir.hasSavedModel();
  }

  public Path savedModelDir() throws IOException {
    return dir.savedModelDir();
  }

  public List<Case> cases() {
    return cases;
  }

  public Case caseNamed(String name) {
    return new Case(dir.caseNamed(name));
  }

  @Override
  public void close() {
    dir.close();
  }

  /** One case: inputs as {@link LxmertInputs}, outputs and comparison from the library. */
  public static final class Case {
    private final ReferenceDirectory.Case c;

    Case(ReferenceDirectory.Case c) {
      this.c = c;
    }

    public ReferenceDirectory.Case raw() {
      return c;
    }

    public String name() {
      return c.name();
    }

    public String description() {
      return c.description();
    }

    public LxmertInputs inputs() throws IOException {
      try {
        return LxmertInputs.fromArrays(c.inputs());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(c.reference().dir() + ": case " + c.name() + ": " + e.getMessage(), e);
      }
    }

    public List<String> outputNames() {
      return c.outputNames();
    }

    public FloatArray output(String name) throws IOException {
      return c.output(name);
    }

    public Map<String, FloatArray> outputs() throws IOException {
      return c.outputs();
    }

    /** Holds {@code actual} against the outputs named in {@code only} (null: all), with Python's noise. */
    public ParityReport compare(String title, Map<String, FloatArray> actual, ParityOptions options, Set<String> only)
        throws IOException {
      return c.compare(title, actual, options, only);
    }

    @Override
    public String toString() {
      return c.toString();
    }
  }
}
