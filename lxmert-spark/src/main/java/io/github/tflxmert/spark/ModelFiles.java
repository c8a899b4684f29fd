package io.github.tflxmert.spark;

import io.github.tflxmert.savedmodel.SavedModelLocation;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;

/**
 * Finds model files: a local path is used in place; any other Hadoop-compatible URI ({@code hdfs://},
 * {@code s3a://}, {@code abfs://}, ...) is copied once per JVM into a temporary directory that is deleted at
 * shutdown. Also tells an HF model directory from a SavedModel. Stateless; thread-safe.
 */
final class ModelFiles {
  private ModelFiles() {}

  enum Kind { HF_DIRECTORY, SAVED_MODEL }

  /** Whether the path is on the local file system (no scheme, or {@code file:}). */
  static boolean isLocal(String path) {
    try {
      String scheme = new URI(path).getScheme();
      return scheme == null || scheme.equals("file") || scheme.length() == 1; // "C:" on Windows
    } catch (URISyntaxException e) {
      return true; // spaces and the like: a plain local path
    }
  }

  static Path localPath(String path) {
    return path.startsWith("file:") ? Paths.get(URI.create(path)) : Paths.get(path);
  }

  /**
   * The model as a local directory, copying it from a Hadoop file system when it is remote.
   *
   * @throws IllegalArgumentException naming the path when it does not exist
   */
  static Path localize(String path, Configuration conf) {
    if (isLocal(path)) {
      Path p = localPath(path);
      if (!Files.exists(p)) {
        throw new IllegalArgumentException("modelPath " + path + ": expected an HF model directory or a SavedModel, "
            + "found no such file or directory");
      }
      return p;
    }
    try {
      org.apache.hadoop.fs.Path src = new org.apache.hadoop.fs.Path(path);
      FileSystem fs = fileSystem(path, conf);
      if (!fs.exists(src)) {
        throw new IllegalArgumentException("modelPath " + path + ": expected an HF model directory or a SavedModel, "
            + "found no such path on " + fs.getUri());
      }
      Path dir = Files.createTempDirectory("lxmert-spark-model");
      Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dir), "lxmert-spark-model-cleanup"));
      fs.copyToLocalFile(false, src, new org.apache.hadoop.fs.Path(dir.toUri()), true);
      return dir.resolve(src.getName());
    } catch (IOException e) {
      throw new UncheckedIOException("modelPath " + path + ": cannot copy the model to local disk: " + e.getMessage(), e);
    }
  }

  /** The Hadoop FileSystem of a remote path; an unknown scheme fails naming the path and the setting it needs. */
  static FileSystem fileSystem(String path, Configuration conf) throws IOException {
    org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
    try {
      return p.getFileSystem(conf);
    } catch (org.apache.hadoop.fs.UnsupportedFileSystemException e) {
      String scheme = p.toUri().getScheme();
      throw new IllegalArgumentException("modelPath " + path + ": expected a local path or a URI whose scheme has a "
          + "Hadoop FileSystem, found scheme \"" + scheme + "\" with none (put its connector jar on the classpath and "
          + "set fs." + scheme + ".impl, e.g. --conf spark.hadoop.fs." + scheme + ".impl=CLASS)", e);
    }
  }

  /**
   * Checks a remote model path through its Hadoop FileSystem, reading listings only: an HF model directory
   * (config.json with model.safetensors or tf_model.h5), a SavedModel directory (saved_model.pb) or a TF Serving
   * base (numbered version directories, one holding saved_model.pb).
   *
   * @throws IllegalArgumentException naming the path, what was expected and what it holds
   */
  static void checkRemote(String path, Configuration conf) {
    try {
      org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
      FileSystem fs = fileSystem(path, conf);
      if (!fs.exists(p)) {
        throw new IllegalArgumentException("modelPath " + path + ": expected an HF model directory or a SavedModel, "
            + "found no such path on " + fs.getUri());
      }
      if (!fs.getFileStatus(p).isDirectory()) {
        throw new IllegalArgumentException("modelPath " + path + ": expected a directory (HF model directory or "
            + "SavedModel), found a file");
      }
      java.util.Set<String> names = new java.util.TreeSet<>();
      for (var st : fs.listStatus(p)) {
        names.add(st.getPath().getName());
        if (st.isDirectory() && st.getPath().getName().matches("[0-9]+")
            && fs.exists(new org.apache.hadoop.fs.Path(st.getPath(), "saved_model.pb"))) {
          return; // TF Serving base with a version
        }
      }
      boolean hf = names.contains("config.json") && (names.contains("model.safetensors")
          || names.contains("tf_model.h5"));
      if (!hf && !names.contains("saved_model.pb")) {
        throw new IllegalArgumentException("modelPath " + path + ": expected an HF model directory (config.json with "
            + "model.safetensors or tf_model.h5) or a SavedModel (saved_model.pb, or numbered version directories "
            + "holding one), found " + (names.isEmpty() ? "an empty directory" : names) + " on " + fs.getUri());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("modelPath " + path + ": cannot list it: " + e.getMessage(), e);
    }
  }

  /**
   * What kind of model a local directory holds.
   *
   * @throws IllegalArgumentException naming the path and what it holds when it is neither
   */
  static Kind kind(Path dir, String asGiven) {
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException("modelPath " + asGiven + ": expected a directory (HF model directory or "
          + "SavedModel), found a file");
    }
    if (Files.isRegularFile(dir.resolve("config.json"))
        && (Files.isRegularFile(dir.resolve("model.safetensors")) || Files.isRegularFile(dir.resolve("tf_model.h5")))) {
      return Kind.HF_DIRECTORY;
    }
    try {
      SavedModelLocation.resolve(dir);
      return Kind.SAVED_MODEL;
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("modelPath " + asGiven + ": expected an HF model directory (config.json "
          + "with model.safetensors or tf_model.h5) or a SavedModel; " + e.getMessage(), e);
    }
  }

  static void deleteTree(Path dir) {
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // best effort at shutdown
    }
  }
}
