package io.github.tflxmert.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import picocli.CommandLine.Option;

/** Options and helpers shared by the subcommands. */
final class Common {
  private Common() {}

  /**
   * Files of the embedded default model: the demo model trained by this project's Java trainer on the synthetic
   * VQA task (scripts/train-demo-model.sh; held-out accuracy in training.json), its answer labels, and three
   * sample scenes (feature files + scenes.txt describing them).
   */
  static final List<String> DEFAULT_FILES = List.of("config.json", "model.safetensors", "vocab.txt", "answers.json",
      "training.json", "scenes.txt", "scene-0-features.npy", "scene-0-boxes.npy", "scene-1-features.npy",
      "scene-1-boxes.npy", "scene-2-features.npy", "scene-2-boxes.npy");
  static final int SAMPLE_SCENES = 3;

  /** Unpacks the embedded default model into a temporary directory (deleted on exit). */
  static Path defaultModelDir() throws IOException {
    Path dir = Files.createTempDirectory("lxmert-default-model");
    // deleteOnExit deletes in reverse order of registration: the directory first registered goes last, once empty
    dir.toFile().deleteOnExit();
    for (String f : DEFAULT_FILES) {
      try (InputStream in = Common.class.getResourceAsStream("demo-model/" + f)) {
        if (in == null) {
          throw new IllegalStateException("the embedded default model is missing " + f + " (broken build)");
        }
        Files.copy(in, dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
      }
      dir.resolve(f).toFile().deleteOnExit();
    }
    return dir;
  }

  /** Keeps TensorFlow's native log quiet unless --verbose (must run before TensorFlow loads). */
  static void configureLogging(boolean verbose) {
    System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
    if (!verbose) {
      System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    }
  }

  /**
   * A progress bar on stderr while a checkpoint loads, only when attached to a terminal (System.console() is
   * null when output is piped or redirected, so scripts and CI stay quiet).
   */
  static io.github.tflxmert.LoadOptions withProgressBar(io.github.tflxmert.LoadOptions o) {
    if (System.console() == null) {
      return o;
    }
    return o.withProgress((done, total) -> {
      int width = 30;
      int filled = total == 0 ? width : (int) (width * done / total);
      System.err.printf("\rloading weights [%s%s] %3d%% (%d / %d MB)", "#".repeat(filled), " ".repeat(width - filled),
          total == 0 ? 100 : 100 * done / total, done >> 20, total >> 20);
      if (done >= total) {
        System.err.println();
      }
    });
  }

  /**
   * What is at a path, for messages: "a directory", "a regular file", "a special file", "a symbolic link loop",
   * "a dangling symbolic link to T", "nothing". Follows links.
   */
  static String kindOf(Path p) {
    if (Files.isDirectory(p)) {
      return "a directory";
    }
    if (Files.isRegularFile(p)) {
      return "a regular file";
    }
    if (Files.exists(p)) {
      return "a special file";
    }
    if (Files.isSymbolicLink(p)) {
      try {
        p.toRealPath();
      } catch (java.nio.file.NoSuchFileException e) {
        try {
          return "a dangling symbolic link to " + Files.readSymbolicLink(p);
        } catch (IOException x) {
          return "a dangling symbolic link";
        }
      } catch (IOException e) {
        return "a symbolic link loop (" + e.getMessage() + ")";
      }
    }
    return "nothing";
  }

  /**
   * Checks, before any work, that {@code file} can be written: not a directory, its directory exists and is
   * writable. @throws IllegalArgumentException naming the option, the path and the reason
   */
  static void checkWritableFile(String option, Path file) {
    Path abs = file.toAbsolutePath();
    if (Files.isDirectory(abs)) {
      throw new IllegalArgumentException(option + " " + file + ": expected a file to write, found a directory");
    }
    if (Files.exists(abs) && !Files.isRegularFile(abs)) {
      throw new IllegalArgumentException(option + " " + file + ": expected a file to write, found " + kindOf(abs));
    }
    Path dir = abs.getParent();
    if (dir != null && !Files.isDirectory(dir)) {
      throw new IllegalArgumentException(option + " " + file + ": cannot write it: its directory " + dir + " is "
          + (Files.exists(dir) ? "not a directory (found " + kindOf(dir) + ")" : "missing"));
    }
    if (dir != null && !Files.isWritable(dir) || Files.exists(abs) && !Files.isWritable(abs)) {
      throw new IllegalArgumentException(option + " " + file + ": cannot write it: permission denied");
    }
  }

  /**
   * Checks that {@code dir} is a directory or can be created as one (its nearest existing ancestor is a
   * writable directory). @throws IllegalArgumentException naming the option, the path and what is there
   */
  static void checkWritableDirectory(String option, Path dir) {
    Path abs = dir.toAbsolutePath();
    Path p = abs;
    while (p != null && !Files.exists(p) && !Files.isSymbolicLink(p)) {
      p = p.getParent();
    }
    if (p == null) {
      return;
    }
    if (!Files.isDirectory(p)) {
      throw new IllegalArgumentException(option + " " + dir + ": expected a directory" + (p.equals(abs) ? ""
          : " (or a path that can be created in one)") + ", found " + kindOf(p) + (p.equals(abs) ? "" : " at " + p));
    }
    if (!Files.isWritable(p)) {
      throw new IllegalArgumentException(option + " " + dir + ": cannot write in " + p + ": permission denied");
    }
  }

  static class Verbosity {
    @Option(names = "--verbose", description = "Show TensorFlow's native log and stack traces.")
    boolean verbose;
  }

  /** {@code --precision fp32|bf16|auto} (run, bench, parity, export). */
  static class PrecisionOption {
    @Option(names = "--precision", defaultValue = "fp32", paramLabel = "fp32|bf16|auto", converter = PrecisionConverter.class,
        description = "Compute precision of the Java graph: fp32 (default, the parity path), bf16 (mixed bfloat16 "
            + "as Keras' mixed_bfloat16: matmuls in bfloat16, LayerNorm/softmax/masks/outputs in float32; fails on a "
            + "CPU without avx512_bf16/amx_bf16), auto (bf16 where it was measured faster: "
            + "amx_bf16, or avx512_bf16 on AMD; else fp32; says which).")
    io.github.tflxmert.Precision precision = io.github.tflxmert.Precision.FLOAT32;
  }

  static final class PrecisionConverter implements picocli.CommandLine.ITypeConverter<io.github.tflxmert.Precision> {
    @Override
    public io.github.tflxmert.Precision convert(String value) {
      try {
        return io.github.tflxmert.Precision.parse(value);
      } catch (IllegalArgumentException e) {
        throw new picocli.CommandLine.TypeConversionException("expected fp32, bf16 or auto, found '" + value + "'");
      }
    }
  }

  /** After loading with {@code --precision auto}: one line on stderr saying what was picked and why. */
  static void reportAuto(io.github.tflxmert.Precision asked, Object model, java.io.PrintWriter err) {
    if (asked == io.github.tflxmert.Precision.AUTO && model instanceof io.github.tflxmert.GraphPredictor g) {
      err.println("precision auto: " + g.precision().shortName() + " ("
          + io.github.tflxmert.Bfloat16Support.detect().autoReason() + ")");
      err.flush();
    }
  }
}
