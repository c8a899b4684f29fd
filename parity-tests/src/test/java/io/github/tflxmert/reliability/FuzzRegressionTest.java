package io.github.tflxmert.reliability;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Inputs the fuzzers found that once escaped as something other than a clean rejection, kept under
 * {@code fixtures/hostile/fuzz/<target>-<what>.bin} and replayed through their target: each must now be an
 * {@link IllegalArgumentException} naming the input, quickly and within the test JVM's heap.
 * <ul>
 *   <li>{@code h5-huge-chunk-dimensions.bin}: a chunked dataset whose layout message claims 536870913 x 4 chunks;
 *       jhdf allocated the chunk (OutOfMemoryError). Fixed in H5WeightSource.read (chunk size checked first).</li>
 *   <li>{@code savedmodel-negative-string-length.bin}: a {@code saved_model.pb} whose node name has a negative
 *       length; protobuf's stream decoder threw IllegalStateException. Fixed in SavedModelLocation.readProto
 *       (parsed from an array).</li>
 *   <li>{@code savedmodel-signature-*.bin}: mutants of a TensorFlow Java export that TensorFlow loads but whose
 *       SignatureDef names an empty or malformed tensor name, an output index past the op's outputs, or the wrong
 *       dtype; TF Java threw IllegalArgumentException or IndexOutOfBoundsException without the directory. Fixed in
 *       SavedModelLoader (every exception of TensorFlow's load is reported naming the directory). Its
 *       TFInvalidArgumentException for a malformed graph is UnsafeOpsTest#malformedModelsAreRejectedNamingTheDirectory.
 *       Replayed through the savedmodel target, which writes them as saved_model.pb next to the export's
 *       variables.</li>
 * </ul>
 * Earlier findings made by hand-written sweeps are tests of their own: the jhdf heap buffer sized from a corrupt
 * local-heap length (HostileWeightFilesTest#bitFlippedH5LoadsOrIsRejectedCleanly and the h5 fuzz target), jhdf's
 * own IllegalArgumentException without the file name (same test), little-endian float16/float64 decoded as
 * big-endian (ConversionsTest, HostileWeightFilesTest#h5Float16AndFloat64DatasetsAreConverted).
 */
class FuzzRegressionTest {
  static Stream<Path> findings() throws IOException {
    try (Stream<Path> s = Files.list(Fixtures.hostile("fuzz"))) {
      return s.filter(p -> p.getFileName().toString().endsWith(".bin")).sorted().toList().stream();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("findings")
  void rejectedCleanly(Path input) {
    String name = input.getFileName().toString();
    FuzzTargets.Target t = FuzzTargets.named(name.substring(0, name.indexOf('-')));
    byte[] bytes = Fixtures.read(input);
    IllegalArgumentException e = assertTimeoutPreemptively(Duration.ofSeconds(30),
        () -> assertThrows(IllegalArgumentException.class, () -> t.run(bytes)));
    assertTrue(e.getMessage().contains(Fuzz.sourceOf(t)), e.getMessage());
  }
}
