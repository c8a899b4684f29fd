package io.github.tflxmert.reliability;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;

/**
 * Coverage-guided fuzzing of the same parsers as {@link Fuzz} with Jazzer (libFuzzer in the JVM). Fuzzing: one
 * target at a time with {@code scripts/fuzz.sh -jazzer [target]}, which seeds the corpus from the fixtures and
 * sets {@code JAZZER_FUZZ=1}. Without {@code JAZZER_FUZZ} Jazzer runs in regression mode, only on the inputs in
 * the resource directory {@code JazzerFuzzTestInputs/<method>/} (the fixtures the corpus is seeded with and
 * earlier findings, laid out by parity-tests' pom) and in a local {@code .cifuzz-corpus}: {@code mvn verify} does
 * that, in a JVM of its own (the {@code jazzer-regression} execution; the Jazzer agent would instrument the
 * TensorFlow tests that share a JVM).
 *
 * <p>A finding is any throwable other than {@link IllegalArgumentException} (and the documented
 * {@link IOException}), or one of those whose message does not name the input; Jazzer saves the input as {@code crash-<sha1>} in the parity-tests directory. Findings are
 * fixed in the code and kept as explicit tests in {@code FuzzRegressionTest}.
 */
class JazzerFuzzTest {
  private static void run(FuzzTargets.Target t, byte[] input) {
    try {
      t.run(input);
    } catch (IllegalArgumentException | IOException e) {
      if (e.getMessage() == null || !e.getMessage().contains(Fuzz.sourceOf(t))) {
        throw new AssertionError("rejection that does not name the input: " + e, e);
      }
    }
  }

  @FuzzTest(maxExecutions = 100_000, maxDuration = "30m")
  void safetensors(byte[] input) {
    run(FuzzTargets.SAFETENSORS, input);
  }

  @FuzzTest(maxExecutions = 100_000, maxDuration = "30m")
  void npy(byte[] input) {
    run(FuzzTargets.NPY, input);
  }

  @FuzzTest(maxExecutions = 100_000, maxDuration = "30m")
  void config(byte[] input) {
    run(FuzzTargets.CONFIG, input);
  }

  @FuzzTest(maxExecutions = 100_000, maxDuration = "30m")
  void manifest(byte[] input) {
    run(FuzzTargets.MANIFEST, input);
  }

  @FuzzTest(maxExecutions = 100_000, maxDuration = "30m")
  void pytorch(byte[] input) {
    run(FuzzTargets.PYTORCH, input);
  }

  @FuzzTest(maxExecutions = 100_000, maxDuration = "30m")
  void h5(byte[] input) {
    run(FuzzTargets.H5, input);
  }
}
