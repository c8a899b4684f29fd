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
    for (String f : DEFAULT_FILES) {
      try (InputStream in = Common.class.getResourceAsStream("demo-model/" + f)) {
        if (in == null) {
          throw new IllegalStateException("the embedded default model is missing " + f + " (broken build)");
        }
        Files.copy(in, dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
      }
      dir.resolve(f).toFile().deleteOnExit();
    }
    dir.toFile().deleteOnExit();
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

  static class Verbosity {
    @Option(names = "--verbose", description = "Show TensorFlow's native log and stack traces.")
    boolean verbose;
  }
}
